package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
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

// whepPlayResult is the JSON line web/webrtc/testdata/whep-play.mjs prints.
type whepPlayResult struct {
	Status        int       `json:"status"`
	FirstFrameMs  *int      `json:"firstFrameMs"`
	FramesDecoded []int     `json:"framesDecoded"`
	AudioEnergy   []float64 `json:"audioEnergy"`
	AudioPackets  int       `json:"audioPackets"`
	LatencyMs     *int      `json:"latencyMs"`
	Errors        []string  `json:"errors"`
}

// playWHEPInChromium opens the WHEP test player, served from another
// origin (CORS is exercised), on kast's /whep/main.
func playWHEPInChromium(t *testing.T, a *app) whepPlayResult {
	t.Helper()
	testutil.RequireBrowser(t)
	root := testutil.RepoRoot(t)
	page := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(root, "web", "webrtc", "testdata"))))
	defer page.Close()
	u := page.URL + "/player.html?whep=" + url.QueryEscape(a.testURL("/whep/main"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(root, "web", "webrtc", "testdata", "whep-play.mjs"), u, "6")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res whepPlayResult
	if jerr := json.Unmarshal(bytes.TrimSpace(out), &res); jerr != nil {
		t.Fatalf("whep-play.mjs: %v %v\n%s\n%s", err, jerr, out, stderr.String())
	}
	if err != nil {
		t.Fatalf("Chromium did not play over WHEP: %v\n%+v\n%s", err, res, stderr.String())
	}
	return res
}

// TestBrowserPlaysWHEP publishes like OBS and plays the track in Chromium
// over WebRTC: frames are decoded and keep coming.
func TestBrowserPlaysWHEP(t *testing.T) {
	testutil.RequireBrowser(t)
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 60 * time.Second})
	waitWHEPLive(t, a).PC.Close()
	res := playWHEPInChromium(t, a)
	f := res.FramesDecoded
	if res.Status != http.StatusCreated || len(f) == 0 || f[len(f)-1]-f[0] < 100 {
		t.Fatalf("Chromium over WHEP: %+v", res)
	}
	t.Logf("Chromium: first frame %v ms after the POST, browser latency %v ms, frames %d..%d, audio packets %d",
		orQ(res.FirstFrameMs), orQ(res.LatencyMs), f[0], f[len(f)-1], res.AudioPackets)
}

func orQ(p *int) any {
	if p == nil {
		return "?"
	}
	return *p
}
