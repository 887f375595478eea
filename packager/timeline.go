package packager

import (
	"log/slog"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"

	"github.com/kastlive/kast/ingest"
)

// timeline is the state of one track's HLS presentation: complete segments
// in the window, the open segment and the session (stream) feeding it. It
// is owned by the muxer goroutine; onChange publishes a snapshot of it.
//
// All times are on the track timeline, which runs on across sessions: a
// new session starts where the previous one ended, so decode times never
// jump back even though the publisher's clock restarts.
type timeline struct {
	cfg      Config
	log      *slog.Logger
	onChange func()

	segments       []*segment // complete, oldest first
	open           *segment
	nextMSN        int
	nextPart       int64
	discSeq        int // discontinuities that left the window
	inits          map[int][]byte
	nextInit       int
	targetDur      int // seconds; only grows
	end            time.Duration
	media          ingest.Media
	peakBPS        float64
	chunkSeq       uint32      // mfhd sequence number of the last chunk
	live           *partStream // the part being built, nextPart
	arena          []byte      // chunk buffers of the part being built
	arenaSplit     bool        // the part being built spans two arenas
	lastPartSize   int
	lastPartChunks int

	sess *session
	rec  *sinkHook // hands segments to the Server's SegmentSink; nil: none
}

// session is the part of the timeline fed by one ingest.Stream.
type session struct {
	media  ingest.Media
	initID int
	disc   bool // the next segment opened starts with a discontinuity

	started bool
	dtsBase time.Duration // publisher DTS of the first unit used
	tBase   time.Duration // timeline time of that unit
	pdtBase time.Time     // wall clock of that unit

	pending      *ingest.Unit // video unit waiting for its duration
	pendingT     time.Duration
	lastVideoDur time.Duration
	videoT       [videoHistory]time.Duration // timeline times of the last video units, a ring
	videoUnits   int                         // video units in the session so far
	partVideo    int                         // video samples in the part being built

	partStart       time.Duration
	partIndependent bool
	video, audio    trackRun // samples not yet in a chunk

	audioRate  int64
	audioFrame int64 // samples per audio frame (Opus: of the last packet)
	audioNext  int64 // expected decode time of the next audio frame
	audioValid bool

	skipped int // units dropped while waiting for the first keyframe

	lastT [2]time.Duration // timeline time of the last unit, by kind
}

// Largest jumps between consecutive units of one kind that are taken as
// time passing; larger ones restart the timeline.
const (
	maxClockGap    = 5 * time.Second
	maxClockRewind = time.Second
)

func newTimeline(cfg Config, log *slog.Logger, onChange func()) *timeline {
	return &timeline{
		cfg:       cfg,
		log:       log,
		onChange:  onChange,
		inits:     map[int][]byte{},
		targetDur: max(1, int((cfg.SegmentTarget+time.Second/2)/time.Second)),
	}
}

// startSession begins feeding the timeline from a new stream.
func (t *timeline) startSession(m ingest.Media) error {
	if t.sess != nil {
		t.endSession()
	}
	m, err := hlsMedia(m)
	if err != nil {
		return err
	}
	init, err := marshalInit(m)
	if err != nil {
		return err
	}
	t.nextInit++
	t.inits[t.nextInit] = init
	t.rec.timelineStarted(t.nextInit, init, m)
	s := &session{
		media:  m,
		initID: t.nextInit,
		disc:   len(t.segments) > 0 || t.open != nil,
		video:  trackRun{id: videoTrackID},
		audio:  trackRun{id: audioTrackID},
	}
	if m.Audio != nil {
		s.audioRate = int64(m.Audio.SampleRate)
		s.audioFrame = 1024
		switch {
		case m.Audio.Codec == ingest.CodecOpus:
			s.audioFrame = 960 // 20 ms, the usual; each packet says its own
		case m.Audio.AAC.FrameLengthFlag:
			s.audioFrame = 960
		}
	}
	t.sess = s
	t.media = m
	t.onChange()
	return nil
}

