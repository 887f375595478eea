package whip

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/avclip"
	"github.com/kastlive/kast/internal/rtc"
	"github.com/kastlive/kast/internal/testutil"
)

// clip is encoded test media: H.264 access units (libx264, no B-frames,
// SPS/PPS before each IDR) and 20 ms Opus packets.
type clip struct {
	video [][][]byte
	keys  []bool
	opus  [][]byte
}

var (
	clipsMu sync.Mutex
	clips   = map[int]*clip{}
)

// loadClip encodes 4 s of a moving test pattern (320x240, 30 fps, a
// keyframe every gop frames) and a 440 Hz tone with ffmpeg, once per gop.
func loadClip(t testing.TB, gop int) *clip {
	t.Helper()
	clipsMu.Lock()
	defer clipsMu.Unlock()
	if c := clips[gop]; c != nil {
		return c
	}
	dir := t.TempDir()
	hv, oa := filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	out, err := testutil.Run(t, 60*time.Second, "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "4",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
		"-g", fmt.Sprint(gop), "-keyint_min", fmt.Sprint(gop), "-sc_threshold", "0", "-bf", "0",
		"-x264-params", "repeat-headers=1", "-bsf:v", "h264_metadata=aud=insert", "-f", "h264", hv)
	if err != nil {
		t.Fatalf("ffmpeg video: %v\n%s", err, out)
	}
	out, err = testutil.Run(t, 60*time.Second, "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4",
		"-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-page_duration", "20000", "-f", "ogg", oa)
	if err != nil {
		t.Fatalf("ffmpeg audio: %v\n%s", err, out)
	}
	c := &clip{}
	vb, err := os.ReadFile(hv)
	if err != nil {
		t.Fatal(err)
	}
	var au [][]byte
	flush := func() {
		if len(au) > 0 {
			c.video = append(c.video, au)
			c.keys = append(c.keys, h264.IsRandomAccess(au))
		}
		au = nil
	}
	avclip.ForEachNALU(vb, func(n []byte) bool {
		if len(n) == 0 {
			return true
		}
		if h264.NALUType(n[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			flush()
			return true
		}
		au = append(au, n)
		return true
	})
	flush()
	f, err := os.Open(oa)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, _, err := r.ParseNextPage()
		if err != nil {
			break
		}
		if bytes.HasPrefix(p, []byte("OpusTags")) || len(p) == 0 {
			continue
		}
		c.opus = append(c.opus, p)
	}
	if len(c.video) < 100 || !c.keys[0] || len(c.opus) < 150 {
		t.Fatalf("clip: %d pictures (first key %v), %d Opus packets", len(c.video), c.keys[0], len(c.opus))
	}
	clips[gop] = c
	return c
}

// rig is a WHIP server on a loopback engine, its hub, and what the hub's
// reader saw.
type rig struct {
	t      *testing.T
	engine *rtc.Engine
	hub    *ingest.Hub
	srv    *Server
	logs   *syncBuf

	mu      sync.Mutex
	streams []*ingest.Stream
	units   map[uint64][]*ingest.Unit
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const testKey = "test-key-main-0123456789"

func newRig(t *testing.T, cfg func(*Server)) *rig {
	t.Helper()
	e := &rtc.Engine{UDPAddr: "127.0.0.1:0"}
	if err := e.Initialize(); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, engine: e, hub: &ingest.Hub{}, logs: &syncBuf{}, units: map[uint64][]*ingest.Unit{}}
	r.hub.OnStream(func(s *ingest.Stream) {
		rd := s.Subscribe(4096)
		r.mu.Lock()
		r.streams = append(r.streams, s)
		r.mu.Unlock()
		go func() {
			for u := range rd.Units() {
				r.mu.Lock()
				r.units[s.ID] = append(r.units[s.ID], u)
				r.mu.Unlock()
			}
		}()
	})
	r.srv = &Server{
		Engine: e,
		Hub:    r.hub,
		Authorize: func(_ context.Context, key string) (string, error) {
			if key == testKey {
				return "main", nil
			}
			return "", ingest.ErrUnknownKey
		},
		Logger: slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if cfg != nil {
		cfg(r.srv)
	}
	if err := r.srv.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.srv.Close()
		e.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", r.logs.String())
		}
	})
	return r
}

