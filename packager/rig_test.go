package packager_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/rtmp"
	"github.com/kastlive/kast/packager"
)

const testKey = "test-key"

// rig is RTMP ingest and the HLS packager on loopback ports.
type rig struct {
	hub  *ingest.Hub
	rtmp *rtmp.Server
	hls  *packager.Server
	http *httptest.Server
}

func newRig(t testing.TB, cfg packager.Config) *rig {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("KAST_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	r := &rig{hub: &ingest.Hub{}}
	r.hls = &packager.Server{Hub: r.hub, Config: cfg, Logger: logger}
	if err := r.hls.Initialize(); err != nil {
		t.Fatal(err)
	}
	r.rtmp = &rtmp.Server{
		Address: "127.0.0.1:0",
		Hub:     r.hub,
		Logger:  logger,
		Authorize: func(_ context.Context, key string) (string, error) {
			if key == testKey {
				return "main", nil
			}
			return "", ingest.ErrUnknownKey
		},
	}
	if err := r.rtmp.Initialize(); err != nil {
		t.Fatal(err)
	}
	r.http = httptest.NewServer(http.StripPrefix("/hls", r.hls))
	t.Cleanup(func() {
		r.http.Close()
		r.rtmp.Close()
		r.hls.Close()
	})
	return r
}

func (r *rig) publishURL() string { return "rtmp://" + r.rtmp.Addr().String() + "/live/" + testKey }

func (r *rig) url(name string) string { return r.http.URL + "/hls/main/" + name }

// get fetches a URL and returns status and body.
func get(t testing.TB, url string) (int, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, b
}

// waitPlaylist polls until the media playlist answers 200.
func (r *rig) waitPlaylist(t testing.TB, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if code, _ := get(t, r.url("index.m3u8")); code == 200 {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no playlist after %v", timeout)
	return 0
}
