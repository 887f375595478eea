package packager

import (
	"log/slog"
	"slices"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/kastlive/kast/ingest"
)

// follower packages one rendition of a track on the source timeline's
// decisions (see rendition.go). It runs in the source muxer's goroutine:
// tapEvents come from the source timeline as it packages, pictures from
// the rendition's feed. Its timeline only stores what the follower builds
// (segments, parts, inits) and its muxer publishes snapshots of it, which
// requests read exactly as a track's.
type follower struct {
	rs   *renditionSet
	name string
	log  *slog.Logger
	mux  *muxer
	tl   *timeline
	sess *session // the runs of the chunk being built and the part's start; tl.sess while live

	feed        *feed
	endedStream uint64 // the stream whose feed ended last

	queue []*pendingEvent // source decisions not yet replayed, in order

	// Slots are the source pictures waiting for their rendition picture:
	// byDecode in the source's decode order (the order their decode times
	// are handed out in), byPTS those whose PTS no picture has matched yet.
	byDecode   []*slot
	byPTS      []*slot
	frames     []framed // rendition pictures waiting for their slot
	slotStream uint64   // stream of the newest slot
	maxSlotDTS time.Duration

	started bool // mirroring the source; until then waiting for a segment to start on
	needKey bool // a picture was lost: the next must be a keyframe
	failed  bool // to be dropped: no pictures for the stream being packaged
	lagged  bool // to be started over: its pictures come too late

	video     *ingest.Video // parameters of the pictures packaged
	audio     *ingest.Audio // the source session's
	initMedia ingest.Media
	metrics   Metrics // the rendition's own: the server's count the source

	resets    int // times the rendition was started over for lagging
	lastReset time.Time
}

// pendingEvent is a tapEvent waiting to be replayed, with its slot.
type pendingEvent struct {
	ev   *tapEvent
	slot *slot
}

// slot is a source picture's place for its rendition picture.
type slot struct {
	stream   uint64
	src      *ingest.Unit
	ticks    uint64 // the source picture's decode time, in videoTimescale
	created  time.Time
	resolved bool         // its decode time was handed out
	fill     *ingest.Unit // the rendition picture, nil if none
	fillPTS  int64        // its presentation time, in videoTimescale
}

// framed is a rendition picture and the stream it was made from.
type framed struct {
	u      *ingest.Unit
	stream uint64
}

// maxWaitingFrames bounds the rendition pictures waiting for a source that
// is not packaging their stream.
const maxWaitingFrames = 300

func newFollower(rs *renditionSet, name, epoch string) *follower {
	src := rs.m
	fl := &follower{rs: rs, name: name, needKey: true, log: rs.log.With("track", src.track, "rendition", name)}
	fl.mux = newMuxer(src.track, src.cfg, rs.log.With("rendition", name), &fl.metrics, func(*muxer) {}, nil)
	fl.mux.epoch = epoch
	fl.mux.cur.Store(&snapshot{epoch: epoch, next: make(chan struct{}), targetDur: src.tl.targetDur})
	fl.tl = fl.mux.tl
	fl.tl.onChange = func() {}
	fl.sess = &session{video: trackRun{id: videoTrackID}, audio: trackRun{id: audioTrackID}}
	return fl
}

// attach makes f the follower's feed; pictures of a replaced feed are
// ignored from now on.
func (fl *follower) attach(f *feed) {
	fl.feed = f
	if src := fl.rs.m.tl.sess; src != nil && fl.audio == nil {
		fl.audio = src.media.Audio
	}
}

// feedEnded handles the end of the current feed: normal when its stream
// has ended, a failure of the rendition otherwise.
func (fl *follower) feedEnded() {
	f := fl.feed
	fl.feed = nil
	fl.endedStream = f.src.ID
	select {
	case <-f.src.Done():
	default:
		fl.log.Warn("rendition stopped while its stream is live; taking it out of the multivariant playlist")
		fl.failed = true
	}
}

