package relay

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/rtc"
	"github.com/kastlive/kast/internal/testutil"
)

type fixture struct {
	t      *testing.T
	engine *rtc.Engine
	relay  *Relay
	hub    *ingest.Hub
	pub    *ingest.Publisher
	stream *ingest.Stream
}

// newFixture starts an engine and a relay, and publishes a synthetic
// 30 fps stream with a keyframe every second and 20 ms audio frames.
func newFixture(t *testing.T, audio *ingest.Audio, tc NewTranscoder) *fixture {
	t.Helper()
	e := &rtc.Engine{UDPAddr: "127.0.0.1:0"}
	if err := e.Initialize(); err != nil {
		t.Fatal(err)
	}
	r := &Relay{Engine: e, Transcoder: tc}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	h := &ingest.Hub{}
	p, err := h.Claim("main", "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, engine: e, relay: r, hub: h, pub: p}
	f.stream = p.Start(testutil.SyntheticMedia(audio))
	t.Cleanup(func() {
		r.Close()
		p.Close(nil)
		e.Close()
	})
	testutil.FeedSynthetic(t, f.stream)
	return f
}

func (f *fixture) play(p *testutil.Peer) *Viewer {
	f.t.Helper()
	o, err := rtc.ParseOffer([]byte(p.Offer(f.t)))
	if err != nil {
		f.t.Fatal(err)
	}
	v, err := f.relay.Play(f.stream, o)
	if err != nil {
		f.t.Fatal(err)
	}
	p.Accept(f.t, v.PeerConnection().LocalDescription().SDP)
	return v
}

func TestPlayStartsOnKeyframeWithAudio(t *testing.T) {
	f := newFixture(t, ingest.NewOpus(2), nil)
	time.Sleep(500 * time.Millisecond) // join mid-GOP
	p := testutil.NewPeer(t)
	v := f.play(p)
	s := p.WaitFrames(t, 20, 10*time.Second)
	if !s.FirstFrameWasKey || s.VideoCodec != webrtc.MimeTypeH264 {
		t.Fatalf("first frame key=%v codec %s", s.FirstFrameWasKey, s.VideoCodec)
	}
	if s.AudioPackets == 0 || s.AudioCodec != webrtc.MimeTypeOpus {
		t.Fatalf("audio: %d packets of %s", s.AudioPackets, s.AudioCodec)
	}
	if f.relay.Stats().SenderReports == 0 {
		time.Sleep(1100 * time.Millisecond)
		if f.relay.Stats().SenderReports == 0 {
			t.Fatal("no sender reports")
		}
	}
	v.Close()
	if st := f.relay.Stats(); st.Viewers != 0 || st.Forwarders != 0 {
		t.Fatalf("after close: %+v", st)
	}
}

func TestNACKServedFromHistory(t *testing.T) {
	f := newFixture(t, nil, nil)
	p := testutil.NewPeer(t)
	v := f.play(p)
	p.WaitFrames(t, 5, 10*time.Second)
	ssrc := uint32(v.PeerConnection().GetSenders()[0].GetParameters().Encodings[0].SSRC)
	seq, _ := v.video.streamSeq(5) // the viewer's 5th packet
	_ = seq
	if err := p.PC.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: 5}}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.relay.Stats().NACKsServed == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("NACK not served: %+v", f.relay.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeTranscoder turns each AAC unit into one Opus unit.
type fakeTranscoder struct {
	out  chan *ingest.Unit
	once sync.Once
}

func (f *fakeTranscoder) Write(u *ingest.Unit) error {
	select {
	case f.out <- &ingest.Unit{Kind: ingest.KindAudio, PTS: u.PTS, DTS: u.DTS, Key: true, Received: u.Received, Frame: []byte{0xfc, 1, 2}}:
	default:
	}
	return nil
}
func (f *fakeTranscoder) Output() <-chan *ingest.Unit { return f.out }
func (f *fakeTranscoder) Close() error {
	f.once.Do(func() { close(f.out) })
	return nil
}

func aac(t *testing.T) *ingest.Audio {
	t.Helper()
	return &ingest.Audio{Codec: ingest.CodecAAC, SampleRate: 48000, Channels: 2}
}

func TestAACIsTranscodedOncePerStream(t *testing.T) {
	var mu sync.Mutex
	started := 0
	f := newFixture(t, aac(t), func(*ingest.Audio) (AudioTranscoder, error) {
		mu.Lock()
		started++
		mu.Unlock()
		return &fakeTranscoder{out: make(chan *ingest.Unit, 64)}, nil
	})
	p1, p2 := testutil.NewPeer(t), testutil.NewPeer(t)
	f.play(p1)
	f.play(p2)
	p1.WaitFrames(t, 10, 10*time.Second)
	p2.WaitFrames(t, 10, 10*time.Second)
	if p1.Stats().AudioPackets == 0 || p2.Stats().AudioPackets == 0 {
		t.Fatal("no Opus from the transcoder")
	}
	mu.Lock()
	defer mu.Unlock()
	if started != 1 || f.relay.Stats().TranscodersRunning != 1 {
		t.Fatalf("%d transcoders started for 2 viewers of one stream", started)
	}
}

func TestAACWithoutTranscoderIsVideoOnly(t *testing.T) {
	f := newFixture(t, aac(t), nil)
	p := testutil.NewPeer(t)
	v := f.play(p)
	p.WaitFrames(t, 10, 10*time.Second)
	if v.AudioMissing == "" || p.Stats().AudioPackets != 0 {
		t.Fatalf("audio missing %q, %d audio packets", v.AudioMissing, p.Stats().AudioPackets)
	}
	if f.relay.Stats().AudioWithoutOpus == 0 {
		t.Fatal("not counted")
	}
}

func TestNoCommonCodec(t *testing.T) {
	f := newFixture(t, nil, nil)
	// A peer that only takes VP8.
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, _ := pc.CreateOffer(nil)
	o, err := rtc.ParseOffer([]byte(offer.SDP))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.relay.Play(f.stream, o)
	var nc *rtc.NoCommonCodecError
	if !errors.As(err, &nc) || nc.Error() != "no common video codec: the offer has VP8/90000; kast has H264/90000 packetization-mode=1" {
		t.Fatalf("got %v", err)
	}
}

// TestSlowViewerDoesNotDelayOthers pauses one viewer's receive loop: the
// other keeps receiving every frame on time.
func TestSlowViewerDoesNotDelayOthers(t *testing.T) {
	f := newFixture(t, ingest.NewOpus(2), nil)
	slow, fast := testutil.NewPeer(t), testutil.NewPeer(t)
	f.play(slow)
	f.play(fast)
	slow.WaitFrames(t, 5, 10*time.Second)
	fast.WaitFrames(t, 5, 10*time.Second)
	slow.Paused.Store(true)
	before := fast.Stats().Frames
	time.Sleep(3 * time.Second)
	got := fast.Stats().Frames - before
	if got < 80 { // 90 expected at 30 fps
		t.Fatalf("fast viewer got %d frames in 3 s while the other was paused", got)
	}
	slow.Paused.Store(false)
}

func TestSessionsLeaveNothingBehind(t *testing.T) {
	f := newFixture(t, ingest.NewOpus(2), nil)
	warm := testutil.NewPeer(t)
	wv := f.play(warm)
	warm.WaitFrames(t, 2, 10*time.Second)
	wv.Close()
	warm.PC.Close()
	time.Sleep(200 * time.Millisecond)
	base := runtime.NumGoroutine()
	for range 20 {
		p := testutil.NewPeer(t)
		v := f.play(p)
		p.WaitFrames(t, 1, 10*time.Second)
		v.Close()
		p.PC.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base+2 || f.engine.MuxSessions() != 0 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines %d (base %d), mux sessions %d\n%s", runtime.NumGoroutine(), base, f.engine.MuxSessions(), buf[:n])
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := f.relay.Stats(); st.Viewers != 0 || st.Forwarders != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBFramesRefused(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.relay.BFrames = func(*ingest.Video) bool { return true }
	p := testutil.NewPeer(t)
	o, err := rtc.ParseOffer([]byte(p.Offer(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.relay.Play(f.stream, o); !errors.Is(err, ErrBFrames) {
		t.Fatalf("Play: %v, want ErrBFrames", err)
	}
	if f.relay.Stats().RefusedBFrames != 1 {
		t.Fatal("refusal not counted")
	}
}