// endSession closes the open part and segment of the current session.
func (t *timeline) endSession() {
	s := t.sess
	if s == nil {
		return
	}
	t.sess = nil
	defer t.rec.timelineEnded(s.initID)
	if !s.started {
		return
	}
	end := s.partStart
	if s.pending != nil {
		dur := s.lastVideoDur
		if dur <= 0 {
			dur = time.Second / 30
		}
		end = s.pendingT + dur
		t.addVideoSample(s, s.pending, s.pendingT, dur)
		s.pending = nil
	}
	if s.audioValid {
		end = max(end, fromTicks(s.audioNext, s.audioRate))
	}
	if len(s.video.samples) > 0 || len(s.audio.samples) > 0 || t.partStarted() {
		t.closePart(s, end)
	}
	if t.open != nil {
		t.closeSegment(end, false)
	}
	t.end = end
	t.onChange()
}

// push adds a unit of the current session.
func (t *timeline) push(u *ingest.Unit) {
	s := t.sess
	if s == nil {
		return
	}
	hasVideo := s.media.Video != nil
	if !s.started {
		if hasVideo && (u.Kind != ingest.KindVideo || !u.Key) {
			s.skipped++
			return
		}
		s.started = true
		s.dtsBase = u.DTS
		s.tBase = t.end
		s.pdtBase = u.Received
		s.partStart = t.end
		t.openSegment(t.end)
	}
	tt := u.DTS - s.dtsBase + s.tBase
	if last := s.lastT[u.Kind]; last != 0 && (tt-last > maxClockGap || last-tt > maxClockRewind) {
		// The publisher's clock jumped (an encoder restart behind the
		// same connection, a broken timestamp): start over as if it had
		// reconnected rather than list a part of that length or drop
		// everything until its clock catches up.
		t.log.Warn("publisher timestamps jumped: continuing after a discontinuity", "jump", (tt - last).String())
		m := s.media
		t.endSession()
		if err := t.startSession(m); err == nil {
			t.push(u)
		}
		return
	}
	s.lastT[u.Kind] = tt
	if tt < s.tBase {
		return // from before the session's first keyframe
	}

	if u.Kind == ingest.KindVideo {
		if !hasVideo {
			return
		}
		if s.pending != nil {
			dur := tt - s.pendingT
			if dur <= 0 {
				dur = time.Millisecond // non-increasing DTS from the publisher
				tt = s.pendingT + dur
			}
			s.lastVideoDur = dur
			t.addVideoSample(s, s.pending, s.pendingT, dur)
		}
		s.videoT[s.videoUnits%videoHistory] = tt
		s.videoUnits++
		t.maybeCut(s, tt, u.Key)
		s.pending = u
		s.pendingT = tt
		return
	}

	if s.media.Audio == nil {
		return
	}
	if !hasVideo {
		t.maybeCut(s, tt, true)
	}
	t.addAudioSample(s, u, tt)
}

// maybeCut closes the part (and the segment) before a unit at time tt.
func (t *timeline) maybeCut(s *session, tt time.Duration, key bool) {
	if len(s.video.samples) == 0 && len(s.audio.samples) == 0 && !t.partStarted() {
		return
	}
	// A millisecond of slack: 30 keyframe-spaced frames of exactly 1/30 s
	// add up to 999.99999 ms.
	if key && tt-t.open.start >= t.cfg.SegmentTarget-time.Millisecond {
		t.closePart(s, tt)
		t.closeSegment(tt, true)
		t.onChange()
		return
	}
	// RFC 8216bis 4.4.4.9: no part may last longer than PART-TARGET, so
	// the part closes before the unit that would take it past the target
	// (its duration taken as the previous unit's). Every keyframe starts a
	// part, so that players can join there.
	if (tt-s.partStart+t.nextUnitDur(s) > t.cfg.PartTarget+partTolerance && !t.cadenceFits(s)) || (key && s.media.Video != nil) {
		t.closePart(s, tt)
		t.onChange()
	}
}

// partTolerance absorbs rounding: a 29.97 fps part of six frames lasts
// 200.2 ms and is listed as 0.200.
const partTolerance = 500 * time.Microsecond

// videoHistory is how many video timestamps cadenceFits looks back on.
const videoHistory = 32