// event queues a decision of the source timeline.
func (fl *follower) event(ev *tapEvent) {
	pe := &pendingEvent{ev: ev}
	if ev.kind == tapChunk && ev.picture != nil {
		sl := &slot{stream: ev.stream, src: ev.picture, ticks: ev.videoBase, created: time.Now()}
		pe.slot = sl
		if ev.stream != fl.slotStream {
			fl.slotStream, fl.maxSlotDTS = ev.stream, ev.picture.DTS
		}
		fl.maxSlotDTS = max(fl.maxSlotDTS, ev.picture.DTS)
		fl.byDecode = append(fl.byDecode, sl)
		fl.byPTS = append(fl.byPTS, sl)
	}
	fl.queue = append(fl.queue, pe)
}

// frame queues a rendition picture.
func (fl *follower) frame(u *ingest.Unit) {
	if u.Kind != ingest.KindVideo || len(u.NALUs) == 0 || fl.feed == nil {
		return
	}
	if len(fl.frames) >= maxWaitingFrames {
		fl.frames = fl.frames[1:]
	}
	fl.frames = append(fl.frames, framed{u: u, stream: fl.feed.src.ID})
}

// match gives waiting rendition pictures their slots. A picture matches
// the source picture with its PTS; source pictures presented before it
// that no picture matched were lost on the way (their slots stay empty).
// Decode times are handed out in the source's decode order, so the
// rendition's pictures, which have no B-frames, decode at the source's
// decode times: at a keyframe, which a closed GOP presents in decode order,
// exactly the source keyframe's.
func (fl *follower) match() {
	for len(fl.frames) > 0 {
		fr := fl.frames[0]
		// Slots of an older stream will not be filled any more.
		for len(fl.byDecode) > 0 && fl.byDecode[0].stream < fr.stream {
			fl.resolve(nil, 0)
		}
		fl.byPTS = slices.DeleteFunc(fl.byPTS, func(s *slot) bool { return s.stream < fr.stream })
		j := -1
		for i, s := range fl.byPTS {
			if s.stream == fr.stream && s.src.PTS == fr.u.PTS {
				j = i
				break
			}
		}
		if j < 0 {
			if fl.slotStream > fr.stream || (fl.slotStream == fr.stream && fr.u.PTS < fl.maxSlotDTS) {
				// The source is past it: no source picture has its PTS.
				fl.frames = fl.frames[1:]
				continue
			}
			return // the source has not packaged its picture yet
		}
		matched := fl.byPTS[j]
		lost := 0
		keep := fl.byPTS[:0]
		for i, s := range fl.byPTS {
			switch {
			case i == j:
			case s.stream == fr.stream && s.src.PTS < fr.u.PTS:
				lost++
			default:
				keep = append(keep, s)
			}
		}
		clear(fl.byPTS[len(keep):])
		fl.byPTS = keep
		for range lost {
			fl.resolve(nil, 0)
		}
		// The picture is presented when its source picture is, to the
		// tick.
		fl.resolve(fr.u, int64(matched.ticks)+toTicks(fr.u.PTS-matched.src.DTS, videoTimescale))
		fl.frames = fl.frames[1:]
	}
}

// resolve hands the next decode time to picture u (nil: to no picture),
// presented at pts.
func (fl *follower) resolve(u *ingest.Unit, pts int64) {
	if len(fl.byDecode) == 0 {
		return
	}
	s := fl.byDecode[0]
	fl.byDecode[0] = nil
	fl.byDecode = fl.byDecode[1:]
	s.resolved = true
	switch {
	case u == nil:
		if fl.started {
			fl.needKey = true
		}
	case !fl.started:
		if u.Key {
			s.fill, s.fillPTS = u, pts // used if the slot starts a segment
		}
	case fl.needKey && !u.Key:
		// it refers to a picture that was lost
	default:
		s.fill, s.fillPTS = u, pts
		if u.Key {
			fl.needKey = false
		}
	}
}

// unresolvable reports whether slot s can no longer be filled: its
// picture waited too long, or its stream's feed ended without it.
func (fl *follower) unresolvable(s *slot) bool {
	if s.stream == fl.endedStream && len(fl.frames) == 0 {
		return true
	}
	return time.Since(s.created) >= maxRenditionLag
}

