package packager

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kastlive/kast/ingest"
)

// Renditions
//
// A rendition is another encoding of a track's stream (a lower resolution
// made by the ladder, see internal/ladder) served beside the source under
// /hls/<track>/<name>/media.m3u8 and listed in the track's multivariant
// playlist. The source is packaged exactly as without renditions.
//
// Players switch between variants by media sequence number, so a
// rendition must cut its segments and parts at the same media times as
// the source: RFC 8216bis 6.2.4 asks for matching content across variant
// streams, and a player that switches from one to the other mid-stream
// fetches part n of the other and expects what follows part n-1 of the
// one it left. The rendition's own packaging therefore decides nothing: a
// follower replays the source timeline's decisions (see timelineTap), slot
// by slot. Each source picture that enters a chunk becomes a slot; the
// rendition picture made from it (the ladder keeps the source's PTS and
// keyframes) fills the slot, with the slot's decode time and duration; the
// source's audio frames of that chunk are copied beside it. Parts and
// segments close where the source's closed, with the source's durations,
// numbers, program date-times and discontinuities. A rendition's picture
// arrives after its source picture by the encoder's latency, so its parts
// close that much later than the source's, not a frame more: the source
// itself lists a chunk only when the next picture arrives.
//
// Audio: the renditions carry the source's audio frames (AAC or Opus),
// copied, not re-encoded. That costs no CPU, every variant has the same
// audio in the same chunks (a switch has no audio glitch, and the CODECS
// attributes agree), and players need no separate audio rendition group;
// the price is the audio's bitrate in every variant (128 kbit/s of an
// OBS default in a 700 kbit/s 360p).

// maxRenditionLag is how long a source picture waits for its rendition
// picture before the rendition's chunk goes out without it (the picture
// then never comes: ffmpeg restarted, or fell behind for want of CPU).
// The ladder's queue holds 3 s of pictures too.
const maxRenditionLag = 3 * time.Second

// renditionHold is how long, after the source's playlist is ready, the
// multivariant playlist waits for the renditions attached to the stream
// to be ready too, so that the first players see the whole ladder.
func (c *Config) renditionHold() time.Duration { return 2 * c.SegmentTarget }

// AddRendition makes the pictures on units (H.264, each keyframe carrying
// its SPS and PPS, PTS and keyframes those of the source's pictures they
// were made from) a rendition called name of the track of stream src.
// Call it from an ingest.Hub OnStream handler, before src's first unit:
// then the rendition starts with the stream's first segment. units is read
// until it is closed; it must be closed when src ends. A feed that ends
// while src is still live takes the rendition out of the multivariant
// playlist.
func (s *Server) AddRendition(src *ingest.Stream, name string, units <-chan *ingest.Unit) error {
	if err := checkRenditionName(name); err != nil {
		return err
	}
	if src.Media.Video == nil || src.Media.Video.Codec != ingest.CodecH264 {
		return fmt.Errorf("rendition %q: the stream has no H.264 video", name)
	}
	m := s.muxer(src.Track)
	if m == nil {
		return fmt.Errorf("rendition %q: track %q is not being packaged", name, src.Track)
	}
	rs := m.rend
	f := &feed{name: name, src: src}
	rs.mu.Lock()
	rs.pending = append(rs.pending, f)
	rs.npending.Store(int32(len(rs.pending)))
	rs.mu.Unlock()
	go func() {
		send := func(msg renditionMsg) bool {
			select {
			case rs.in <- msg:
				return true
			case <-rs.gone:
			case <-s.ctx.Done():
			}
			return false
		}
		for u := range units {
			if !send(renditionMsg{f: f, u: u}) {
				for range units {
				}
				return
			}
		}
		send(renditionMsg{f: f, end: true})
	}()
	return nil
}

func checkRenditionName(name string) error {
	if name == "" || len(name) > 32 {
		return errors.New("rendition name must have 1 to 32 characters")
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '_' || c == '-' || c == '.'))
		if !ok {
			return fmt.Errorf("rendition name %q: use a-z and 0-9, and after the first character also _, - or a dot", name)
		}
	}
	return nil
}

// feed is one stream's pictures for one rendition.
type feed struct {
	name string
	src  *ingest.Stream
}

// renditionMsg carries a feed's picture, or its end, to the muxer.
type renditionMsg struct {
	f   *feed
	u   *ingest.Unit
	end bool
}

