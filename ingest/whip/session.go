package whip

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/rtc"
)

// Reasons a session ends, as the log says them.
var (
	errDeleted        = errors.New("publisher stopped (DELETE)")
	errTakenOver      = errors.New("publisher silent: a new session with its key took over")
	errReplaced       = errors.New("replaced by a new offer for the track before it connected")
	errDroppedPending = errors.New("dropped: too many sessions connecting")
	errShutdown       = errors.New("server shutting down")
	errICEFailed      = errors.New("ICE failed (the publisher's network went away)")
	errPeerClosed     = errors.New("connection closed by the publisher")
	errSilent         = errors.New("no data from publisher (timeout)")
)

// connectTimeoutError says that ICE/DTLS did not complete in time.
type connectTimeoutError struct{ after time.Duration }

func (e connectTimeoutError) Error() string {
	return fmt.Sprintf("ICE/DTLS did not complete within %v", e.after)
}

// videoWait is how long a session whose offer has video waits for its
// first keyframe before publishing its audio alone.
const videoWait = 5 * time.Second

// Session is one WHIP publisher: its PeerConnection and the hub stream it
// feeds.
type Session struct {
	srv     *Server
	id      string
	track   string
	remote  string
	offered offeredMedia
	created time.Time
	log     *slog.Logger

	pc     *webrtc.PeerConnection
	pub    *ingest.Publisher
	clock  *mediaClock
	answer string

	connected   chan struct{}
	connectOnce sync.Once
	connectedAt atomic.Int64
	closing     chan struct{}
	closeOnce   sync.Once
	reason      error
	done        chan struct{}
	tracks      sync.WaitGroup // track and RTCP readers
	trackMu     sync.Mutex     // guards tracksClosed and the kf field
	tracksOff   bool
	lastPacket  atomic.Int64
	kf          *keyframeRequester

	// mu serializes the hub calls of the two track goroutines: the
	// publisher's methods and Stream.Write are called one at a time.
	mu           sync.Mutex
	stream       *ingest.Stream
	video        *ingest.Video // parameters from the last keyframe
	audio        *ingest.Audio
	audioOnly    bool          // gave up waiting for video
	lastAudio    time.Duration // DTS of the last audio unit written
	lastAudioDur time.Duration
	audioSeen    bool
	bytes        atomic.Uint64
}

func newSession(srv *Server, id, track, remote string, m offeredMedia) *Session {
	now := time.Now()
	return &Session{
		srv:       srv,
		id:        id,
		track:     track,
		remote:    remote,
		offered:   m,
		created:   now,
		log:       srv.Logger.With("track", track, "remote", remote, "session", id[:8]),
		clock:     newMediaClock(now, 90000, 48000),
		connected: make(chan struct{}),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
	}
}

// ID returns the session's ID, the last element of its WHIP resource URL.
func (s *Session) ID() string { return s.id }

// Track returns the track the session publishes to.
func (s *Session) Track() string { return s.track }

// Answer returns the SDP answer, with every candidate in it.
func (s *Session) Answer() string { return s.answer }

// PeerConnection returns the session's PeerConnection, for trickle ICE
// and ICE restarts (web/webrtc).
func (s *Session) PeerConnection() *webrtc.PeerConnection { return s.pc }

// Done is closed once the session has ended and released its track.
func (s *Session) Done() <-chan struct{} { return s.done }

// Delete ends the session as its publisher asked (HTTP DELETE) and waits
// until it has released the track.
func (s *Session) Delete() {
	s.Close(errDeleted)
	<-s.done
}

// Close ends the session with reason; it does not wait.
func (s *Session) Close(reason error) {
	s.closeOnce.Do(func() {
		s.reason = reason
		close(s.closing)
	})
}

func (s *Session) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

func (s *Session) isConnected() bool {
	select {
	case <-s.connected:
		return true
	default:
		return false
	}
}

