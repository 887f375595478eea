package rtc

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// newTestEngine starts an engine on an OS-chosen loopback port.
func newTestEngine(t *testing.T, batch int) *Engine {
	t.Helper()
	e := &Engine{UDPAddr: "127.0.0.1:0", BatchSize: batch}
	if err := e.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// newClient returns a stock pion peer (default codecs and interceptors),
// like a third-party WHEP client, that gathers loopback candidates only.
func newClient(t *testing.T) *webrtc.PeerConnection {
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
	return pc
}

// TestEngineCarriesMediaOverTheSharedPort connects a stock pion client to
// a session of the engine and sends RTP through the shared UDP socket
// (with and without batched writes); closing the session leaves no state
// in the mux.
func TestEngineCarriesMediaOverTheSharedPort(t *testing.T) {
	for _, batch := range []int{0, 32} {
		t.Run(map[int]string{0: "sendto", 32: "sendmmsg"}[batch], func(t *testing.T) { carriesMedia(t, batch) })
	}
}

func carriesMedia(t *testing.T, batch int) {
	e := newTestEngine(t, batch)
	client := newClient(t)
	if _, err := client.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *rtp.Packet, 1)
	client.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p, _, err := tr.ReadRTP()
		if err == nil {
			got <- p
		}
	})
	offer, err := client.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	if _, err := ParseOffer([]byte(client.LocalDescription().SDP)); err != nil {
		t.Fatalf("pion's own offer: %v", err)
	}

	server, err := e.NewPeerConnection(Viewer)
	if err != nil {
		t.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "packetization-mode=1;profile-level-id=42e01f"}, "video", "kast")
	if err != nil {
		t.Fatal(err)
	}
	if err := server.SetRemoteDescription(*client.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	if _, err := server.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	answer, err := server.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	sgathered := webrtc.GatheringCompletePromise(server)
	if err := server.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-sgathered
	if err := client.SetRemoteDescription(*server.LocalDescription()); err != nil {
		t.Fatal(err)
	}

	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seq uint16
	for {
		select {
		case p := <-got:
			if p.PayloadType == 0 || len(p.Payload) != 3 {
				t.Fatalf("received %+v", p)
			}
			if e.MuxSessions() != 1 {
				t.Fatalf("mux sessions %d while connected, want 1", e.MuxSessions())
			}
			server.Close()
			waitFor(t, func() bool { return e.MuxSessions() == 0 }, "mux state after close")
			return
		case <-tick.C:
			seq++
			// An IDR slice NAL unit in a single-NAL packet.
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
				Payload: []byte{0x65, 0x88, 0x84}})
		case <-deadline:
			t.Fatalf("no RTP received; ICE %s", server.ICEConnectionState())
		}
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for range 300 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestDirectionString(t *testing.T) {
	if Viewer.String() != "whep" || Publisher.String() != "whip" {
		t.Fatal(Viewer.String(), Publisher.String())
	}
}

func TestCodecTable(t *testing.T) {
	var names []string
	for _, c := range Codecs() {
		names = append(names, c.String())
	}
	want := "H264/90000 packetization-mode=1;profile-level-id=42e01f"
	if names[0] != want {
		t.Fatalf("first codec %q, want %q", names[0], want)
	}
	if names[len(names)-1] != "opus/48000/2" {
		t.Fatalf("last codec %q", names[len(names)-1])
	}
}
