package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/internal/testutil"
)

// decodeWHIPTrack has ffmpeg read the track's LL-HLS for 6 s and fails the
// test unless it decoded 5 s of H.264 video (at least minFPS) and of Opus
// audio (20 ms frames) without a warning.
func decodeWHIPTrack(t *testing.T, a *app, minFPS int) {
	t.Helper()
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)
	out := testutil.FrameCRC(t, a.testURL("/hls/main/index.m3u8"), 6*time.Second)
	video, audio, problems := testutil.CountFrames(out)
	t.Logf("ffmpeg decoded %d video and %d audio frames from the LL-HLS", video, audio)
	if len(problems) > 0 {
		t.Errorf("ffmpeg reported problems:\n%s", strings.Join(problems, "\n"))
	}
	if video < 5*minFPS || audio < 5*50 {
		t.Errorf("decoded %d video, %d audio frames; want 5 s of each", video, audio)
	}
	pl, err := http.Get(a.testURL("/hls/main/index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(pl.Body)
	pl.Body.Close()
	if !bytes.Contains(b, []byte(`CODECS="avc1.`)) || !bytes.Contains(b, []byte(`,opus"`)) {
		t.Errorf("multivariant playlist does not list H.264 and Opus:\n%s", b)
	}
}

// checkWHEPViewer checks what a pion WHEP viewer (waitWHEPLive) got: it
// must start on a keyframe and receive video and Opus. within bounds the
// wait for the first frames: a viewer starts at the publisher's next
// keyframe.
func checkWHEPViewer(t *testing.T, p *testutil.Peer, within time.Duration) {
	t.Helper()
	p.WaitFrames(t, 30, within)
	time.Sleep(time.Second)
	s := p.Stats()
	t.Logf("pion WHEP viewer: %+v", s)
	if !s.FirstFrameWasKey || s.VideoCodec != "video/H264" || s.AudioCodec != "audio/opus" || s.AudioPackets < 50 {
		t.Errorf("WHEP viewer got %+v", s)
	}
}

// publishResult is publish.mjs's last line.
type publishResult struct {
	Event          string   `json:"event"`
	Live           bool     `json:"live"`
	LiveMs         int      `json:"liveMs"`
	State          string   `json:"state"`
	Error          string   `json:"error"`
	Codec          string   `json:"codec"`
	FramesEncoded  int      `json:"framesEncoded"`
	Bitrate        int      `json:"bitrate"`
	Width          int      `json:"width"`
	Height         int      `json:"height"`
	AudioBytes     int      `json:"audioBytes"`
	Limitation     string   `json:"limitation"`
	KeyInURL       bool     `json:"keyInURL"`
	StoppedState   string   `json:"stoppedState"`
	StoppedSession bool     `json:"stoppedSession"`
	Errors         []string `json:"errors"`
}

// TestBrowserPublishesWHIP: Chromium with a fake camera and microphone
// goes live from /publish/main (the stream key typed into the page, H.264
// preferred); ffmpeg decodes the track's LL-HLS (H.264 + Opus) cleanly and
// a pion WHEP viewer receives it; "Stop" ends the publish (DELETE).
func TestBrowserPublishesWHIP(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	testutil.RequireTool(t, "ffmpeg")
	testutil.RequireBrowser(t)
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_LOG_LEVEL": "debug"})
	defer func() { t.Log(grepLines(logs.String(), "sender reports")) }()

	cmd, lines, stderr := startScript(t, "node", filepath.Join(testutil.RepoRoot(t), "web", "e2e", "publish.mjs"),
		a.testURL("/publish/main"), testStreamKey, "16")
	select {
	case l, ok := <-lines:
		if !ok || !strings.Contains(l, `"event":"live"`) {
			t.Fatalf("page did not go live: %s %s\nstderr: %s\nlog:\n%s", l, <-lines, stderr.String(), logs.String())
		}
		t.Logf("publish page: %s", l)
	case <-time.After(60 * time.Second):
		t.Fatalf("publish.mjs silent\nlog:\n%s", logs.String())
	}

	viewer := waitWHEPLive(t, a)
	decodeWHIPTrack(t, a, 15)
	checkWHEPViewer(t, viewer, 10*time.Second)

	var last string
	for l := range lines {
		last = l
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("publish.mjs: %v\n%s", err, stderr.String())
	}
	var res publishResult
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("publish.mjs result %q: %v", last, err)
	}
	t.Logf("publish page result: %+v", res)
	if res.Codec != "H264" || res.FramesEncoded == 0 || res.AudioBytes == 0 || res.KeyInURL ||
		res.StoppedState != "idle" || res.StoppedSession || res.Error != "" {
		t.Errorf("publish page: %+v", res)
	}
	// The page's Stop sent DELETE: the publish ended with that reason.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "DELETE") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `msg="publish ended"`) || !strings.Contains(logs.String(), "publisher stopped (DELETE)") {
		t.Errorf("no end of the publish in the log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), testStreamKey) {
		t.Error("the stream key appears in the log")
	}

	// A screen (getDisplayMedia, Chromium's fake capture) goes live too.
	out, err := exec.Command("node", filepath.Join(testutil.RepoRoot(t), "web", "e2e", "publish.mjs"),
		a.testURL("/publish/main"), testStreamKey, "3", "screen").Output()
	ls := strings.Split(strings.TrimSpace(string(out)), "\n")
	var scr publishResult
	_ = json.Unmarshal([]byte(ls[len(ls)-1]), &scr)
	if err != nil || !scr.Live || scr.Codec != "H264" || scr.FramesEncoded == 0 {
		t.Errorf("screen publish: %v %s", err, out)
	}
}