// renditionSet is a muxer's renditions. Its fields are the muxer
// goroutine's except where noted.
type renditionSet struct {
	m   *muxer
	log *slog.Logger
	in  chan renditionMsg
	// gone is closed when the muxer ends.
	gone chan struct{}

	mu       sync.Mutex // guards pending
	pending  []*feed
	npending atomic.Int32

	// byName is what requests look renditions up in: an immutable map.
	byName    atomic.Pointer[map[string]*follower]
	followers []*follower
	stream    uint64 // ID of the stream the source timeline is fed from
	gen       int    // followers made, for their epochs

	readySince time.Time // when the source's playlist was first ready in this session
	mv         []byte    // the multivariant playlist last rendered
	mvKey      string

	rate frameRate
}

func newRenditionSet(m *muxer, log *slog.Logger) *renditionSet {
	return &renditionSet{m: m, log: log, in: make(chan renditionMsg, 64), gone: make(chan struct{})}
}

// attachPending attaches the feeds AddRendition queued.
func (rs *renditionSet) attachPending() {
	rs.mu.Lock()
	feeds := rs.pending
	rs.pending = nil
	rs.npending.Store(0)
	rs.mu.Unlock()
	for _, f := range feeds {
		rs.attach(f)
	}
}

// attach gives feed f to the follower of its name, made if needed.
func (rs *renditionSet) attach(f *feed) {
	fl := rs.follower(f.name)
	if fl == nil {
		rs.gen++
		fl = newFollower(rs, f.name, rs.m.epoch+"r"+strconv.Itoa(rs.gen))
		rs.followers = append(rs.followers, fl)
		rs.publishNames()
		rs.m.tl.tap = rs
	}
	fl.attach(f)
}

func (rs *renditionSet) follower(name string) *follower {
	for _, fl := range rs.followers {
		if fl.name == name {
			return fl
		}
	}
	return nil
}

// receive handles a message from a feed.
func (rs *renditionSet) receive(msg renditionMsg) {
	if rs.npending.Load() > 0 {
		rs.attachPending()
	}
	fl := rs.follower(msg.f.name)
	if fl == nil || fl.feed != msg.f {
		return // a feed that was replaced, or of a follower that failed
	}
	if msg.end {
		fl.feedEnded()
	} else {
		fl.frame(msg.u)
	}
	rs.advance()
}

// advance lets every follower catch up with the source.
func (rs *renditionSet) advance() {
	failed := false
	for i, fl := range rs.followers {
		fl.advance()
		if fl.lagged {
			rs.followers[i] = rs.reset(fl)
			rs.publishNames()
		}
		failed = failed || fl.failed
	}
	if failed {
		rs.dropFailed()
	}
}

// reset replaces a follower whose pictures came too late with a new one,
// which starts at the first segment its pictures are in time for. Its
// playlist answers 404 and it is out of the multivariant playlist until it
// has StartSegments segments again: players on it move to another
// variant. The new epoch keeps every name immutable.
func (rs *renditionSet) reset(old *follower) *follower {
	rs.gen++
	fl := newFollower(rs, old.name, rs.m.epoch+"r"+strconv.Itoa(rs.gen))
	fl.feed, fl.audio, fl.endedStream = old.feed, old.audio, old.endedStream
	fl.resets, fl.lastReset = old.resets+1, time.Now()
	if old.resets == 0 || time.Since(old.lastReset) > time.Minute {
		fl.log.Warn("rendition pictures more than 3 s behind the source (ffmpeg short of CPU?): rendition started over",
			"restarts", fl.resets)
	}
	old.finish()
	return fl
}

func (rs *renditionSet) dropFailed() {
	keep := rs.followers[:0]
	for _, fl := range rs.followers {
		if fl.failed {
			fl.finish()
			continue
		}
		keep = append(keep, fl)
	}
	clear(rs.followers[len(keep):])
	rs.followers = keep
	rs.publishNames()
	if len(rs.followers) == 0 {
		rs.m.tl.tap = nil
	}
}

func (rs *renditionSet) publishNames() {
	names := make(map[string]*follower, len(rs.followers))
	for _, fl := range rs.followers {
		names[fl.name] = fl
	}
	rs.byName.Store(&names)
}

// lookup returns the rendition called name; requests call it.
func (rs *renditionSet) lookup(name string) *follower {
	names := rs.byName.Load()
	if names == nil {
		return nil
	}
	return (*names)[name]
}

// finish sends the renditions' requests away; the muxer is ending.
func (rs *renditionSet) finish() {
	for _, fl := range rs.followers {
		fl.finish()
	}
	rs.followers = nil
	rs.publishNames()
	close(rs.gone)
}

// cutRendition splits "<rendition>/<file>" (nested true) from a plain
// file name.
func cutRendition(name string) (rendition, file string, nested bool) {
	if i := strings.IndexByte(name, '/'); i > 0 {
		return name[:i], name[i+1:], true
	}
	return "", name, false
}