// giveUp resolves the oldest slot, s, as empty: its stream's feed ended
// (the last pictures of a stream), or nothing is started yet. A started
// rendition with no feed for the stream being packaged has failed; one
// whose pictures come too late is started over (see renditionSet.reset)
// rather than listing parts without pictures.
func (fl *follower) giveUp(s *slot) {
	if fl.started && s.stream != fl.endedStream {
		if fl.feed == nil || fl.feed.src.ID != s.stream {
			fl.log.Warn("no rendition pictures for the stream; taking it out of the multivariant playlist")
			fl.failed = true
		} else {
			fl.lagged = true
		}
		return
	}
	if i := slices.Index(fl.byPTS, s); i >= 0 {
		fl.byPTS = slices.Delete(fl.byPTS, i, i+1)
	} else if len(fl.byPTS) > 0 {
		fl.byPTS = slices.Delete(fl.byPTS, 0, 1)
	}
	fl.resolve(nil, 0)
}

// advance replays the source's decisions as far as the rendition's
// pictures allow.
func (fl *follower) advance() {
	if fl.failed || fl.lagged {
		return
	}
	fl.match()
	for len(fl.queue) > 0 {
		pe := fl.queue[0]
		if !fl.ready(pe) {
			return
		}
		if pe.ev.kind == tapSegmentOpen && (len(fl.queue) < 2 || !fl.ready(fl.queue[1])) {
			// The segment's init depends on its first picture.
			return
		}
		if fl.failed || fl.lagged {
			return
		}
		var next *pendingEvent
		if len(fl.queue) > 1 {
			next = fl.queue[1]
		}
		fl.apply(pe, next)
		fl.queue[0] = nil
		fl.queue = fl.queue[1:]
		if fl.failed || fl.lagged {
			return
		}
	}
}

// ready reports whether pe can be replayed, giving up on its slot if
// waiting longer is pointless.
func (fl *follower) ready(pe *pendingEvent) bool {
	s := pe.slot
	if s == nil || s.resolved {
		return true
	}
	if !fl.unresolvable(s) {
		return false
	}
	fl.giveUp(s)
	return true
}

func (fl *follower) apply(pe, next *pendingEvent) {
	ev := pe.ev
	switch ev.kind {
	case tapSessionStart:
		fl.audio = ev.media.Audio
		if fl.started {
			fl.tl.sess = fl.sess
			fl.publish()
		}
	case tapSessionEnd:
		if fl.started {
			fl.tl.sess = nil
			fl.publish()
		}
	case tapSegmentOpen:
		var first *slot
		if next != nil && next.ev.kind == tapChunk && next.ev.msn == ev.msn && next.ev.segStart {
			first = next.slot
		}
		if !fl.started {
			if first == nil || first.fill == nil || !first.fill.Key || h264Params(first.fill) == nil {
				return // not starting here
			}
			fl.start(ev)
		}
		fl.openSegment(ev, first)
	case tapChunk:
		if fl.started {
			fl.chunk(pe)
		}
	case tapPartClose:
		if fl.started && fl.tl.open != nil && fl.tl.nextPart == ev.part {
			fl.tl.closePart(fl.sess, fl.sess.partStart+ev.dur)
			fl.publish()
		}
	case tapSegmentClose:
		if fl.started && fl.tl.open != nil && fl.tl.open.msn == ev.msn {
			fl.tl.targetDur = fl.rs.m.tl.targetDur
			fl.tl.closeSegment(fl.tl.open.start+ev.dur, false)
			fl.publish()
		}
	}
}

// start begins mirroring the source at the segment ev opens.
func (fl *follower) start(ev *tapEvent) {
	fl.started = true
	fl.needKey = false
	fl.tl.discSeq = ev.dsn
	if ev.disc {
		fl.tl.discSeq--
	}
	fl.tl.sess = fl.sess
	fl.log.Info("rendition starts", "msn", ev.msn)
}

