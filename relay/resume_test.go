package relay

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/rtc"
	"github.com/kastlive/kast/internal/testutil"
)

// resumeRig is a relay that follows a hub, with one viewer of track main.
type resumeRig struct {
	relay *Relay
	hub   *ingest.Hub
	peer  *testutil.Peer
	view  *Viewer

	mu  sync.Mutex
	aus []au // access units the peer completed
}

type au struct {
	ts  uint32
	key bool
	at  time.Time
}

// newResumeRig returns the rig and a function that ends its publisher.
func newResumeRig(t *testing.T, linger time.Duration) (*resumeRig, func()) {
	t.Helper()
	e := &rtc.Engine{UDPAddr: "127.0.0.1:0"}
	if err := e.Initialize(); err != nil {
		t.Fatal(err)
	}
	h := &ingest.Hub{}
	r := &Relay{Engine: e, Hub: h, Linger: linger}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); e.Close() })
	rig := &resumeRig{relay: r, hub: h}
	end := rig.publish(t)
	rig.peer = testutil.NewPeer(t)
	rig.peer.OnAccessUnit(func(b []byte, ts uint32) {
		rig.mu.Lock()
		rig.aus = append(rig.aus, au{ts: ts, key: bytes.Contains(b, []byte{0, 0, 1, 0x65}), at: time.Now()})
		rig.mu.Unlock()
	})
	o, err := rtc.ParseOffer([]byte(rig.peer.Offer(t)))
	if err != nil {
		t.Fatal(err)
	}
	rig.view, err = r.Play(h.Live("main"), o)
	if err != nil {
		t.Fatal(err)
	}
	rig.peer.Accept(t, rig.view.PeerConnection().LocalDescription().SDP)
	rig.peer.WaitFrames(t, 30, 10*time.Second)
	return rig, end
}

// publish claims track main and feeds a synthetic stream until the test
// ends or the returned function ends the publisher.
func (rig *resumeRig) publish(t *testing.T) (end func()) {
	t.Helper()
	p, err := rig.hub.Claim("main", "test", func() {})
	if err != nil {
		t.Fatal(err)
	}
	stop := testutil.StartSynthetic(p.Start(testutil.SyntheticMedia(ingest.NewOpus(2))))
	end = func() { stop(); p.Close(nil) }
	t.Cleanup(end)
	return end
}

func (rig *resumeRig) frames() []au {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return append([]au(nil), rig.aus...)
}

// checkContinuity fails unless the peer's frames after the switch at
// index i start on a keyframe and their timestamps go on forward from
// the frames before, by about the wall time between them.
func (rig *resumeRig) checkContinuity(t *testing.T, i int) {
	t.Helper()
	aus := rig.frames()
	if i == 0 || i >= len(aus) {
		t.Fatalf("switch at frame %d of %d", i, len(aus))
	}
	if !aus[i].key {
		t.Fatalf("first frame of the next stream is not a keyframe")
	}
	for j := 1; j < len(aus); j++ {
		if d := int32(aus[j].ts - aus[j-1].ts); d <= 0 {
			t.Fatalf("frame %d: timestamp went back by %d (switch at %d)", j, -d, i)
		}
	}
	gapRTP := float64(aus[i].ts-aus[i-1].ts) / 90000
	gapWall := aus[i].at.Sub(aus[i-1].at).Seconds()
	if gapRTP < gapWall-1.5 || gapRTP > gapWall+1.5 {
		t.Fatalf("timestamps jumped %.2f s over a %.2f s gap", gapRTP, gapWall)
	}
	if st := rig.relay.Stats(); st.NACKedPackets != 0 {
		t.Fatalf("the peer NACKed %d packets: the sequence numbers have a gap", st.NACKedPackets)
	}
}

