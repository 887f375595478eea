package packager

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kastlive/kast/ingest"
)

// variant is one EXT-X-STREAM-INF entry.
type variant struct {
	uri       string
	bandwidth int // peak, as the source's BANDWIDTH
	average   int // over the segments in the window; 0: unknown
	media     ingest.Media
}

// multivariant returns the track's multivariant playlist while renditions
// follow it: the source, then every rendition that is ready, highest
// bandwidth first; or nil (404) while the renditions attached to the
// stream are not ready, for at most renditionHold after the source's
// playlist is: a player loads the multivariant playlist once.
func (rs *renditionSet) multivariant(sourceReady bool) []byte {
	if !sourceReady {
		rs.readySince = time.Time{}
		return nil
	}
	if rs.readySince.IsZero() {
		rs.readySince = time.Now()
	}
	tl := rs.m.tl
	vs := []variant{{uri: mediaName, bandwidth: bandwidth(tl.peakBPS), average: averageBandwidth(tl.segments), media: tl.media}}
	waiting := false
	for _, fl := range rs.followers {
		if !fl.isReady() {
			waiting = waiting || (fl.feed != nil && fl.feed.src.ID == rs.stream)
			continue
		}
		vs = append(vs, variant{
			uri:       fl.name + "/" + mediaName,
			bandwidth: bandwidth(fl.tl.peakBPS),
			average:   averageBandwidth(fl.tl.segments),
			media:     fl.initMedia,
		})
	}
	if waiting && time.Since(rs.readySince) < rs.m.cfg.renditionHold() {
		return nil
	}
	slices.SortStableFunc(vs[1:], func(a, b variant) int { return cmp.Compare(b.bandwidth, a.bandwidth) })
	rate := rs.rate.value()
	key := fmt.Sprint(vs, rate)
	if key != rs.mvKey || rs.mv == nil {
		rs.mv = renderVariants(vs, rate)
		rs.mvKey = key
	}
	return rs.mv
}

// renderVariants renders a multivariant playlist. The first variant is
// the one players without bandwidth estimates start with (RFC 8216bis
// 6.3.1): the source.
func renderVariants(vs []variant, rate float64) []byte {
	b := []byte("#EXTM3U\n#EXT-X-VERSION:9\n")
	for _, v := range vs {
		b = append(b, "#EXT-X-STREAM-INF:BANDWIDTH="...)
		b = strconv.AppendInt(b, int64(v.bandwidth), 10)
		if v.average > 0 {
			b = append(b, ",AVERAGE-BANDWIDTH="...)
			b = strconv.AppendInt(b, int64(v.average), 10)
		}
		b = append(b, ",CODECS=\""...)
		b = append(b, strings.Join(v.media.Codecs(), ",")...)
		b = append(b, '"')
		if vd := v.media.Video; vd != nil && vd.Width > 0 {
			b = append(b, ",RESOLUTION="...)
			b = strconv.AppendInt(b, int64(vd.Width), 10)
			b = append(b, 'x')
			b = strconv.AppendInt(b, int64(vd.Height), 10)
			if rate > 0 {
				b = append(b, ",FRAME-RATE="...)
				b = strconv.AppendFloat(b, rate, 'f', 3, 64)
			}
		}
		b = append(b, '\n')
		b = append(b, v.uri...)
		b = append(b, '\n')
	}
	return b
}

// averageBandwidth is the AVERAGE-BANDWIDTH of complete segments: their
// bits over their duration, rounded up to a kbit/s; 0 without any.
func averageBandwidth(segs []*segment) int {
	var bytes int
	var dur time.Duration
	for _, s := range segs {
		bytes += s.size()
		dur += s.duration
	}
	if dur <= 0 {
		return 0
	}
	bps := float64(bytes*8) / dur.Seconds()
	return (int(bps)/1000 + 1) * 1000
}
