package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

const testStreamKey = "test-stream-key-0123456789"

// startApp runs kast in-process on loopback ports with a fresh data dir.
func startApp(t *testing.T, env map[string]string) (*app, *logBuffer) {
	t.Helper()
	env["KAST_DATA_DIR"] = t.TempDir()
	return startAppEnv(t, env)
}

// startAppIn runs kast on an existing data dir.
func startAppIn(t *testing.T, dir string) (*app, *logBuffer) {
	t.Helper()
	return startAppEnv(t, map[string]string{"KAST_DATA_DIR": dir})
}

func startAppEnv(t *testing.T, env map[string]string) (*app, *logBuffer) {
	t.Helper()
	for k, v := range map[string]string{"KAST_HTTP_ADDR": "127.0.0.1:0", "KAST_RTMP_ADDR": "127.0.0.1:0", "KAST_WEBRTC_UDP_ADDR": "127.0.0.1:0"} {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	if _, ok := env["KAST_METRICS_ADDR"]; !ok {
		env["KAST_METRICS_ADDR"] = "127.0.0.1:0"
	}
	cfg, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	a := &app{cfg: cfg, log: newLogger(cfg, logs)}
	if os.Getenv("KAST_TEST_LOG") != "" {
		a.log = newLogger(cfg, os.Stderr)
	}
	if err := a.start(context.Background()); err != nil {
		a.stop()
		t.Fatal(err)
	}
	t.Cleanup(a.stop)
	return a, logs
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
	testutil.RequireBrowser(t)
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	start := time.Now()
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 60 * time.Second})
	first := waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)
	t.Logf("first playable playlist %v after the publisher started", first)

	// Frames are sampled every 250 ms for 10 s; they must keep growing for
	// 5 s in a row (a hiccup of the shared machine while Chromium starts
	// is tolerated, a player that stops is not).
	res, code := testutil.Play(t, a.testURL("/watch/main?playback=hls"), "20", "10")
	if res.Latency != nil {
		t.Logf("hls.js latency %.3f s (series %s); started %v ms after the page opened, %v after publish start",
			*res.Latency, fmtSeries(res.LatencySeries), deref(res.StartMs), time.Since(start).Round(time.Millisecond))
	}
	if run := longestGrowth(res.FramesSeries); !res.Started || run < 20 {
		t.Fatalf("playback did not progress for 5 s: exit %d, longest growth %d samples, frames %v, errors %v\nserver:\n%s\n%s",
			code, run, res.FramesSeries, res.Errors, logs, hlsMetrics(a))
	}
	if code != 0 {
		t.Logf("play.mjs saw a pause in playback (exit %d): frames %v", code, res.FramesSeries)
	}
	if len(res.Errors) > 0 {
		t.Logf("page errors: %v", res.Errors)
	}
	// Chromium's HLS requests went over the fast path (web/fastpath),
	// whether their connection had carried the page first or not.
	m := metricLines(a, "kast_http_")
	t.Logf("HTTP connections:\n%s", m)
	if !regexp.MustCompile(`kast_http_fastpath_requests_total{listener="http"} [1-9]`).MatchString(m) {
		t.Fatalf("no request on the fast path:\n%s", m)
	}
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
func hlsMetrics(a *app) string { return metricLines(a, "kast_hls") }

// metricLines returns the lines of /metrics that start with prefix.
func metricLines(a *app, prefix string) string {
	res, err := http.Get("http://" + a.web.MetricsAddr().String() + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// longestGrowth returns the longest run of samples each greater than the
// one before.
func longestGrowth(s []int) int {
	best, run := 0, 0
	for i := 1; i < len(s); i++ {
		if s[i] > s[i-1] {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// logBuffer collects a running kast's log; tests read it while kast writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