// stream returns the i-th stream the hub started, waiting for it.
func (r *rig) stream(i int, within time.Duration) *ingest.Stream {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.streams) > i {
			s := r.streams[i]
			r.mu.Unlock()
			return s
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("stream %d did not start within %v", i, within)
	return nil
}

func (r *rig) unitsOf(s *ingest.Stream) []*ingest.Unit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*ingest.Unit(nil), r.units[s.ID]...)
}

// peer is a stock pion publisher (default codecs and interceptors: NACK
// responder, reports) that packetizes the clip itself so that a test can
// drop packets for good.
type peer struct {
	t            *testing.T
	pc           *webrtc.PeerConnection
	video, audio *webrtc.TrackLocalStaticRTP
	vsender      *webrtc.RTPSender
	plis         atomic.Int64
	pliCh        chan struct{}
	drop         func(seq uint16) bool // video packets never sent
	sentVideo    atomic.Int64
}

func newPeer(t *testing.T, video, audio bool) *peer {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	p := &peer{t: t, pc: pc, pliCh: make(chan struct{}, 1)}
	if video {
		p.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "kast-test")
		if err != nil {
			t.Fatal(err)
		}
		tr, err := pc.AddTransceiverFromTrack(p.video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			t.Fatal(err)
		}
		p.vsender = tr.Sender()
		go func() {
			for {
				pkts, _, err := p.vsender.ReadRTCP()
				if err != nil {
					return
				}
				for _, x := range pkts {
					switch x.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						p.plis.Add(1)
						select {
						case p.pliCh <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}
	if audio {
		p.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "kast-test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromTrack(p.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// offer returns the peer's offer with its candidates.
func (p *peer) offer() []byte {
	p.t.Helper()
	o, err := p.pc.CreateOffer(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(o); err != nil {
		p.t.Fatal(err)
	}
	<-g
	return []byte(p.pc.LocalDescription().SDP)
}

// publish offers to srv and applies the answer.
func (p *peer) publish(srv *Server) *Session {
	p.t.Helper()
	s, err := srv.Publish(context.Background(), Request{StreamKey: testKey, Track: "main", Offer: p.offer(), Remote: "127.0.0.1:1"})
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s.Answer()}); err != nil {
		p.t.Fatal(err)
	}
	return s
}

// send plays the clip in real time, looping, until ctx ends. With
// jumpOnPLI, a keyframe request makes the next picture sent the clip's
// next keyframe, as an encoder would make one.
func (p *peer) send(ctx context.Context, c *clip, jumpOnPLI bool) {
	const mtu = 1200
	var vp, ap rtp.Packetizer
	if p.video != nil {
		vp = rtp.NewPacketizer(mtu, 96, 1, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	}
	if p.audio != nil {
		ap = rtp.NewPacketizer(mtu, 111, 2, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)
	}
	start := time.Now()
	vi, ai := 0, 0 // pictures and packets sent
	pos := 0       // next picture of the clip
	for ctx.Err() == nil {
		vt := start.Add(time.Duration(vi) * time.Second / 30)
		at := start.Add(time.Duration(ai) * 20 * time.Millisecond)
		next := vt
		if vp == nil || (ap != nil && at.Before(vt)) {
			next = at
		}
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		if vp != nil && !next.Before(vt) {
			select {
			case <-p.pliCh:
				if jumpOnPLI {
					for !c.keys[pos] {
						pos = (pos + 1) % len(c.video)
					}
				}
			default:
			}
			idx := pos
			pos = (pos + 1) % len(c.video)
			var annexB []byte
			for _, n := range c.video[idx] {
				annexB = append(annexB, 0, 0, 0, 1)
				annexB = append(annexB, n...)
			}
			for _, pkt := range vp.Packetize(annexB, 3000) {
				if p.drop != nil && p.drop(pkt.SequenceNumber) {
					continue
				}
				_ = p.video.WriteRTP(pkt)
				p.sentVideo.Add(1)
			}
			vi++
			continue
		}
		for _, pkt := range ap.Packetize(c.opus[ai%len(c.opus)], 960) {
			_ = p.audio.WriteRTP(pkt)
		}
		ai++
	}
}

// waitFor polls cond every 20 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
