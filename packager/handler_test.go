package packager

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fedServer returns a server whose track "b" has 3 s of the fixture.
func fedServer(t *testing.T) (*kastTarget, *httptest.Server) {
	t.Helper()
	k := newKastTarget(t, loadFixture(t))
	for range 3 * 30 * 3 {
		k.push()
	}
	ts := httptest.NewServer(k.srv)
	t.Cleanup(ts.Close)
	return k, ts
}

func do(t *testing.T, method, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func TestHTTPHeadersAndStatuses(t *testing.T) {
	k, ts := fedServer(t)
	snap := k.m.cur.Load()
	partURL := ts.URL + "/b/" + string(appendPartName(nil, snap.epoch, snap.nextPart-1))
	segURL := ts.URL + "/b/" + string(appendSegmentName(nil, snap.epoch, snap.segments[0].msn))
	initURL := ts.URL + "/b/" + string(appendInitName(nil, snap.epoch, 1))
	for _, tc := range []struct {
		method, url string
		status      int
		cache       string
	}{
		{"GET", ts.URL + "/b/index.m3u8", 200, cacheLive},
		{"GET", ts.URL + "/b/media.m3u8", 200, cacheLive},
		{"GET", ts.URL + "/b/media.m3u8?_HLS_skip=YES", 200, cacheLive},
		{"GET", fmt.Sprintf("%s/b/media.m3u8?_HLS_msn=%d&_HLS_part=0", ts.URL, snap.msn-1), 200, cacheBlocking},
		{"HEAD", partURL, 200, cacheImmutable},
		{"GET", partURL, 200, cacheImmutable},
		{"GET", segURL, 200, cacheImmutable},
		{"GET", initURL, 200, cacheImmutable},
		{"GET", ts.URL + "/b/media.m3u8?_HLS_part=1", 400, "no-cache"},
		{"GET", ts.URL + "/b/media.m3u8?_HLS_msn=x", 400, "no-cache"},
		{"GET", fmt.Sprintf("%s/b/media.m3u8?_HLS_msn=%d", ts.URL, snap.msn+3), 400, "no-cache"},
		{"GET", fmt.Sprintf("%s/b/media.m3u8?_HLS_msn=%d&_HLS_part=%d", ts.URL, snap.msn, snap.parts+3), 400, "no-cache"},
		{"GET", ts.URL + "/b/part-other-1.m4s", 404, "no-cache"},
		{"GET", ts.URL + "/b/seg-" + snap.epoch + "-99999.m4s", 404, "no-cache"},
		{"GET", ts.URL + "/b/nothing.txt", 404, "no-cache"},
		{"GET", ts.URL + "/other/index.m3u8", 404, "no-cache"},
		{"POST", ts.URL + "/b/media.m3u8", 405, "no-cache"},
	} {
		res := do(t, tc.method, tc.url)
		if res.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.url, res.StatusCode, tc.status)
			continue
		}
		if got := res.Header.Get("Cache-Control"); got != tc.cache {
			t.Errorf("%s %s: Cache-Control %q, want %q", tc.method, tc.url, got, tc.cache)
		}
		if res.Header.Get("Content-Length") == "" {
			t.Errorf("%s %s: no Content-Length", tc.method, tc.url)
		}
		if res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s %s: no CORS", tc.method, tc.url)
		}
	}
	if res := do(t, "OPTIONS", ts.URL+"/b/media.m3u8"); res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("OPTIONS: %d %v", res.StatusCode, res.Header)
	}
}

func TestBlockingRequestTimesOutAndHonoursCancel(t *testing.T) {
	k, ts := fedServer(t)
	snap := k.m.cur.Load()
	// Nothing is pushed: a request for the next part waits three target
	// durations (3 s here), then gets 503 with Retry-After.
	url := fmt.Sprintf("%s/b/media.m3u8?_HLS_msn=%d&_HLS_part=%d", ts.URL, snap.msn, snap.parts)
	start := time.Now()
	res := do(t, "GET", url)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("blocked request: %d %v", res.StatusCode, res.Header)
	}
	if d := time.Since(start); d < 2900*time.Millisecond || d > 4*time.Second {
		t.Fatalf("timed out after %v, want 3 s", d)
	}

	// A client that goes away stops waiting at once.
	req, _ := http.NewRequest("GET", url, nil)
	ctx, cancel := context.WithCancel(req.Context())
	go func() {
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	http.DefaultClient.Do(req.WithContext(ctx))
	deadline := time.Now().Add(time.Second)
	for k.srv.metrics.blocked.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still blocked after the client left", k.srv.metrics.blocked.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeltaPlaylistSkips(t *testing.T) {
	k := newKastTarget(t, loadFixture(t))
	for range 12 * 30 * 3 { // 12 s: more than CAN-SKIP-UNTIL (6 s)
		k.push()
	}
	snap := k.m.cur.Load()
	if snap.delta == nil {
		t.Fatal("no delta playlist after 12 s")
	}
	full, delta := string(snap.playlist), string(snap.delta)
	if !strings.Contains(delta, "#EXT-X-SKIP:SKIPPED-SEGMENTS=") || len(delta) >= len(full) {
		t.Fatalf("delta playlist does not skip:\n%s", delta)
	}
	if strings.Count(delta, "#EXTINF") >= strings.Count(full, "#EXTINF") || !strings.Contains(delta, "#EXT-X-MAP") {
		t.Fatalf("delta playlist:\n%s", delta)
	}
}