// TestViewerGoesOnWithNextStream ends the publisher (its connection
// dropped) and starts a new one on the track a second later: the viewer
// receives the new stream in the same session, starting on a keyframe,
// with gapless sequence numbers and timestamps going on forward.
func TestViewerGoesOnWithNextStream(t *testing.T) {
	rig, end := newResumeRig(t, 10*time.Second)
	end()
	time.Sleep(time.Second)
	if rig.view.Stream() != nil {
		t.Fatal("viewer still on the ended stream")
	}
	if n := rig.relay.ViewerCount("main"); n != 1 {
		t.Fatalf("ViewerCount %d while the viewer waits for the next stream", n)
	}
	n := len(rig.frames())
	rig.publish(t)
	rig.peer.WaitFrames(t, n+60, 10*time.Second)
	select {
	case <-rig.view.Done():
		t.Fatal("session closed")
	default:
	}
	if rig.view.Stream() != rig.hub.Live("main") {
		t.Fatal("viewer not on the new stream")
	}
	if st := rig.relay.Stats(); st.Resumed != 1 || st.Viewers != 1 || st.Forwarders != 1 {
		t.Fatalf("stats %+v", st)
	}
	if rig.peer.Stats().AudioPackets == 0 {
		t.Fatal("no audio")
	}
	rig.checkContinuity(t, n)
	rig.view.Close()
	if st := rig.relay.Stats(); st.Viewers != 0 || st.Forwarders != 0 {
		t.Fatalf("after close: %+v", st)
	}
}

// TestViewerMovesOnTakeover lets a publisher go silent while its stream
// stays up (a link that hangs), and a reconnecting one take the track
// over before the old connection ends: the viewer moves at once.
func TestViewerMovesOnTakeover(t *testing.T) {
	e := &rtc.Engine{UDPAddr: "127.0.0.1:0"}
	if err := e.Initialize(); err != nil {
		t.Fatal(err)
	}
	h := &ingest.Hub{}
	r := &Relay{Engine: e, Hub: h}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); e.Close() })
	rig := &resumeRig{relay: r, hub: h}
	kicked := make(chan struct{})
	old, err := h.Claim("main", "old", func() { close(kicked) })
	if err != nil {
		t.Fatal(err)
	}
	silent := testutil.StartSynthetic(old.Start(testutil.SyntheticMedia(nil)))
	t.Cleanup(func() { silent(); old.Close(nil) })
	rig.peer = testutil.NewPeer(t)
	rig.peer.OnAccessUnit(func(b []byte, ts uint32) {
		rig.mu.Lock()
		rig.aus = append(rig.aus, au{ts: ts, key: bytes.Contains(b, []byte{0, 0, 1, 0x65}), at: time.Now()})
		rig.mu.Unlock()
	})
	o, err := rtc.ParseOffer([]byte(rig.peer.Offer(t)))
	if err != nil {
		t.Fatal(err)
	}
	rig.view, err = r.Play(h.Live("main"), o)
	if err != nil {
		t.Fatal(err)
	}
	rig.peer.Accept(t, rig.view.PeerConnection().LocalDescription().SDP)
	rig.peer.WaitFrames(t, 30, 10*time.Second)
	silent()
	time.Sleep(ingest.StaleAfter + 200*time.Millisecond)
	n := len(rig.frames())
	rig.publish(t) // takes over: the old stream is still up
	<-kicked
	rig.peer.WaitFrames(t, n+60, 10*time.Second)
	if old.Stream().Err() != nil {
		t.Fatal("test broken: the old stream ended")
	}
	old.Close(nil) // the old connection ends at last
	time.Sleep(300 * time.Millisecond)
	m := len(rig.frames())
	rig.peer.WaitFrames(t, m+15, 5*time.Second)
	if st := r.Stats(); st.Resumed != 1 || st.Viewers != 1 {
		t.Fatalf("stats %+v", st)
	}
	rig.checkContinuity(t, n)
}

// TestViewerClosedWhenNoStreamFollows: after Linger without a next
// stream the session ends.
func TestViewerClosedWhenNoStreamFollows(t *testing.T) {
	rig, end := newResumeRig(t, 500*time.Millisecond)
	end()
	select {
	case <-rig.view.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session still open 5 s after its stream ended")
	}
	deadline := time.Now().Add(2 * time.Second)
	for rig.relay.Stats().Viewers != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", rig.relay.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestViewerClosedOnOtherVideoCodec: a next stream in VP8 cannot go to a
// session that negotiated H.264.
func TestViewerClosedOnOtherVideoCodec(t *testing.T) {
	rig, end := newResumeRig(t, 10*time.Second)
	end()
	p, err := rig.hub.Claim("main", "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(nil)
	p.Start(ingest.Media{Video: &ingest.Video{Codec: ingest.CodecVP8, Width: 640, Height: 360}})
	select {
	case <-rig.view.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session still open")
	}
}
