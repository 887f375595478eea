package fastpath

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// TestTLS: over TLS, HTTP/1.1 and HTTP/2 requests for the prefix are
// served on the fast path, other paths by the fallback, and every handler
// sees Request.TLS and the client's protocol.
func TestTLS(t *testing.T) {
	cert := testutil.SelfSignedCert(t, "127.0.0.1")
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := TLSListener(inner, &tls.Config{Certificates: []tls.Certificate{cert.TLS}, NextProtos: []string{"h2", "http/1.1"}})
	describe := func(who string, r *http.Request) string {
		return fmt.Sprintf("%s %s proto=%d tls=%v", who, r.URL.Path, r.ProtoMajor, r.TLS != nil)
	}
	s := &Server{Listener: ln, Prefix: "/hls/", ReadHeaderTimeout: time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body := describe("fast", r)
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			io.WriteString(w, body)
		})}
	s.Fallback = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Adopt(w, r) {
			return
		}
		io.WriteString(w, describe("fallback", r))
	})}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "https://" + inner.Addr().String()
	clients := map[string]*http.Client{
		"h1": {Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}}},
		"h2": {Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}, ForceAttemptHTTP2: true}},
	}
	for _, tc := range []struct{ client, path, want string }{
		{"h1", "/hls/a/b.m3u8", "fast /hls/a/b.m3u8 proto=1 tls=true"},
		{"h1", "/other", "fallback /other proto=1 tls=true"},
		{"h1", "/hls/a/c.m4s", "fast /hls/a/c.m4s proto=1 tls=true"}, // adopted back
		{"h2", "/hls/a/b.m3u8", "fast /hls/a/b.m3u8 proto=2 tls=true"},
		{"h2", "/other", "fallback /other proto=2 tls=true"},
	} {
		res, err := clients[tc.client].Get(base + tc.path)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.client, tc.path, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.client, tc.path, b, tc.want)
		}
	}
	// A big body goes out whole in full records.
	big := strings.Repeat("x", 100<<10)
	s.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		io.WriteString(w, big)
	})
	res, err := clients["h1"].Get(base + "/hls/big")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != big {
		t.Fatalf("big body: %d bytes", len(b))
	}
	// Between requests a TLS connection holds no read buffer of ours.
	tc, err := tls.Dial("tcp", inner.Addr().String(), &tls.Config{RootCAs: cert.Pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	for range 2 {
		io.WriteString(tc, "GET /hls/idle HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(tc), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	var held int
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		held = 0
		s.mu.Lock()
		for c := range s.conns {
			if c.tls && c.buf != nil && c.state.Load() == stateIdle {
				held++
			}
		}
		s.mu.Unlock()
		if held == 0 || time.Now().After(deadline) {
			break
		}
	}
	if held != 0 {
		t.Fatalf("%d idle TLS connections hold a read buffer", held)
	}

	// A handshake that never comes is cut by the header timeout.
	nc, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := nc.Read(make([]byte, 1)); err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("silent TLS client kept for %v (%v)", time.Since(start), err)
	}
}