// cadenceFits reports whether the part being built can take one more video
// frame, judged by the stream's recent cadence rather than by the previous
// frame's duration: every run of that many frames in the history spanned
// at most the part target.
//
// Publishers with millisecond clocks (RTMP/FLV) send 30 fps as 33, 34,
// 33 ms. Taking a 34 ms frame as the next one's duration ended every
// segment's first part a frame early (167 ms) and left a one-frame part
// (33 ms) before each keyframe. The playlist listing that tiny part comes
// 33 ms after the previous one, while hls.js 1.7.4 often still has the
// previous part in flight; when that happened it never requested the tiny
// part, stalled at the end of the segment until the segment's parts left
// the playlist (about 2.5 s) and raised its target latency by a second.
// Six frames of 30 fps always span exactly 200 ms, so with this rule a 1 s
// segment is five 200 ms parts. At 29.97 fps some runs of six frames span
// 201 ms in milliseconds, so the rule does not apply and parts stay
// within the target as before.
func (t *timeline) cadenceFits(s *session) bool {
	n := s.partVideo + 1 // frames in the part with the unit about to be added
	if s.media.Video == nil || s.videoUnits < n+videoHistory/2 || n >= videoHistory {
		return false
	}
	last := s.videoUnits - 1
	first := max(0, s.videoUnits-videoHistory)
	for j := last; j-n >= first; j-- {
		if s.videoT[j%videoHistory]-s.videoT[(j-n)%videoHistory] > t.cfg.PartTarget+partTolerance {
			return false
		}
	}
	return true
}

// nextUnitDur estimates the duration of the unit about to be added.
func (t *timeline) nextUnitDur(s *session) time.Duration {
	if s.media.Video != nil {
		return s.lastVideoDur
	}
	return time.Duration(s.audioFrame) * time.Second / time.Duration(s.audioRate)
}

func (t *timeline) addVideoSample(s *session, u *ingest.Unit, tt, dur time.Duration) {
	if len(s.video.samples) == 0 {
		s.video.base = uint64(toTicks(tt, videoTimescale))
		if u.Key {
			s.partIndependent = true
		}
	}
	flags := uint32(sampleFlagsNonSync)
	if u.Key {
		flags = sampleFlagsSync
	}
	d := toTicks(tt+dur, videoTimescale) - toTicks(tt, videoTimescale)
	s.partVideo++
	s.video.add(sample{
		unit:  u,
		dur:   uint32(max(d, 1)),
		cts:   int32(toTicks(u.PTS-u.DTS, videoTimescale)),
		size:  videoSampleSize(u),
		flags: flags,
	})
	t.flushChunk(s)
}

// flushChunk marshals the pending samples into a chunk of the part being
// built and hands it to the requests streaming that part.
func (t *timeline) flushChunk(s *session) {
	if len(s.video.samples) == 0 && len(s.audio.samples) == 0 {
		return
	}
	t.chunkSeq++
	c := marshalPart(t.alloc, t.chunkSeq, &s.video, &s.audio)
	s.video.reset()
	s.audio.reset()
	t.livePart().append(c)
}

// alloc returns a buffer for a chunk, carved from an arena sized for a
// whole part: one allocation per part rather than one per frame. The
// chunks of a part live and die together, so sharing an arena keeps
// nothing alive for longer.
func (t *timeline) alloc(n int) []byte {
	if cap(t.arena)-len(t.arena) < n {
		size := max(n, t.lastPartSize+t.lastPartSize/4, 8<<10)
		if len(t.arena) > 0 {
			t.arenaSplit = true // the part's chunks are no longer contiguous
		}
		t.arena = make([]byte, 0, size)
	}
	b := t.arena[len(t.arena) : len(t.arena)+n : len(t.arena)+n]
	t.arena = t.arena[:len(t.arena)+n]
	return b
}

// partStarted reports whether the part being built has a chunk.
func (t *timeline) partStarted() bool {
	return t.live != nil && t.live.n == t.nextPart && len(t.live.all()) > 0
}

// livePart returns the stream of the part being built.
func (t *timeline) livePart() *partStream {
	if t.live == nil || t.live.n != t.nextPart {
		t.live = newPartStream(t.nextPart, t.lastPartChunks+2)
	}
	return t.live
}

