package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/web/assets"
)

const testStreamKey = "test-stream-key-0123456789"

// startApp runs kast in-process on loopback ports with a fresh data dir.
func startApp(t *testing.T, env map[string]string) (*app, *bytes.Buffer) {
	t.Helper()
	env["KAST_DATA_DIR"] = t.TempDir()
	env["KAST_HTTP_ADDR"] = "127.0.0.1:0"
	env["KAST_RTMP_ADDR"] = "127.0.0.1:0"
	cfg, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a := &app{cfg: cfg, log: newLogger(cfg, &logs)}
	if os.Getenv("KAST_TEST_LOG") != "" {
		a.log = newLogger(cfg, os.Stderr)
	}
	if err := a.start(context.Background()); err != nil {
		a.stop()
		t.Fatal(err)
	}
	t.Cleanup(a.stop)
	return a, &logs
}

func (a *app) testURL(path string) string { return "http://" + a.web.Addr().String() + path }

func (a *app) publishURL(key string) string {
	return "rtmp://" + a.rtmp.Addr().String() + "/live/" + key
}

func waitHTTP(t *testing.T, url string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return time.Since(start)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s not up after %v", url, timeout)
	return 0
}

// TestBrowserPlaysWatchPage publishes like OBS and plays /watch/main in
// Chromium with the embedded hls.js.
func TestBrowserPlaysWatchPage(t *testing.T) {
	node := testutil.RequireTool(t, "node")
	testutil.RequireTool(t, "chromium")
	if !assets.HLSBuilt() {
		if os.Getenv("CI") != "" {
			t.Fatal("hls.js is not embedded: run `make assets` (make test does)")
		}
		t.Skip("hls.js not built into this binary: run `make assets`")
	}
	root, _ := filepath.Abs("../..")
	if _, err := os.Stat(filepath.Join(root, "node_modules", "playwright-core")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node_modules/playwright-core missing: run `npm ci` (make test does)")
		}
		t.Skip("node_modules/playwright-core missing: run `npm ci`")
	}

	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	start := time.Now()
	pub := testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 60 * time.Second})
	first := waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)
	t.Logf("first playable playlist %v after the publisher started", first)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "web", "e2e", "play.mjs"), a.testURL("/watch/main"), "20", "8")
	cmd.Dir = root
	out, err := cmd.Output()
	var stderr string
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = string(ee.Stderr)
	}
	var res struct {
		Started       bool       `json:"started"`
		StartMs       *int       `json:"startMs"`
		FramesStart   int        `json:"framesStart"`
		FramesEnd     int        `json:"framesEnd"`
		FramesSeries  []int      `json:"framesSeries"`
		Latency       *float64   `json:"latency"`
		LatencySeries []*float64 `json:"latencySeries"`
		Errors        []string   `json:"errors"`
	}
	if jerr := json.Unmarshal(bytes.TrimSpace(lastLine(out)), &res); jerr != nil {
		t.Fatalf("play.mjs: %v %v\n%s\n%s\nserver:\n%s\npublisher:\n%s", err, jerr, out, stderr, logs, pub.Output())
	}
	if res.Latency != nil {
		t.Logf("hls.js latency %.3f s (series %s); started %v ms after the page opened, %v after publish start",
			*res.Latency, fmtSeries(res.LatencySeries), deref(res.StartMs), time.Since(start).Round(time.Millisecond))
	}
	if err != nil || !res.Started || res.FramesEnd <= res.FramesStart {
		t.Fatalf("playback did not progress: %v frames %v\n%s\nserver:\n%s\n%s", err, res.FramesSeries, stderr, logs, hlsMetrics(a))
	}
	for i := 1; i < len(res.FramesSeries); i++ {
		if res.FramesSeries[i] < res.FramesSeries[i-1] {
			t.Fatalf("decoded frames went back: %v", res.FramesSeries)
		}
	}
	if len(res.FramesSeries) > 4 && res.FramesSeries[len(res.FramesSeries)-1] == res.FramesSeries[len(res.FramesSeries)-5] {
		t.Fatalf("decoded frames stopped growing: %v", res.FramesSeries)
	}
	if len(res.Errors) > 0 {
		t.Logf("page errors: %v", res.Errors)
	}
}

func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}

func deref(p *int) any {
	if p == nil {
		return "?"
	}
	return *p
}

func fmtSeries(s []*float64) string {
	var parts []string
	for _, v := range s {
		if v == nil {
			parts = append(parts, "-")
			continue
		}
		parts = append(parts, strings.TrimRight(strings.TrimRight(jsonNum(*v), "0"), "."))
	}
	return strings.Join(parts, " ")
}

func jsonNum(v float64) string {
	b, _ := json.Marshal(float64(int(v*1000)) / 1000)
	return string(b)
}

// hlsMetrics returns the kast_hls lines of /metrics, for failure reports.
func hlsMetrics(a *app) string {
	res, err := http.Get(a.testURL("/metrics"))
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "kast_hls") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
