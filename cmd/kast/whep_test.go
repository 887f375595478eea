package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
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

// TestWHEPFromRTMP publishes H.264 + AAC (a 440 Hz sine) with ffmpeg like
// OBS and watches it with a pion WHEP client: video starts on a keyframe,
// and the AAC arrives as Opus that ffmpeg decodes to the sine, not silence.
func TestWHEPFromRTMP(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 30 * time.Second})
	p := waitWHEPLive(t, a)
	ogg := filepath.Join(t.TempDir(), "audio.ogg")
	f, err := os.Create(ogg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.RecordOpus(f); err != nil {
		t.Fatal(err)
	}
	s := p.WaitFrames(t, 120, 15*time.Second)
	if !s.FirstFrameWasKey || s.Keyframes < 2 {
		t.Fatalf("first frame key %v, %d keyframes", s.FirstFrameWasKey, s.Keyframes)
	}
	if s.AudioCodec != "audio/opus" || s.AudioPackets < 100 {
		t.Fatalf("audio: %d packets of %q", s.AudioPackets, s.AudioCodec)
	}
	// The frames arrived whole through UDP GSO where the kernel has it
	// (Linux 4.18+; not gVisor): it cut each run of a frame's packets
	// from one sendmsg.
	if on, sends, dgrams := metric(a, "kast_webrtc_gso"), metric(a, "kast_webrtc_gso_sends_total"), metric(a, "kast_webrtc_gso_datagrams_total"); on != 1 {
		if os.Getenv("CI") != "" {
			t.Errorf("no UDP GSO here (%s), which CI's machines have", runtime.GOOS)
		}
		t.Logf("no UDP GSO here (%s): one sendmsg per packet", runtime.GOOS)
	} else if sends == 0 || dgrams < 2*sends {
		t.Errorf("GSO on: %v sendmsg calls carried %v packets", sends, dgrams)
	} else {
		t.Logf("GSO: %v sendmsg calls carried %v of %v packets", sends, dgrams, metric(a, "kast_webrtc_packets_sent_total"))
	}
	// The WebRTC viewer counts in the track's viewers.
	code, body := apiDo(t, http.DefaultClient, a, "GET", "/api/v1/events/meetup/tracks", nil, false)
	var tracks []struct {
		Slug    string `json:"slug"`
		Viewers int    `json:"viewers"`
	}
	if err := json.Unmarshal(body, &tracks); code != 200 || err != nil || len(tracks) != 1 || tracks[0].Viewers != 1 {
		t.Errorf("tracks with one WebRTC viewer: %d %s", code, body)
	}
	p.PC.Close()
	time.Sleep(100 * time.Millisecond)
	f.Close()
	out, err := testutil.Run(t, 30*time.Second, "-hide_banner", "-nostats", "-i", ogg, "-af", "volumedetect", "-f", "null", "-")
	if err != nil {
		t.Fatalf("ffmpeg could not decode the Opus received: %v\n%s", err, out)
	}
	mean := meanVolume(t, out)
	// The publisher's sine is at -18 dBFS mean (ffmpeg's default amplitude
	// 1/8); silence would be -91 dB.
	if mean < -30 {
		t.Fatalf("Opus decodes to %.1f dB mean volume: silence\n%s", mean, out)
	}
	t.Logf("Opus received decodes to %.1f dB mean volume", mean)
}

