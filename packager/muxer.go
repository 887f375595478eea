package packager

import (
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/kastlive/kast/ingest"
)

// muxer packages one track. Its goroutine owns the timeline; requests
// read the snapshot it publishes.
type muxer struct {
	track   string
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	epoch   string

	readers chan *ingest.Reader
	cur     atomic.Pointer[snapshot]
	onGone  func(*muxer)
	retire  func(*muxer) bool

	tl        *timeline
	initsSeen int // timeline.nextInit when inits were last copied
	inits     map[int][]byte
	buf       []byte // playlist render scratch

	multivariant []byte // rendered for mvMedia and mvBandwidth
	mvMedia      ingest.Media
	mvBandwidth  int

	viewers viewerCounter // see viewers.go
}

func newMuxer(track string, cfg Config, log *slog.Logger, metrics *Metrics, onGone func(*muxer), retire func(*muxer) bool) *muxer {
	m := &muxer{
		track:   track,
		cfg:     cfg,
		log:     log.With("track", track),
		metrics: metrics,
		epoch:   strconv.FormatInt(time.Now().UnixMilli(), 36),
		readers: make(chan *ingest.Reader, 4),
		onGone:  onGone,
		retire:  retire,
	}
	m.tl = newTimeline(cfg, m.log, m.publish)
	m.cur.Store(&snapshot{epoch: m.epoch, next: make(chan struct{}), targetDur: m.tl.targetDur})
	return m
}

// run feeds the timeline from each stream of the track in turn, and gives
// up the track when no stream follows within the linger time.
func (m *muxer) run(done <-chan struct{}) {
	var r *ingest.Reader
	var units <-chan *ingest.Unit
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	defer func() {
		m.tl.endSession()
		m.finish()
	}()
	for {
		select {
		case next := <-m.readers:
			if r != nil {
				m.drain(r)
			}
			linger.Stop()
			r, units = next, next.Units()
			m.tl.rec.setStream(next.Stream())
			if err := m.tl.startSession(r.Stream().Media); err != nil {
				m.log.Error("cannot package stream", "err", err)
				r.Close()
				r, units = nil, nil
				linger.Reset(m.cfg.Linger)
			}
		case u, ok := <-units:
			if !ok {
				m.tl.endSession()
				r, units = nil, nil
				linger.Reset(m.cfg.Linger)
				continue
			}
			m.metrics.frames(u)
			m.tl.push(u)
		case <-linger.C:
			// A publisher may have come back just now: give up the track
			// only if no reader is queued, atomically with the server's
			// hand-over (see Server.onStream).
			if m.retire(m) {
				return
			}
		case <-done:
			return
		}
	}
}

// drain feeds the rest of a stream that has already ended.
func (m *muxer) drain(r *ingest.Reader) {
	for u := range r.Units() {
		m.tl.push(u)
	}
	m.tl.endSession()
}

// publish renders the playlists and swaps in a new snapshot.
func (m *muxer) publish() {
	tl := m.tl
	if m.initsSeen != tl.nextInit || len(m.inits) != len(tl.inits) {
		m.inits = make(map[int][]byte, len(tl.inits))
		for k, v := range tl.inits {
			m.inits[k] = v
		}
		m.initsSeen = tl.nextInit
	}
	segs := make([]segment, 0, len(tl.segments)+1)
	for _, s := range tl.segments {
		segs = append(segs, *s)
	}
	s := &snapshot{
		epoch:     m.epoch,
		live:      tl.sess != nil,
		nextPart:  tl.nextPart,
		building:  tl.livePart(),
		inits:     m.inits,
		targetDur: tl.targetDur,
		partHold:  m.cfg.PartHoldBack,
		next:      make(chan struct{}),
	}
	if tl.open != nil {
		segs = append(segs, *tl.open)
		s.msn, s.parts = tl.open.msn, len(tl.open.parts)
	} else {
		s.msn = tl.nextMSN
	}
	s.segments = segs
	if tl.ready(m.cfg.StartSegments) {
		p := playlistParams{
			epoch:        m.epoch,
			targetDur:    tl.targetDur,
			partTarget:   m.cfg.PartTarget,
			partHoldBack: m.cfg.PartHoldBack,
			msnFirst:     segs[0].msn,
			discSeq:      tl.discSeq,
			segments:     segs,
			nextPart:     tl.nextPart,
			live:         s.live,
		}
		m.buf = renderMedia(m.buf[:0], &p, 0)
		s.playlist = append([]byte(nil), m.buf...)
		if k := p.skippable(); k > 0 {
			m.buf = renderMedia(m.buf[:0], &p, k)
			s.delta = append([]byte(nil), m.buf...)
		}
	}
	if tl.media.Video != nil || tl.media.Audio != nil {
		bw := bandwidth(tl.peakBPS)
		if m.mvBandwidth != bw || !m.mvMedia.Equal(tl.media) || m.multivariant == nil {
			m.multivariant = renderMultivariant(tl.media, bw)
			m.mvBandwidth, m.mvMedia = bw, tl.media
		}
		s.multivariant = m.multivariant
	}
	s.playlistLen = []string{strconv.Itoa(len(s.playlist))}
	s.deltaLen = []string{strconv.Itoa(len(s.delta))}
	s.multivariantLen = []string{strconv.Itoa(len(s.multivariant))}
	m.viewers.published(s)
	old := m.cur.Swap(s)
	close(old.next)
	m.metrics.published(old.nextPart != s.nextPart, old.msn != s.msn)
}

// finish publishes a final snapshot that sends requests away.
func (m *muxer) finish() {
	if m.tl.live != nil {
		m.tl.live.finish(false)
	}
	s := &snapshot{epoch: m.epoch, gone: true, next: make(chan struct{})}
	old := m.cur.Swap(s)
	close(old.next)
	m.onGone(m)
}

// bandwidth returns the BANDWIDTH to announce for a measured peak.
func bandwidth(peakBPS float64) int {
	if peakBPS <= 0 {
		return 5_000_000 // until a segment was measured
	}
	return int(peakBPS*1.1/1000) * 1000
}