func TestHoldHintedPart(t *testing.T) {
	for _, hold := range []bool{false, true} {
		k := newKastTarget(t, loadFixture(t))
		k.srv.Config.HoldHintedPart = hold
		for range 3 * 30 * 3 {
			k.push()
		}
		ts := httptest.NewServer(k.srv)
		snap := k.m.cur.Load()
		url := ts.URL + "/b/" + string(appendPartName(nil, snap.epoch, snap.nextPart))
		got := make(chan *http.Response, 1)
		go func() {
			res, err := http.Get(url)
			if err != nil {
				t.Error(err)
			}
			got <- res
		}()
		// Wait until the request is being served (streaming or waiting),
		// however loaded the machine, before the part completes.
		for deadline := time.Now().Add(5 * time.Second); k.srv.Metrics().Stats().Blocked == 0; {
			if time.Now().After(deadline) {
				t.Fatal("the request for the hinted part never arrived")
			}
			time.Sleep(5 * time.Millisecond)
		}
		for k.m.cur.Load().nextPart == snap.nextPart {
			k.push()
		}
		res := <-got
		res.Body.Close()
		ts.Close()
		if res.StatusCode != 200 {
			t.Fatalf("hold=%v: %d", hold, res.StatusCode)
		}
		if streamed := res.ContentLength < 0; streamed == hold {
			t.Fatalf("hold=%v: Content-Length %d", hold, res.ContentLength)
		}
	}
}

// TestJoinHold: a player's first playlist request is answered when the
// segment being built has PART-HOLD-BACK worth of parts, so that the player
// starts in the segment's first (independent) part; reloads with
// _HLS_skip alone (gohlslib's client) and JoinAtOnce are answered at once.
func TestJoinHold(t *testing.T) {
	k := newKastTarget(t, loadFixture(t))
	for range 3 * 30 * 3 {
		k.push()
	}
	ts := httptest.NewServer(k.srv)
	t.Cleanup(ts.Close)
	get := func(url string) <-chan string {
		ch := make(chan string, 1)
		go func() {
			res, err := http.Get(url)
			if err != nil {
				ch <- "error: " + err.Error()
				return
			}
			defer res.Body.Close()
			var b strings.Builder
			io.Copy(&b, res.Body)
			ch <- b.String()
		}()
		return ch
	}

	// The request waits; feed the stream until it is answered.
	reply := get(ts.URL + "/b/media.m3u8")
	var pl string
	for i := 0; pl == ""; i++ {
		if i > 3*30*3 {
			t.Fatal("no answer after 3 s of media")
		}
		select {
		case pl = <-reply:
		case <-time.After(5 * time.Millisecond):
			k.push()
		}
	}
	lines := strings.Split(strings.TrimSpace(pl), "\n")
	var open []string // parts after the last complete segment
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "#EXTINF"):
			open = nil
		case strings.HasPrefix(l, "#EXT-X-PART:"):
			open = append(open, l)
		}
	}
	if len(open) != 3 || !strings.Contains(open[0], "INDEPENDENT=YES") {
		t.Fatalf("first playlist ends with %d parts of the open segment, want 3 from a keyframe (PART-HOLD-BACK 0.5 s):\n%s", len(open), pl)
	}
	if snap := k.m.cur.Load(); snap.parts != 3 {
		t.Fatalf("answered from an older snapshot: the open segment has %d parts now", snap.parts)
	}

	for _, q := range []string{"?_HLS_skip=YES"} {
		select {
		case pl = <-get(ts.URL + "/b/media.m3u8" + q):
		case <-time.After(time.Second):
			t.Fatalf("media.m3u8%s held", q)
		}
		if !strings.HasPrefix(pl, "#EXTM3U") {
			t.Fatalf("media.m3u8%s: %q", q, pl)
		}
	}
	k.srv.Config.JoinHold = JoinAtOnce
	select {
	case <-get(ts.URL + "/b/media.m3u8"):
	case <-time.After(time.Second):
		t.Fatal("held with JoinAtOnce")
	}
}