func meanVolume(t *testing.T, ffmpegOut string) float64 {
	t.Helper()
	i := strings.Index(ffmpegOut, "mean_volume: ")
	if i < 0 {
		t.Fatalf("no mean_volume in\n%s", ffmpegOut)
	}
	var v float64
	if _, err := fmt.Sscanf(ffmpegOut[i+len("mean_volume: "):], "%f", &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// whepPlayResult is the JSON line web/webrtc/testdata/whep-play.mjs prints.
type whepPlayResult struct {
	Status        int       `json:"status"`
	FirstFrameMs  *int      `json:"firstFrameMs"`
	FramesDecoded []int     `json:"framesDecoded"`
	AudioEnergy   []float64 `json:"audioEnergy"`
	AudioRMS      []float64 `json:"audioRMS"`
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
	// Headless Chromium has no audio device, so getStats' totalAudioEnergy
	// stays 0; WebAudio reads the decoded track itself. The sine is at
	// amplitude 1/8: RMS 0.088; silence is 0.
	loud := 0
	for _, r := range res.AudioRMS {
		if r > 0.02 {
			loud++
		}
	}
	if res.AudioPackets == 0 || loud < len(res.AudioRMS)/2 {
		t.Fatalf("Chromium heard no audio over WHEP: %d packets, RMS %v", res.AudioPackets, res.AudioRMS)
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

// TestWatchPagePlaysWebRTC opens /watch/main in Chromium: it starts on
// WebRTC by itself and shows the measured latency.
func TestWatchPagePlaysWebRTC(t *testing.T) {
	testutil.RequireBrowser(t)
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 60 * time.Second})
	waitWHEPLive(t, a).PC.Close()
	root := testutil.RepoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(root, "web", "webrtc", "testdata", "whep-play.mjs"), a.testURL("/watch/main"), "6")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res struct {
		whepPlayResult
		Mode        string   `json:"mode"`
		PageLatency *float64 `json:"pageLatency"`
		LatencyText string   `json:"latencyText"`
		Fallback    string   `json:"fallback"`
	}
	if jerr := json.Unmarshal(bytes.TrimSpace(out), &res); jerr != nil || err != nil {
		t.Fatalf("watch page over WebRTC: %v %v\n%s\n%s", err, jerr, out, stderr.String())
	}
	f := res.FramesDecoded
	if res.Mode != "webrtc" || res.Fallback != "" || len(f) == 0 || f[len(f)-1]-f[0] < 100 {
		t.Fatalf("watch page: %+v", res)
	}
	if res.PageLatency == nil || !strings.HasPrefix(res.LatencyText, "WebRTC latency ") {
		t.Fatalf("watch page shows no WebRTC latency: %q (%v)", res.LatencyText, res.PageLatency)
	}
	t.Logf("watch page over WebRTC: %s, frames %d..%d", res.LatencyText, f[0], f[len(f)-1])
}

// TestWHEPRefusesBFrames publishes with B-frames (OBS's x264 default):
// the WHEP answer says why WebRTC cannot play it (browsers decode only
// its keyframes), so players stay on HLS.
func TestWHEPRefusesBFrames(t *testing.T) {
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 30 * time.Second, BFrames: 2})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		p := testutil.NewPeer(t)
		resp, body := p.WHEP(t, a.testURL("/whep/main"))
		p.PC.Close()
		if resp.StatusCode == http.StatusConflict {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "bframes=0") {
			t.Fatalf("B-frames stream over WHEP: %d %s", resp.StatusCode, body)
		}
		if !strings.Contains(logs.String(), "set bframes=0") {
			t.Fatalf("no log line for the speaker:\n%s", logs.String())
		}
		return
	}
	t.Fatal("track not live over WHEP")
}

// TestWHEPReencodesBFrames: with -webrtc-reencode-bframes, a publish with
// B-frames plays over WHEP, re-encoded without them (ffprobe finds no B
// picture in what the viewer received), starting on a keyframe, and the
// re-encode shows in /metrics.
func TestWHEPReencodesBFrames(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	testutil.RequireTool(t, "ffprobe")
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_WEBRTC_REENCODE_BFRAMES": "true"})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 40 * time.Second, BFrames: 2,
		Size: "640x360", Bitrate: "1000k"})
	p := waitWHEPLive(t, a)
	var mu sync.Mutex
	var annexB bytes.Buffer
	p.OnAccessUnit(func(au []byte, _ uint32) {
		mu.Lock()
		annexB.Write(au)
		mu.Unlock()
	})
	s := p.WaitFrames(t, 90, 25*time.Second)
	if !s.FirstFrameWasKey {
		t.Fatalf("first frame not a keyframe: %+v", s)
	}
	if n := metric(a, "kast_video_transcoders"); n != 1 {
		t.Errorf("kast_video_transcoders %v with a viewer:\n%s", n, metricLines(a, "kast_video_transcoder"))
	}
	p.PC.Close()
	mu.Lock()
	file := filepath.Join(t.TempDir(), "received.h264")
	err := os.WriteFile(file, annexB.Bytes(), 0o644)
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-f", "h264", "-show_entries", "frame=pict_type", "-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe of the received video: %v", err)
	}
	types := strings.Fields(string(out))
	if len(types) < 60 {
		t.Fatalf("ffprobe decoded %d pictures of what was received", len(types))
	}
	if b := strings.Count(string(out), "B"); b > 0 {
		t.Fatalf("%d B pictures in %d received over WebRTC", b, len(types))
	}
	t.Logf("%d pictures received, none B (%s...)", len(types), strings.Join(types[:min(12, len(types))], ""))
}
