package packager

import (
	"math"
	"slices"
	"time"

	"github.com/kastlive/kast/ingest"
)

// tapKind says what a tapEvent reports.
type tapKind uint8

const (
	tapSessionStart tapKind = iota
	tapSessionEnd
	tapSegmentOpen
	tapChunk
	tapPartClose
	tapSegmentClose
)

// tapEvent is one packaging decision of the source timeline, replayed by
// every follower. Immutable once made.
type tapEvent struct {
	kind   tapKind
	stream uint64 // the source stream at the time

	media ingest.Media // tapSessionStart: the session's HLS media

	msn int // segment, of every kind but the session ones

	// tapSegmentOpen
	start time.Duration
	pdt   time.Time
	disc  bool
	dsn   int // discontinuity sequence number of the segment

	part int64 // tapChunk, tapPartClose

	// tapChunk: the source picture (nil: none), its decode time and
	// duration on the track timeline, whether it is the first picture of
	// its segment; the audio frames of the chunk.
	picture   *ingest.Unit
	videoBase uint64
	videoDur  uint32
	segStart  bool
	audioBase uint64
	audio     []sample

	dur time.Duration // tapPartClose, tapSegmentClose
}

// The timeline calls these while renditions follow it (timeline.tap).

func (rs *renditionSet) tapSessionStart(m ingest.Media) {
	rs.emit(&tapEvent{kind: tapSessionStart, stream: rs.stream, media: m})
}

func (rs *renditionSet) tapSessionEnd() {
	rs.emit(&tapEvent{kind: tapSessionEnd, stream: rs.stream})
}

func (rs *renditionSet) tapSegmentOpen(t *timeline, seg *segment) {
	// The segment's discontinuity sequence number: the followers' must be
	// the same for the same media sequence number.
	dsn := t.discSeq
	for _, s := range t.segments {
		if s.discontinuity {
			dsn++
		}
	}
	if seg.discontinuity {
		dsn++
	}
	rs.emit(&tapEvent{kind: tapSegmentOpen, stream: rs.stream, msn: seg.msn, start: seg.start,
		pdt: seg.pdt, disc: seg.discontinuity, dsn: dsn})
}

// tapChunk reports the chunk about to be marshalled from s's runs: at most
// one picture (the timeline flushes after each) and the audio before it.
func (rs *renditionSet) tapChunk(t *timeline, s *session) {
	ev := &tapEvent{kind: tapChunk, stream: rs.stream, msn: t.open.msn, part: t.nextPart}
	if n := len(s.video.samples); n > 0 {
		v := &s.video.samples[n-1]
		ev.picture = v.unit
		ev.videoBase = s.video.base
		ev.videoDur = v.dur
		ev.segStart = v.unit.Key && len(t.open.parts) == 0 && !t.partStarted()
		rs.rate.add(v.dur)
	}
	if len(s.audio.samples) > 0 {
		ev.audioBase = s.audio.base
		ev.audio = slices.Clone(s.audio.samples)
	}
	rs.emit(ev)
}

func (rs *renditionSet) tapPartClose(p *part) {
	rs.emit(&tapEvent{kind: tapPartClose, stream: rs.stream, msn: p.msn, part: p.n, dur: p.duration})
}

func (rs *renditionSet) tapSegmentClose(seg *segment) {
	rs.emit(&tapEvent{kind: tapSegmentClose, stream: rs.stream, msn: seg.msn, dur: seg.duration})
}

func (rs *renditionSet) emit(ev *tapEvent) {
	for _, fl := range rs.followers {
		fl.event(ev)
	}
}

// frameRate estimates the source's frame rate from its pictures' durations.
type frameRate struct {
	durs [32]uint32
	n    int
}

func (r *frameRate) add(d uint32) {
	r.durs[r.n%len(r.durs)] = d
	r.n++
}

// value returns the frame rate in frames per second, snapped to a usual
// rate when within 1 % of one (an RTMP publisher's millisecond clock
// makes 30 fps 33, 33, 34 ms), 0 before enough pictures.
func (r *frameRate) value() float64 {
	n := min(r.n, len(r.durs))
	if n < 8 {
		return 0
	}
	var sum uint64
	for _, d := range r.durs[:n] {
		sum += uint64(d)
	}
	if sum == 0 {
		return 0
	}
	f := float64(n) * videoTimescale / float64(sum)
	best, bestErr := math.Round(f*1000)/1000, 0.01
	for _, std := range []float64{24000.0 / 1001, 24, 25, 30000.0 / 1001, 30, 50, 60000.0 / 1001, 60} {
		if e := math.Abs(f-std) / std; e < bestErr {
			best, bestErr = std, e
		}
	}
	return best
}
