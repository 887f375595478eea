package main

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// TestFFmpegReadsThroughFastPath plays the HLS output of the whole server
// with ffmpeg's own HTTP client (keep-alive, Range and Icy headers), which
// the fast path serves without handing anything to net/http.
func TestFFmpegReadsThroughFastPath(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 30 * time.Second})
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)
	time.Sleep(3 * time.Second) // ffmpeg's HLS reader starts three whole segments back

	testutil.DecodeFiveSeconds(t, a.testURL("/hls/main/index.m3u8"), logs.String)
	m := metricLines(a, "kast_http_")
	t.Logf("HTTP connections:\n%s", m)
	// waitHTTP's requests and ffmpeg's: all on the fast path.
	if n := metricValue(m, `kast_http_fastpath_requests_total{listener="http"}`); n < 10 {
		t.Errorf("%v requests on the fast path:\n%s", n, m)
	}
	// None goes to net/http (/metrics is served on its own listener).
	if n := metricValue(m, `kast_http_handoffs_total{listener="http"}`); n != 0 {
		t.Errorf("%v connections handed to net/http:\n%s", n, m)
	}
}

func metricValue(lines, name string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(lines)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestGohlslibClientThroughFastPath plays the whole server's LL-HLS with
// gohlslib's client, whose net/http Transport opens several connections.
func TestGohlslibClientThroughFastPath(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 20 * time.Second})
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)
	testutil.GohlslibReceivesParts(t, a.testURL("/hls/main/index.m3u8"))
	if n := metricValue(metricLines(a, "kast_http_"), `kast_http_fastpath_requests_total{listener="http"}`); n < 20 {
		t.Errorf("%v requests on the fast path", n)
	}
}
