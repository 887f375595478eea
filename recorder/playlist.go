package recorder

import (
	"strconv"
	"time"
)

// Playlist renders the recording as an HLS media playlist with the
// recorded fMP4 files: PLAYLIST-TYPE VOD and ENDLIST once complete, EVENT
// while it is still being recorded. An EXT-X-MAP starts each timeline and
// an EXT-X-DISCONTINUITY separates publishes (and gaps). dir returns the
// URI prefix of an entry's files (its publish's directory, relative to
// the playlist); it is rendered once per Recording, so pass the same dir
// on every call.
func (rec *Recording) Playlist(dir func(e *Entry) string) []byte {
	rec.plOnce.Do(func() { rec.playlist = rec.render(dir) })
	return rec.playlist
}

func (rec *Recording) render(dir func(e *Entry) string) []byte {
	target := 1
	for i := range rec.Entries {
		// EXTINF rounded to the nearest second must not exceed it.
		if d := int((rec.Entries[i].Duration + time.Second/2) / time.Second); d > target {
			target = d
		}
	}
	b := make([]byte, 0, 256+len(rec.Entries)*96)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(target), 10)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:"...)
	if rec.Live {
		b = append(b, "EVENT\n"...)
	} else {
		b = append(b, "VOD\n"...)
	}
	var mapDir string
	mapInit := -1
	for i := range rec.Entries {
		e := &rec.Entries[i]
		d := dir(e)
		if e.Disc {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if e.Init != mapInit || d != mapDir {
			mapInit, mapDir = e.Init, d
			b = append(b, "#EXT-X-MAP:URI=\""...)
			b = append(b, d...)
			b = append(b, initName(e.Init)...)
			b = append(b, "\"\n"...)
		}
		if i == 0 || e.Disc {
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = e.PDT.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
			b = append(b, '\n')
		}
		b = append(b, "#EXTINF:"...)
		b = strconv.AppendFloat(b, e.Duration.Seconds(), 'f', 3, 64)
		b = append(b, ",\n"...)
		b = append(b, d...)
		b = append(b, segName(e.MSN)...)
		b = append(b, '\n')
	}
	if !rec.Live {
		b = append(b, "#EXT-X-ENDLIST\n"...)
	}
	return b
}
