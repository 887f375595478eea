package whip

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/rtc"
)

// Errors of Server.Publish besides ingest.ErrUnknownKey,
// ingest.ErrTrackBusy, rtc.ErrBadOffer and *rtc.NoCommonCodecError.
var (
	// ErrTooManySessions: every session slot is taken by live publishers.
	ErrTooManySessions = errors.New("too many WHIP sessions")
	// ErrClosed: the server is shutting down.
	ErrClosed = errors.New("WHIP server closed")
)

// WrongTrackError says that a stream key publishes to another track than
// the one asked for.
type WrongTrackError struct {
	Asked, KeyTrack string
}

func (e *WrongTrackError) Error() string {
	return fmt.Sprintf("this stream key publishes to track %q, not %q", e.KeyTrack, e.Asked)
}

// Server takes WHIP publishers into the hub. Set the fields, then call
// Initialize; Close ends every session.
type Server struct {
	Engine    *rtc.Engine
	Hub       *ingest.Hub
	Authorize ingest.Authorizer
	Logger    *slog.Logger

	// ConnectTimeout bounds ICE and DTLS after the answer (default 15 s):
	// a session that has not connected by then is dropped.
	ConnectTimeout time.Duration
	// ReadTimeout is the longest a connected publisher may send nothing
	// before it is ended (default 10 s, as for RTMP).
	ReadTimeout time.Duration
	// KeyframeInterval: when the publisher has sent no keyframe for this
	// long, it is asked for one (default 1 s, the HLS segment target;
	// negative: never). Browsers' encoders otherwise send keyframes only
	// when asked, and HLS segments end on keyframes.
	KeyframeInterval time.Duration
	// MaxPending caps the sessions still connecting (default 16). When a
	// new one would pass it, the oldest unconnected one is dropped, so
	// abandoned offers never keep a publisher out.
	MaxPending int
	// MaxSessions caps all sessions (default 64).
	MaxSessions int
	// VideoMaxDelay and AudioMaxDelay bound how long packets wait behind
	// a lost one for its retransmission (defaults 250 ms and 60 ms). Only
	// loss adds this delay.
	VideoMaxDelay time.Duration
	AudioMaxDelay time.Duration

	ctx      context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex
	sessions map[string]*Session
	closed   bool
	wg       sync.WaitGroup

	stats serverStats
}

type serverStats struct {
	created, connectFailed, dropped atomic.Uint64
	packets, bytes, lost, late      atomic.Uint64
	damaged, keyframeRequests       atomic.Uint64
}

// Stats are the server's counters.
type Stats struct {
	Sessions, Pending int
	// Created counts the sessions answered, ConnectFailed those that
	// never connected, Dropped the unconnected ones dropped to make room.
	Created, ConnectFailed, Dropped uint64
	Packets, Bytes                  uint64
	// Lost counts RTP packets given up after waiting for them, Late
	// duplicates and packets that came after their turn.
	Lost, Late uint64
	// Damaged counts pictures dropped because part of them was lost or
	// malformed; KeyframeRequests the PLIs/FIRs sent.
	Damaged, KeyframeRequests uint64
}

