package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// startTLSApp runs kast with HTTPS and RTMPS from certificate files.
func startTLSApp(t *testing.T) (*app, *logBuffer, testutil.Cert) {
	return startTLSAppEnv(t, nil)
}

// startTLSAppEnv is startTLSApp with more environment.
func startTLSAppEnv(t *testing.T, env map[string]string) (*app, *logBuffer, testutil.Cert) {
	t.Helper()
	cert := testutil.SelfSignedCert(t, "127.0.0.1", "localhost")
	e := map[string]string{
		"KAST_STREAM_KEY":  testStreamKey,
		"KAST_TLS_CERT":    cert.CertFile,
		"KAST_TLS_KEY":     cert.KeyFile,
		"KAST_HTTPS_ADDR":  "127.0.0.1:0",
		"KAST_RTMPS_ADDR":  "127.0.0.1:0",
		"KAST_PUBLIC_HOST": "127.0.0.1",
	}
	for k, v := range env {
		e[k] = v
	}
	a, logs := startApp(t, e)
	return a, logs, cert
}

func (a *app) testHTTPSURL(path string) string { return "https://" + a.web.TLSAddr().String() + path }

// TestHTTPS: with certificate files kast serves HTTPS with HTTP/2 and
// HSTS, redirects cleartext requests, and takes RTMPS; ffmpeg publishes
// over RTMPS and reads the HLS over HTTPS; Chromium plays the watch page
// over HTTP/2.
func TestHTTPS(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, logs, cert := startTLSApp(t)
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Get(a.testURL("/watch/main?x=1"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := a.testHTTPSURL("/watch/main?x=1"); res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != want {
		t.Fatalf("cleartext: %d Location %q, want 308 %s", res.StatusCode, res.Header.Get("Location"), want)
	}
	if res, err := client.Get(a.testURL("/healthz")); err != nil || res.StatusCode != 200 {
		t.Fatalf("cleartext /healthz: %v %v", res, err)
	}
	res, err = client.Get(a.testHTTPSURL("/watch/main"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || res.Header.Get("Strict-Transport-Security") != "max-age=86400" {
		t.Fatalf("HTTPS page: HTTP/%d, HSTS %q (a day with -tls-cert)", res.ProtoMajor, res.Header.Get("Strict-Transport-Security"))
	}
	// The redirect goes to the configured name, whatever Host a client sends.
	req, _ := http.NewRequest("GET", a.testURL("/x"), nil)
	req.Host = "evil.example"
	if res, err := client.Do(req); err != nil || !strings.HasPrefix(res.Header.Get("Location"), "https://127.0.0.1:") {
		t.Fatalf("redirect for Host evil.example: %v %v", res.Header.Get("Location"), err)
	}
	// Login cookies are Secure over HTTPS.
	res, err = client.Post(a.testHTTPSURL("/api/v1/events/meetup/registrations"), "application/json",
		strings.NewReader(`{"name":"Ada","email":"ada@example.org","password":"analytical engine","participation":"online","consent_terms":true}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if c := res.Header.Get("Set-Cookie"); res.StatusCode != 201 || !strings.Contains(c, "; Secure") {
		t.Fatalf("registration over HTTPS: %d, Set-Cookie %q", res.StatusCode, c)
	}

	rtmps := "rtmps://" + a.rtmps.Addr().String() + "/live/" + testStreamKey
	testutil.StartPublish(t, testutil.Publish{URL: rtmps, Duration: 40 * time.Second})
	waitHTTPS(t, client, a.testHTTPSURL("/hls/main/index.m3u8"), 15*time.Second)
	time.Sleep(3 * time.Second) // ffmpeg's HLS reader starts three segments back
	testutil.DecodeFiveSeconds(t, a.testHTTPSURL("/hls/main/index.m3u8"), logs.String)

	if os.Getenv("CI") == "" {
		if _, err := os.Stat("/usr/bin/chromium"); err != nil {
			t.Skip("chromium not installed")
		}
	}
	testutil.RequireBrowser(t)
	t.Setenv("KAST_E2E_TLS_ANY", "1")
	play, code := testutil.Play(t, a.testHTTPSURL("/watch/main?playback=hls"), "20", "10")
	t.Logf("latency series %s, frames %v", fmtSeries(play.LatencySeries), play.FramesSeries)
	if !play.Started || longestGrowth(play.FramesSeries) < 20 {
		t.Fatalf("Chromium did not play over HTTPS: exit %d, frames %v, errors %v", code, play.FramesSeries, play.Errors)
	}
	if len(play.Protocols) != 1 || play.Protocols[0] != "h2" {
		t.Fatalf("Chromium's requests went over %v, want only h2", play.Protocols)
	}
	// Its HLS requests went through the fast path's HTTP/2 frame loop, none
	// was handed to net/http.
	h2 := metric(a, `kast_http_fastpath_http2_requests_total{listener="https"}`)
	handoffs := metric(a, `kast_http_handoffs_total{listener="https"}`)
	if h2 < 100 || handoffs != 0 {
		t.Fatalf("HTTP/2 fast-path requests %v, handoffs to net/http %v; want the playback on the frame loop", h2, handoffs)
	}
	t.Logf("Chromium over HTTPS: protocols %v, %v HLS requests on the HTTP/2 frame loop", play.Protocols, h2)
}

func waitHTTPS(t *testing.T, c *http.Client, url string, timeout time.Duration) {
	t.Helper()
	for start := time.Now(); time.Since(start) < timeout; time.Sleep(20 * time.Millisecond) {
		if res, err := c.Get(url); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s not up after %v", url, timeout)
}

// TestHTTPSDefaultPlayers: hls.js, Shaka Player and video.js with their
// default configurations, on a page of another origin (as on an
// organizer's site), play kast's LL-HLS over HTTPS, each joining a stream
// at its first playlist. Chromium speaks HTTP/2 to kast, so each player's
// requests (blocking playlist reloads, parts, CORS) go through the fast
// path's frame loop. hls.js and Shaka must not stall or freeze after their
// first frame; video.js must play (its start-up freeze is VHS's: see
// packager's TestDefaultPlayers).
func TestHTTPSDefaultPlayers(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	testutil.RequirePlayers(t)
	pp := testutil.PlayerPages(t)
	pages := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		pp.ServeHTTP(w, r)
	}))
	t.Cleanup(pages.Close)
	t.Setenv("KAST_E2E_TLS_ANY", "1")
	for _, player := range []string{"hlsjs", "shaka", "videojs"} {
		t.Run(player, func(t *testing.T) {
			var env map[string]string
			if os.Getenv("KAST_TEST_NET_HTTP2") != "" { // to compare with net/http's
				env = map[string]string{"KAST_HTTPS_NET_HTTP2": "true"}
			}
			a, _, _ := startTLSAppEnv(t, env)
			testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: time.Minute,
				Size: "640x360", Bitrate: "1000k", Extra: testutil.ClockBarArgs()})
			src := url.QueryEscape(a.testHTTPSURL("/hls/main/index.m3u8"))
			res, code := testutil.PlayPlayer(t, pages.URL+"/players/"+player+".html?wait=1&src="+src, 0, 30, 12)
			h2 := metric(a, `kast_http_fastpath_http2_requests_total{listener="https"}`)
			t.Logf("%s: first frame after %v ms, frames %d -> %d, %d stalls after it, longest gap %v ms, %v requests on the frame loop",
				player, deref(res.StartMs), res.FramesStart, res.FramesEnd, res.Stalls, deref(res.MaxFrameGapMs), h2)
			if !res.Started || res.FramesEnd <= res.FramesStart {
				t.Fatalf("did not play: exit %d, errors %v", code, res.Errors)
			}
			if player != "videojs" && (res.Stalls > 0 || code != 0) {
				t.Errorf("stalled or froze after the first frame: exit %d, errors %v", code, res.Errors)
			}
			if h2 < 20 && env == nil {
				t.Errorf("%v requests on the HTTP/2 frame loop", h2)
			}
		})
	}
}
