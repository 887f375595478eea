package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// With KAST_RENDITIONS, kast lists a rendition of the live track beside
// the source and serves it.
func TestRenditionsWired(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_RENDITIONS": "240p:250k"})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 30 * time.Second,
		Size: "640x360", Bitrate: "800k"})
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 20*time.Second)
	var body []byte
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(a.testURL("/hls/main/index.m3u8"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if bytes.Contains(body, []byte("240p/media.m3u8")) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !bytes.Contains(body, []byte("RESOLUTION=426x240")) || !bytes.Contains(body, []byte("240p/media.m3u8")) {
		t.Fatalf("multivariant playlist without the rendition:\n%s", body)
	}
	waitHTTP(t, a.testURL("/hls/main/240p/media.m3u8"), 5*time.Second)
}

func TestRenditionsConfig(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"KAST_RENDITIONS": "480"}, "-renditions"},
		{map[string]string{"KAST_RENDITIONS": "480p", "KAST_RENDITIONS_PRESET": "placebo"}, "-renditions-preset"},
	} {
		_, err := parseConfig(nil, func(k string) string { return tc.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.env, err, tc.want)
		}
	}
	cfg, err := parseConfig([]string{"-renditions", "480p,360p:600k"}, func(string) string { return "" }, io.Discard)
	if err != nil || len(cfg.rungs) != 2 || cfg.rungs[1].Bitrate != 600_000 {
		t.Fatalf("%+v, %v", cfg, err)
	}
}
