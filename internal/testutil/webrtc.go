package testutil

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// Peer is a stock pion PeerConnection (pion's default codecs and
// interceptors, so it NACKs and reports like a browser) that receives
// video and audio, as a WHEP player does. It gathers loopback candidates
// only.
type Peer struct {
	PC *webrtc.PeerConnection

	// Paused stops reading RTP (the socket fills up, like a frozen tab).
	Paused atomic.Bool

	mu         sync.Mutex
	videoPkts  int
	audioPkts  int
	frames     int // H.264 access units completed (marker bit)
	keyframes  int
	firstVideo time.Time
	firstKey   bool // the first access unit was a keyframe
	videoMime  string
	audioMime  string
	ogg        *oggwriter.OggWriter
	au         []byte
	h264       codecs.H264Packet
	onAU       func(annexB []byte, ts uint32)
	onRTP      func(*rtp.Packet)
}

// NewPeer returns a receiving peer closed at the end of the test.
func NewPeer(t testing.TB) *Peer {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	// Like Chromium (libsrtp window of 1024 packets), so that a
	// retransmission arriving after a keyframe's burst is not refused as
	// a replay; pion's default window is 64.
	se.SetSRTPReplayProtectionWindow(1024)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(defaultInterceptors(t, me)))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Peer{PC: pc}
	t.Cleanup(func() { pc.Close() })
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.mu.Lock()
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			p.videoMime = tr.Codec().MimeType
		} else {
			p.audioMime = tr.Codec().MimeType
		}
		p.mu.Unlock()
		go p.read(tr)
	})
	return p
}

func defaultInterceptors(t testing.TB, me *webrtc.MediaEngine) *interceptorRegistry {
	reg := &interceptorRegistry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		t.Fatal(err)
	}
	return reg
}

// RecordOpus writes the received Opus packets to w as Ogg, for ffmpeg.
func (p *Peer) RecordOpus(w io.Writer) error {
	ogg, err := oggwriter.NewWith(w, 48000, 2)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ogg = ogg
	p.mu.Unlock()
	return nil
}

// OnAccessUnit calls f with each H.264 access unit received (Annex-B).
// Set it before the session starts.
func (p *Peer) OnAccessUnit(f func(annexB []byte, ts uint32)) { p.onAU = f }

// OnVideoRTP calls f with each video RTP packet as it arrives
// (retransmissions too, late and out of order). Set it before the
// session starts.
func (p *Peer) OnVideoRTP(f func(*rtp.Packet)) { p.onRTP = f }

func (p *Peer) read(tr *webrtc.TrackRemote) {
	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	for {
		for p.Paused.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		p.mu.Lock()
		if video {
			if p.onRTP != nil {
				p.onRTP(pkt)
			}
			p.video(pkt)
		} else {
			p.audioPkts++
			if p.ogg != nil {
				_ = p.ogg.WriteRTP(pkt)
			}
		}
		p.mu.Unlock()
	}
}

// video reassembles H.264 access units; called with mu held.
func (p *Peer) video(pkt *rtp.Packet) {
	p.videoPkts++
	if p.firstVideo.IsZero() {
		p.firstVideo = time.Now()
	}
	if !strings.EqualFold(p.videoMime, webrtc.MimeTypeH264) {
		return
	}
	b, err := p.h264.Unmarshal(pkt.Payload)
	if err == nil {
		p.au = append(p.au, b...)
	}
	if !pkt.Marker {
		return
	}
	key := bytes.Contains(p.au, []byte{0, 0, 1, 0x65}) || bytes.Contains(p.au, []byte{0, 0, 1, 0x25})
	if p.frames == 0 {
		p.firstKey = key
	}
	p.frames++
	if key {
		p.keyframes++
	}
	if p.onAU != nil {
		p.onAU(p.au, pkt.Timestamp)
	}
	p.au = p.au[:0]
}

// PeerStats is what a Peer received so far.
type PeerStats struct {
	VideoPackets, AudioPackets, Frames, Keyframes int
	FirstFrameWasKey                              bool
	VideoCodec, AudioCodec                        string
	FirstVideo                                    time.Time
}

// Stats returns what the peer received so far.
func (p *Peer) Stats() PeerStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PeerStats{p.videoPkts, p.audioPkts, p.frames, p.keyframes, p.firstKey, p.videoMime, p.audioMime, p.firstVideo}
}

// Offer creates the offer with every candidate in it.
func (p *Peer) Offer(t testing.TB) string {
	t.Helper()
	offer, err := p.PC.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(p.PC)
	if err := p.PC.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-g
	return p.PC.LocalDescription().SDP
}

// Accept applies the answer.
func (p *Peer) Accept(t testing.TB, answer string) {
	t.Helper()
	if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatalf("answer: %v\n%s", err, answer)
	}
}

// WHEP posts the offer to url and applies the answer. It returns the
// response (body already read into the returned string) for the test to
// check status and headers.
func (p *Peer) WHEP(t testing.TB, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, "application/sdp", strings.NewReader(p.Offer(t)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		p.Accept(t, string(body))
	}
	return resp, string(body)
}

// WaitFrames waits until the peer has received n video access units.
func (p *Peer) WaitFrames(t testing.TB, n int, timeout time.Duration) PeerStats {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s := p.Stats(); s.Frames >= n {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	s := p.Stats()
	t.Fatalf("received %d frames in %v, want %d (ICE %s, stats %+v)", s.Frames, timeout, n, p.PC.ICEConnectionState(), s)
	return s
}

type interceptorRegistry = interceptor.Registry