// openSegment opens the follower's copy of the segment ev opened; first is
// the slot of its first picture.
func (fl *follower) openSegment(ev *tapEvent, first *slot) {
	if first != nil && first.fill != nil && first.fill.Key {
		if v := h264Params(first.fill); v != nil {
			fl.video = v
		}
	}
	want := ingest.Media{Video: fl.video, Audio: fl.audio}
	if fl.initMedia.Video == nil || !want.Equal(fl.initMedia) {
		init, err := marshalInit(want)
		if err != nil {
			fl.log.Warn("rendition init segment", "err", err)
			fl.failed = true
			return
		}
		fl.tl.nextInit++
		fl.tl.inits[fl.tl.nextInit] = init
		fl.sess.initID = fl.tl.nextInit
		fl.initMedia = want
	}
	fl.tl.open = &segment{msn: ev.msn, start: ev.start, pdt: ev.pdt, discontinuity: ev.disc, initID: fl.sess.initID}
	fl.tl.nextMSN = ev.msn + 1
	fl.sess.partStart = ev.start
	fl.sess.partIndependent = false
	fl.sess.partVideo = 0
	if next := fl.nextPartOf(ev.msn); next >= 0 {
		fl.tl.nextPart = next
	}
}

// nextPartOf returns the number of the first part of segment msn, from
// the queued chunk events, or -1.
func (fl *follower) nextPartOf(msn int) int64 {
	for _, pe := range fl.queue {
		if pe.ev.kind == tapChunk && pe.ev.msn == msn {
			return pe.ev.part
		}
	}
	return -1
}

// chunk builds the follower's chunk of a source chunk: its rendition
// picture on the source picture's decode time and duration, and the
// source's audio frames.
func (fl *follower) chunk(pe *pendingEvent) {
	ev, s := pe.ev, fl.sess
	if fl.tl.open == nil || ev.msn != fl.tl.open.msn || ev.part != fl.tl.nextPart {
		return
	}
	if pe.slot != nil && pe.slot.fill != nil {
		u := pe.slot.fill
		if u.Key {
			if v := h264Params(u); v != nil && !(ingest.Media{Video: v}).Equal(ingest.Media{Video: fl.video}) {
				// New parameters need a new init segment, which only a
				// segment can start with.
				u = nil
				fl.needKey = true
			}
		}
		if u != nil {
			if u.Key && s.partVideo == 0 {
				s.partIndependent = true
			}
			flags := uint32(sampleFlagsNonSync)
			if u.Key {
				flags = sampleFlagsSync
			}
			s.partVideo++
			s.video.base = ev.videoBase
			s.video.add(sample{
				unit:  u,
				dur:   ev.videoDur,
				cts:   int32(pe.slot.fillPTS - int64(ev.videoBase)),
				size:  videoSampleSize(u),
				flags: flags,
			})
		}
	}
	if len(ev.audio) > 0 && fl.initMedia.Audio != nil {
		s.audio.base = ev.audioBase
		for _, a := range ev.audio {
			s.audio.add(a)
		}
	}
	fl.tl.flushChunk(s)
}

func (fl *follower) publish() {
	fl.tl.targetDur = max(fl.tl.targetDur, fl.rs.m.tl.targetDur)
	fl.mux.publish()
}

// isReady reports whether the rendition can be listed.
func (fl *follower) isReady() bool {
	return !fl.failed && fl.started && fl.video != nil && fl.tl.ready(fl.rs.m.cfg.StartSegments)
}

// finish sends the rendition's requests away.
func (fl *follower) finish() {
	fl.mux.finish()
	fl.queue, fl.byDecode, fl.byPTS, fl.frames = nil, nil, nil, nil
}

// h264Params returns the parameters in a keyframe's SPS and PPS, nil if it
// has none.
func h264Params(u *ingest.Unit) *ingest.Video {
	var sps, pps []byte
	for _, n := range u.NALUs {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		}
	}
	if sps == nil || pps == nil {
		return nil
	}
	v, err := ingest.NewH264(sps, pps)
	if err != nil {
		return nil
	}
	return v
}