// debianPython is the interpreter with Debian's python3-aiortc; the
// python3 on PATH may be another one (pyenv, a virtualenv).
const debianPython = "/usr/bin/python3"

// requireAiortc skips (or, under CI, fails) unless Debian's aiortc can be
// imported.
func requireAiortc(t *testing.T) {
	t.Helper()
	testutil.RequireTool(t, debianPython)
	if out, err := exec.Command(debianPython, "-c", "import aiortc, av").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-aiortc is required under CI: %v\n%s", err, out)
		}
		t.Skipf("python3-aiortc not installed (apt-get install python3-aiortc; make test does): %s", out)
	}
}

// startScript runs a driver that prints JSON lines, and returns them on a
// channel (closed when it exits) and its stderr.
func startScript(t *testing.T, name string, args ...string) (*exec.Cmd, <-chan string, *logBuffer) {
	t.Helper()
	cmd := exec.Command(name, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &logBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return cmd, lines, stderr
}

// TestAiortcPublishesWHIP: a WHIP client not written for kast (aiortc: its
// own ICE, DTLS and SRTP, H.264 through libx264, Opus) publishes a moving
// test pattern and a tone; ffmpeg decodes the track's LL-HLS and a pion
// WHEP viewer receives it; its DELETE ends the publish.
func TestAiortcPublishesWHIP(t *testing.T) {
	if testing.Short() {
		t.Skip("aiortc test skipped in -short mode")
	}
	testutil.RequireTool(t, "ffmpeg")
	requireAiortc(t)
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	defer func() { t.Log(grepLines(logs.String(), "sender reports")) }()
	cmd, lines, stderr := startScript(t, debianPython,
		filepath.Join(testutil.RepoRoot(t), "web", "e2e", "aiortc_whip.py"), a.testURL("/whip/main"), testStreamKey, "24")
	select {
	case l, ok := <-lines:
		if !ok || !strings.Contains(l, `"event": "live"`) {
			t.Fatalf("aiortc did not go live: %s\nstderr: %s\nlog:\n%s", l, stderr.String(), logs.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("aiortc silent\nstderr: %s\nlog:\n%s", stderr.String(), logs.String())
	}

	// aiortc 1.4 never answers a keyframe request with H.264 (its
	// H264Encoder drops force_keyframe), so its keyframes come every 250
	// frames (x264's default): the viewer may wait 8.3 s for its first.
	viewer := waitWHEPLive(t, a)
	decodeWHIPTrack(t, a, 25)
	checkWHEPViewer(t, viewer, 12*time.Second)
	m := metricLines(a, "kast_w")
	for _, want := range []string{`kast_webrtc_sessions{direction="whip"} 1`, `kast_whip_sessions{state="connected"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(m, "kast_whip_packets_received_total 0\n") || !strings.Contains(m, "kast_whip_keyframe_requests_total") {
		t.Errorf("/metrics WHIP counters:\n%s", grepLines(m, "kast_whip"))
	}

	var last string
	for l := range lines {
		last = l
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("aiortc_whip.py: %v\n%s", err, stderr.String())
	}
	var res struct {
		Status       int    `json:"status"`
		Connected    bool   `json:"connected"`
		VideoCodec   string `json:"video_codec"`
		DeleteStatus int    `json:"delete_status"`
		StateAtEnd   string `json:"state_at_end"`
	}
	if err := json.Unmarshal([]byte(last), &res); err != nil {
		t.Fatalf("aiortc result %q: %v", last, err)
	}
	t.Logf("aiortc: %+v", res)
	if res.Status != 201 || !res.Connected || !strings.HasPrefix(res.VideoCodec, "H264/") || res.DeleteStatus != 200 || res.StateAtEnd != "connected" {
		t.Errorf("aiortc: %+v", res)
	}
	if !strings.Contains(logs.String(), "publisher stopped (DELETE)") {
		t.Errorf("no end of the publish in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "whip publisher ignores keyframe requests") {
		t.Errorf("no warning that aiortc ignores PLIs:\n%s", logs.String())
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestBannerWHIP: the banner says where to publish over WebRTC, over
// HTTPS when TLS is on, and never prints the key for it.
func TestBannerWHIP(t *testing.T) {
	for _, tc := range []struct {
		cfg  *config
		want string
	}{
		{&config{PublicHost: "192.0.2.10"}, "http://192.0.2.10:8080"},
		{&config{PublicHost: "192.0.2.10", TLSCert: "c.pem", TLSKey: "k.pem"}, "https://192.0.2.10:8443"},
	} {
		boot := conference.BootstrapResult{Track: conference.Track{Slug: "main"}, StreamKey: "secret-key-0123456789"}
		addr := "127.0.0.1:8080"
		if tc.cfg.TLS() {
			addr = "127.0.0.1:8443"
		}
		b := newBanner(tc.cfg, boot, addr, "127.0.0.1:1935", "")
		b.withWHIP()
		var out bytes.Buffer
		b.print(&out)
		s := out.String()
		if !strings.Contains(s, "Server        "+tc.want+"/whip/main") || !strings.Contains(s, "From a browser: "+tc.want+"/publish/main") ||
			strings.Contains(s, "secret-key") {
			t.Errorf("banner:\n%s", s)
		}
	}
}
