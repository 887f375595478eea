package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// TestShutdownReleasesEverything stops kast while a publisher streams and
// a blocking playlist request waits: both end at once, nothing hangs.
func TestShutdownReleasesEverything(t *testing.T) {
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	pub := testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Size: "320x240", Duration: 60 * time.Second})
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)

	res, err := http.Get(a.testURL("/hls/main/media.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	msn := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:") {
			fmt.Sscan(strings.TrimPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"), &msn)
		}
	}
	blocked := make(chan error, 1)
	go func() {
		// Two segments ahead: the request waits.
		r, err := http.Get(a.testURL(fmt.Sprintf("/hls/main/media.m3u8?_HLS_msn=%d", msn+strings.Count(string(b), "#EXTINF")+2)))
		if err == nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		blocked <- err
	}()
	time.Sleep(200 * time.Millisecond)

	start := time.Now()
	a.stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	select {
	case <-blocked:
	case <-time.After(2 * time.Second):
		t.Fatal("blocking request still waiting after shutdown")
	}
	select {
	case <-pub.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("publisher still connected after shutdown")
	}
	if !strings.Contains(logs.String(), "publish ended") {
		t.Fatalf("no publish end logged:\n%s", logs)
	}
}
