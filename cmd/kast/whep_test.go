package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// waitWHEPLive polls until the track is live over WHEP (not 409).
func waitWHEPLive(t *testing.T, a *app) *testutil.Peer {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		p := testutil.NewPeer(t)
		resp, body := p.WHEP(t, a.testURL("/whep/main"))
		switch resp.StatusCode {
		case http.StatusCreated:
			return p
		case http.StatusConflict:
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("409 without Retry-After")
			}
			p.PC.Close()
			time.Sleep(200 * time.Millisecond)
		default:
			t.Fatalf("WHEP: %d %s", resp.StatusCode, body)
		}
	}
	t.Fatal("track not live over WHEP")
	return nil
}

// TestWHEPFromRTMP publishes H.264 + AAC with ffmpeg like OBS and watches
// it with a pion WHEP client: it starts on a keyframe and gets every frame.
func TestWHEPFromRTMP(t *testing.T) {
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 30 * time.Second})
	p := waitWHEPLive(t, a)
	s := p.WaitFrames(t, 60, 15*time.Second)
	if !s.FirstFrameWasKey {
		t.Fatal("first frame was not a keyframe")
	}
	if s.Keyframes < 1 {
		t.Fatalf("stats %+v", s)
	}
}
