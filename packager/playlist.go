package packager

import (
	"strconv"
	"strings"
	"time"

	"github.com/kastlive/kast/ingest"
)

// The media playlist is rendered here rather than with gohlslib's
// playlist package: that package has one EXT-X-MAP per playlist, and after a
// publisher reconnects with new codec parameters the segments on either side
// of the discontinuity need their own. Rendering appends into one buffer.

// playlistParams is what a media playlist is rendered from.
type playlistParams struct {
	epoch        string
	targetDur    int
	partTarget   time.Duration
	partHoldBack time.Duration
	msnFirst     int
	discSeq      int
	segments     []segment // complete ones, then the open one if any
	nextPart     int64
	live         bool
}

func (p *playlistParams) holdBack() time.Duration {
	return time.Duration(3*p.targetDur) * time.Second
}

func (p *playlistParams) skipUntil() time.Duration {
	return time.Duration(6*p.targetDur) * time.Second
}

// edge returns the timeline time of the end of the last listed part.
func (p *playlistParams) edge() time.Duration {
	if len(p.segments) == 0 {
		return 0
	}
	last := p.segments[len(p.segments)-1]
	e := last.start
	for _, pt := range last.parts {
		e += pt.duration
	}
	return e
}

// skippable returns how many leading segments a delta update may skip.
func (p *playlistParams) skippable() int {
	edge := p.edge()
	k := 0
	for k+1 < len(p.segments) && p.segments[k+1].complete && edge-p.segments[k+1].start >= p.skipUntil() {
		k++
	}
	return k
}

// renderMedia appends the media playlist, skipping the first skip segments.
//
// Neither playlist carries EXT-X-INDEPENDENT-SEGMENTS, although every
// segment starts with a keyframe: video.js 8 (VHS) takes the tag to mean
// that every part is independent too, and then starts playback on the
// part that holds its start position even when that part has no keyframe,
// showing a still picture until the next one. Without the tag it backs up
// to a part marked INDEPENDENT=YES. hls.js and Shaka Player ignore the tag.
func renderMedia(b []byte, p *playlistParams, skip int) []byte {
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(p.targetDur), 10)
	b = append(b, "\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL="...)
	b = appendSeconds(b, p.skipUntil())
	b = append(b, ",PART-HOLD-BACK="...)
	b = appendSeconds(b, p.partHoldBack)
	b = append(b, ",HOLD-BACK="...)
	b = appendSeconds(b, p.holdBack())
	b = append(b, "\n#EXT-X-PART-INF:PART-TARGET="...)
	b = appendSeconds(b, p.partTarget)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendInt(b, int64(p.msnFirst), 10)
	b = append(b, "\n#EXT-X-DISCONTINUITY-SEQUENCE:"...)
	b = strconv.AppendInt(b, int64(p.discSeq), 10)
	b = append(b, '\n')
	if skip > 0 {
		b = append(b, "#EXT-X-SKIP:SKIPPED-SEGMENTS="...)
		b = strconv.AppendInt(b, int64(skip), 10)
		b = append(b, '\n')
	}

	edge := p.edge()
	partWindow := p.holdBack()
	mapID := -1
	for i := skip; i < len(p.segments); i++ {
		seg := &p.segments[i]
		if seg.discontinuity {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if seg.initID != mapID {
			mapID = seg.initID
			b = append(b, "#EXT-X-MAP:URI=\""...)
			b = appendInitName(b, p.epoch, seg.initID)
			b = append(b, "\"\n"...)
		}
		if seg.complete || len(seg.parts) > 0 {
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = seg.pdt.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
			b = append(b, '\n')
		}
		if !seg.complete || edge-(seg.start+seg.duration) < partWindow {
			for _, pt := range seg.parts {
				b = append(b, "#EXT-X-PART:DURATION="...)
				b = appendSeconds(b, pt.duration)
				b = append(b, ",URI=\""...)
				b = appendPartName(b, p.epoch, pt.n)
				b = append(b, '"')
				if pt.independent {
					b = append(b, ",INDEPENDENT=YES"...)
				}
				b = append(b, '\n')
			}
		}
		if seg.complete {
			b = append(b, "#EXTINF:"...)
			b = appendSeconds(b, seg.duration)
			b = append(b, ",\n"...)
			b = appendSegmentName(b, p.epoch, seg.msn)
			b = append(b, '\n')
		}
	}
	if p.live {
		b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""...)
		b = appendPartName(b, p.epoch, p.nextPart)
		b = append(b, "\"\n"...)
	}
	return b
}

// appendSeconds appends d in seconds with millisecond precision.
func appendSeconds(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, d.Seconds(), 'f', 3, 64)
}

// renderMultivariant returns the multivariant playlist for one muxed
// rendition.
func renderMultivariant(m ingest.Media, bandwidth int) []byte {
	b := []byte("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-STREAM-INF:BANDWIDTH=")
	b = strconv.AppendInt(b, int64(bandwidth), 10)
	b = append(b, ",CODECS=\""...)
	b = append(b, strings.Join(m.Codecs(), ",")...)
	b = append(b, '"')
	if m.Video != nil && m.Video.Width > 0 {
		b = append(b, ",RESOLUTION="...)
		b = strconv.AppendInt(b, int64(m.Video.Width), 10)
		b = append(b, 'x')
		b = strconv.AppendInt(b, int64(m.Video.Height), 10)
	}
	b = append(b, '\n')
	b = append(b, mediaName...)
	b = append(b, '\n')
	return b
}
