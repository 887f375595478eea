package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// startTLSApp runs kast with HTTPS and RTMPS from certificate files.
func startTLSApp(t *testing.T) (*app, *logBuffer, testutil.Cert) {
	t.Helper()
	cert := testutil.SelfSignedCert(t, "127.0.0.1", "localhost")
	a, logs := startApp(t, map[string]string{
		"KAST_STREAM_KEY":  testStreamKey,
		"KAST_TLS_CERT":    cert.CertFile,
		"KAST_TLS_KEY":     cert.KeyFile,
		"KAST_HTTPS_ADDR":  "127.0.0.1:0",
		"KAST_RTMPS_ADDR":  "127.0.0.1:0",
		"KAST_PUBLIC_HOST": "127.0.0.1",
	})
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