func (t *timeline) addAudioSample(s *session, u *ingest.Unit, tt time.Duration) {
	if s.media.Audio.Codec == ingest.CodecOpus {
		// An Opus packet's TOC says how long it lasts (2.5 to 120 ms).
		if d := opus.PacketDuration2(u.Frame); d > 0 {
			s.audioFrame = d
		}
	}
	at := toTicks(tt, s.audioRate)
	if s.audioValid {
		// Snap to the expected time unless there is a real gap: RTMP's
		// millisecond timestamps would otherwise jitter every frame.
		if diff := at - s.audioNext; diff > -s.audioFrame/2 && diff < s.audioFrame/2 {
			at = s.audioNext
		} else if at < s.audioNext {
			return // overlaps audio already sent
		}
	}
	if n := len(s.audio.samples); n > 0 {
		// a gap inside the run lengthens the previous sample
		last := &s.audio.samples[n-1]
		if gap := at - s.audioNext; gap > 0 {
			last.dur += uint32(gap)
		}
	} else {
		s.audio.base = uint64(at)
	}
	s.audio.add(sample{
		unit:  u,
		dur:   uint32(s.audioFrame),
		size:  uint32(len(u.Frame)),
		flags: sampleFlagsSync,
	})
	s.audioNext = at + s.audioFrame
	s.audioValid = true
	if s.media.Video == nil {
		t.flushChunk(s)
	}
}

func (t *timeline) openSegment(start time.Duration) {
	s := t.sess
	t.open = &segment{
		msn:           t.nextMSN,
		start:         start,
		pdt:           s.pdtBase.Add(start - s.tBase),
		discontinuity: s.disc,
		initID:        s.initID,
	}
	s.disc = false
	t.nextMSN++
}

func (t *timeline) closePart(s *session, end time.Duration) {
	t.flushChunk(s)
	live := t.livePart()
	live.finish(true)
	p := newPart(t.nextPart, t.open.msn, end-s.partStart, s.partIndependent, live.all())
	if !t.arenaSplit && len(t.arena) == p.size {
		// One buffer for the whole part: one write per response.
		p.data = t.arena
	}
	t.lastPartSize, t.lastPartChunks = p.size, len(p.chunks)
	t.arena, t.arenaSplit = nil, false // the next part starts a new arena
	t.nextPart++
	t.open.parts = append(t.open.parts, p)
	s.partStart = end
	s.partIndependent = false
	s.partVideo = 0
}

func (t *timeline) closeSegment(end time.Duration, reopen bool) {
	seg := t.open
	seg.duration = end - seg.start
	seg.complete = true
	t.rec.segmentClosed(seg)
	t.segments = append(t.segments, seg)
	t.open = nil
	if td := int((seg.duration + time.Second/2) / time.Second); td > t.targetDur {
		t.log.Warn("segment longer than the target duration: keyframe interval too long, set it to 1 s in the encoder",
			"segment", seg.duration.Round(time.Millisecond).String(), "target_duration", td)
		t.targetDur = td
	}
	if seg.duration > 0 {
		if bps := float64(seg.size()*8) / seg.duration.Seconds(); bps > t.peakBPS {
			t.peakBPS = bps
		}
	}
	for len(t.segments) > t.cfg.Window {
		if t.segments[0].discontinuity {
			t.discSeq++
		}
		t.segments[0] = nil
		t.segments = t.segments[1:]
	}
	t.dropUnusedInits()
	if reopen {
		t.openSegment(end)
	}
}

// dropUnusedInits forgets init segments no listed segment refers to,
// except the current session's.
func (t *timeline) dropUnusedInits() {
	if len(t.inits) < 2 {
		return
	}
	used := map[int]bool{}
	for _, seg := range t.segments {
		used[seg.initID] = true
	}
	if t.sess != nil {
		used[t.sess.initID] = true
	}
	for id := range t.inits {
		if !used[id] {
			delete(t.inits, id)
		}
	}
}

// ready reports whether the presentation has enough complete segments to
// be served: n of them, or fewer that last as long as n segment targets
// (with a GOP longer than the segment target, waiting for n segments would
// keep viewers out for n GOPs).
func (t *timeline) ready(n int) bool {
	var d time.Duration
	for _, s := range t.segments {
		d += s.duration
	}
	return len(t.segments) >= n || (len(t.segments) > 0 && d >= time.Duration(n)*t.cfg.SegmentTarget)
}

// fromTicks converts ticks of a timescale to a duration without overflow.
func fromTicks(ticks, timescale int64) time.Duration {
	return time.Duration(ticks/timescale)*time.Second + time.Duration(ticks%timescale)*time.Second/time.Duration(timescale)
}

// toTicks converts a duration to a timescale, rounding toward zero.
func toTicks(d time.Duration, timescale int64) int64 {
	sec := int64(d / time.Second)
	rem := int64(d % time.Second)
	return sec*timescale + rem*timescale/int64(time.Second)
}