// negotiate builds the PeerConnection and answers the offer. On error the
// caller aborts the session.
func (s *Session) negotiate(offer *rtc.Offer) error {
	pc, err := s.srv.Engine.NewPeerConnection(rtc.Publisher)
	if err != nil {
		return fmt.Errorf("peer connection: %w", err)
	}
	s.pc = pc
	var video *webrtc.RTPTransceiver
	if s.offered.video {
		if video, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	if s.offered.audio {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	pc.OnTrack(s.onTrack)
	pc.OnConnectionStateChange(s.onState)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return fmt.Errorf("%w: %v", rtc.ErrBadOffer, err)
	}
	if video != nil {
		// H.264 first: what HLS players and every WebRTC viewer decode.
		// The answer lists what it accepts in this order, and senders
		// send the first.
		if prefs := videoPreferences(offer); len(prefs) > 0 {
			if err := video.SetCodecPreferences(prefs); err != nil {
				return err
			}
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("%w: %v", rtc.ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fmt.Errorf("%w: %v", rtc.ErrBadOffer, err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		return errors.New("ICE candidate gathering did not finish")
	}
	s.answer = pc.LocalDescription().SDP
	return s.checkAnswer()
}

// checkAnswer makes sure pion accepted a codec for every kind the offer
// sends: its H.264 matching is stricter (exact profile) than checkOffer.
func (s *Session) checkAnswer() error {
	for _, tr := range s.pc.GetTransceivers() {
		if len(tr.Receiver().GetParameters().Codecs) > 0 || tr.Mid() == "" {
			continue
		}
		kind := tr.Kind().String()
		o, err := rtc.ParseOffer([]byte(s.pc.RemoteDescription().SDP))
		if err != nil {
			return err
		}
		om, _ := o.Kind(kind)
		if kind == "video" {
			return rtc.NewNoCommonCodecError(om, videoTaken...)
		}
		return rtc.NewNoCommonCodecError(om, audioTaken...)
	}
	return nil
}

// abort tears down a session that was never registered.
func (s *Session) abort() {
	s.Close(errors.New("not answered"))
	s.closeTracks()
	if s.pc != nil {
		_ = s.pc.Close()
	}
	s.tracks.Wait()
	close(s.done)
}

func (s *Session) onState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected:
		s.connectOnce.Do(func() {
			now := time.Now()
			s.connectedAt.Store(now.UnixNano())
			s.lastPacket.Store(now.UnixNano())
			close(s.connected)
		})
	case webrtc.PeerConnectionStateFailed:
		s.Close(errICEFailed)
	case webrtc.PeerConnectionStateClosed:
		s.Close(errPeerClosed)
	}
}

// run supervises the session until it ends, then tears it down.
func (s *Session) run() {
	defer close(s.done)
	timer := time.NewTimer(s.srv.ConnectTimeout)
	select {
	case <-s.connected:
		timer.Stop()
		s.log.Info("publish started", "media", s.offeredString())
		s.watchSilence()
	case <-timer.C:
		s.srv.stats.connectFailed.Add(1)
		s.Close(connectTimeoutError{s.srv.ConnectTimeout})
	case <-s.closing:
		timer.Stop()
	}
	s.teardown()
	s.srv.forget(s) // before Done: a session that is done is gone
}

// watchSilence returns when the session is closing, closing it first if
// the publisher has sent nothing for ReadTimeout.
func (s *Session) watchSilence() {
	tick := time.NewTicker(min(s.srv.ReadTimeout/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-s.closing:
			return
		case now := <-tick.C:
			if now.Sub(time.Unix(0, s.lastPacket.Load())) >= s.srv.ReadTimeout {
				s.Close(errSilent)
				return
			}
		}
	}
}

// teardown closes the PeerConnection, waits for the track goroutines and
// releases the track.
func (s *Session) teardown() {
	s.closeTracks()
	if err := s.pc.Close(); err != nil {
		s.log.Debug("whip peer connection close", "err", err)
	}
	s.tracks.Wait()
	s.trackMu.Lock()
	kf := s.kf
	s.trackMu.Unlock()
	if kf != nil {
		kf.stop()
	}
	s.mu.Lock()
	s.pub.Close(s.reason)
	s.mu.Unlock()
	if s.isConnected() {
		s.log.Info("publish ended", "reason", s.reason.Error(),
			"duration", time.Since(time.Unix(0, s.connectedAt.Load())).Round(time.Millisecond).String(),
			"bytes", s.bytes.Load())
	} else {
		s.log.Info("whip session ended before it connected", "reason", s.reason.Error())
	}
}

// closeTracks stops new track goroutines from starting.
func (s *Session) closeTracks() {
	s.trackMu.Lock()
	s.tracksOff = true
	s.trackMu.Unlock()
}

// onTrack starts reading a track pion has received.
func (s *Session) onTrack(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	s.trackMu.Lock()
	if s.tracksOff {
		s.trackMu.Unlock()
		return
	}
	var r trackReader
	switch {
	case tr.Kind() == webrtc.RTPCodecTypeVideo && s.offered.video:
		if s.kf != nil {
			s.trackMu.Unlock()
			return // a second video track (simulcast layer): not taken
		}
		s.kf = newKeyframeRequester(uint32(tr.SSRC()), useFIR(tr.Codec().RTCPFeedback), s.pc.WriteRTCP, &s.srv.stats.keyframeRequests)
		r = s.newVideoReader(tr, s.kf)
	case tr.Kind() == webrtc.RTPCodecTypeAudio && s.offered.audio && strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeOpus):
		r = s.newAudioReader(tr)
	default:
		s.trackMu.Unlock()
		return
	}
	s.tracks.Add(2)
	s.trackMu.Unlock()
	go func() {
		defer s.tracks.Done()
		s.readRTP(tr, r)
	}()
	go func() {
		defer s.tracks.Done()
		s.readRTCP(recv, r.kind())
	}()
}

// useFIR reports whether keyframes must be asked for with FIR: the
// publisher negotiated "ccm fir" but not "nack pli".
func useFIR(fb []webrtc.RTCPFeedback) bool {
	pli, fir := false, false
	for _, f := range fb {
		switch {
		case f.Type == "nack" && f.Parameter == "pli":
			pli = true
		case f.Type == "ccm" && f.Parameter == "fir":
			fir = true
		}
	}
	return fir && !pli
}

// readRTCP reads the RTCP of a track (pion's interceptors see it on the
// way: reports and NACK bookkeeping) and takes its sender reports to the
// clock.
func (s *Session) readRTCP(recv *webrtc.RTPReceiver, kind ingest.Kind) {
	for {
		pkts, _, err := recv.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			sr, ok := p.(*rtcp.SenderReport)
			if !ok {
				continue
			}
			switch r := s.clock.senderReport(kind, sr.NTPTime, sr.RTPTime); {
			case r.noisy:
				s.log.Info("whip publisher's sender reports disagree with each other: audio and video stay aligned by arrival time",
					"spread", r.spread.Round(time.Millisecond).String(), "shift", r.shift.String())
			case r.moved:
				s.log.Debug("whip audio aligned to video by sender reports", "shift", r.shift.String())
			}
		}
	}
}

func (s *Session) offeredString() string {
	var parts []string
	if s.offered.video {
		parts = append(parts, "video")
	}
	if s.offered.audio {
		parts = append(parts, "audio")
	}
	return strings.Join(parts, "+")
}