// Initialize checks the configuration and applies the defaults.
func (s *Server) Initialize() error {
	if s.Engine == nil || s.Hub == nil || s.Authorize == nil {
		return errors.New("whip: Engine, Hub and Authorize are required")
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.ConnectTimeout <= 0 {
		s.ConnectTimeout = 15 * time.Second
	}
	if s.ReadTimeout <= 0 {
		s.ReadTimeout = 10 * time.Second
	}
	if s.KeyframeInterval == 0 {
		s.KeyframeInterval = time.Second
	}
	if s.MaxPending <= 0 {
		s.MaxPending = 16
	}
	if s.MaxSessions <= 0 {
		s.MaxSessions = 64
	}
	if s.VideoMaxDelay <= 0 {
		s.VideoMaxDelay = 250 * time.Millisecond
	}
	if s.AudioMaxDelay <= 0 {
		s.AudioMaxDelay = 60 * time.Millisecond
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.sessions = map[string]*Session{}
	return nil
}

// Request is a WHIP offer to publish.
type Request struct {
	StreamKey string // from the Authorization: Bearer header
	Track     string // the track named by the URL; "" takes the key's
	Offer     []byte // application/sdp
	Remote    string // the client's address, for logs
}

// Publish authorizes a request, checks its offer, claims the track and
// answers. The session then connects on its own; it ends on Delete, on
// silence, on ICE failure or when it does not connect in time.
//
// Errors: ingest.ErrUnknownKey (wrapped), *WrongTrackError,
// rtc.ErrBadOffer (wrapped, with the reason), *rtc.NoCommonCodecError,
// ingest.ErrTrackBusy, ErrTooManySessions, ErrClosed.
func (s *Server) Publish(ctx context.Context, req Request) (*Session, error) {
	track, err := s.Authorize(ctx, req.StreamKey)
	if err != nil {
		return nil, err
	}
	if req.Track != "" && req.Track != track {
		return nil, &WrongTrackError{Asked: req.Track, KeyTrack: track}
	}
	offer, err := rtc.ParseOffer(req.Offer)
	if err != nil {
		return nil, err
	}
	media, err := checkOffer(offer)
	if err != nil {
		return nil, err
	}
	if err := s.makeRoom(track); err != nil {
		return nil, err
	}
	sess := newSession(s, newID(), track, req.Remote, media)
	pub, err := s.Hub.Claim(track, "whip "+req.Remote, func() {
		sess.Close(errTakenOver)
	})
	if err != nil {
		return nil, err
	}
	sess.pub = pub
	if err := sess.negotiate(offer); err != nil {
		sess.abort()
		pub.Close(err)
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sess.abort()
		pub.Close(ErrClosed)
		return nil, ErrClosed
	}
	s.sessions[sess.id] = sess
	s.wg.Add(1)
	s.mu.Unlock()
	s.stats.created.Add(1)
	go func() {
		defer s.wg.Done()
		sess.run()
	}()
	return sess, nil
}

// makeRoom ends what stands in the way of a new session of track: an
// unconnected session of the same track (a publisher trying again), the
// oldest unconnected session when MaxPending are connecting. It waits for
// them to release their tracks.
func (s *Server) makeRoom(track string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	var end []*Session
	var oldest *Session
	pending, total := 0, 0
	for _, x := range s.sessions {
		if x.isClosing() {
			continue
		}
		total++
		if x.isConnected() {
			continue
		}
		pending++
		if x.track == track {
			end = append(end, x)
			continue
		}
		if oldest == nil || x.created.Before(oldest.created) {
			oldest = x
		}
	}
	pending -= len(end)
	total -= len(end)
	if pending >= s.MaxPending && oldest != nil {
		end = append(end, oldest)
		total--
		s.stats.dropped.Add(1)
		oldest.log.Warn("whip session dropped: too many sessions connecting", "max_pending", s.MaxPending)
	}
	s.mu.Unlock()
	if total >= s.MaxSessions {
		return ErrTooManySessions
	}
	for _, x := range end {
		if x.track == track {
			x.Close(errReplaced)
		} else {
			x.Close(errDroppedPending)
		}
	}
	for _, x := range end {
		<-x.Done()
	}
	return nil
}

// forget removes an ended session.
func (s *Server) forget(x *Session) {
	s.mu.Lock()
	delete(s.sessions, x.id)
	s.mu.Unlock()
}

// Session returns the session with the given ID, or nil.
func (s *Server) Session(id string) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	st := Stats{Sessions: len(s.sessions)}
	for _, x := range s.sessions {
		if !x.isConnected() {
			st.Pending++
		}
	}
	s.mu.Unlock()
	st.Created = s.stats.created.Load()
	st.ConnectFailed = s.stats.connectFailed.Load()
	st.Dropped = s.stats.dropped.Load()
	st.Packets = s.stats.packets.Load()
	st.Bytes = s.stats.bytes.Load()
	st.Lost = s.stats.lost.Load()
	st.Late = s.stats.late.Load()
	st.Damaged = s.stats.damaged.Load()
	st.KeyframeRequests = s.stats.keyframeRequests.Load()
	return st
}

// Close ends every session and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.cancel()
	for _, x := range s.sessions {
		x.Close(errShutdown)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// newID returns a random session ID, safe in a URL.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
