package rtc

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TestICETCP connects a client that can only use TCP (UDP blocked) to the
// engine's ICE-TCP port.
func TestICETCP(t *testing.T) {
	e := &Engine{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0"}
	if err := e.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	client, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 1)
	client.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if _, _, err := tr.ReadRTP(); err == nil {
			got <- struct{}{}
		}
	})
	offer, _ := client.CreateOffer(nil)
	g := webrtc.GatheringCompletePromise(client)
	if err := client.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-g
	server, err := e.NewPeerConnection(Viewer)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	track, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "packetization-mode=1;profile-level-id=42e01f"}, "video", "kast")
	if err := server.SetRemoteDescription(*client.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	if _, err := server.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	answer, _ := server.CreateAnswer(nil)
	sg := webrtc.GatheringCompletePromise(server)
	if err := server.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-sg
	if err := client.SetRemoteDescription(*server.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(0); ; seq++ {
		select {
		case <-got:
			pair, _ := server.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
			if pair == nil || pair.Local.Protocol != webrtc.ICEProtocolTCP {
				t.Fatalf("selected pair %v, want TCP", pair)
			}
			return
		case <-tick.C:
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true}, Payload: []byte{0x65, 1, 2}})
		case <-deadline:
			t.Fatalf("nothing over ICE-TCP; ICE %s", server.ICEConnectionState())
		}
	}
}
