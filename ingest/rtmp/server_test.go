package rtmp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

const testKey = "0123456789abcdef"

func newTestServer(t *testing.T) (*Server, *ingest.Hub) {
	t.Helper()
	return newTestServerTLS(t, nil)
}

// newTestServerTLS starts an RTMP server, RTMPS when tlsConfig is set.
func newTestServerTLS(t *testing.T, tlsConfig *tls.Config) (*Server, *ingest.Hub) {
	t.Helper()
	hub := &ingest.Hub{}
	s := &Server{
		Address:          "127.0.0.1:0",
		TLSConfig:        tlsConfig,
		Hub:              hub,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		HandshakeTimeout: 2 * time.Second,
		ReadTimeout:      3 * time.Second,
		Authorize: func(_ context.Context, key string) (string, error) {
			if key == testKey {
				return "main", nil
			}
			return "", ingest.ErrUnknownKey
		},
	}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, hub
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUnknownKeyRefused(t *testing.T) {
	s, hub := newTestServer(t)
	out, err := testutil.Run(t, 20*time.Second, "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "3",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "flv",
		"rtmp://"+s.Addr().String()+"/live/wrong-key")
	if err == nil {
		t.Fatalf("ffmpeg published with a wrong key:\n%s", out)
	}
	if !strings.Contains(out, "unknown stream key") {
		t.Errorf("ffmpeg did not show the reason:\n%s", out)
	}
	if hub.Stats().Units != 0 {
		t.Fatal("media from a refused publisher reached the hub")
	}
}

func TestSecondPublisherRefused(t *testing.T) {
	s, hub := newTestServer(t)
	url := "rtmp://" + s.Addr().String() + "/live/" + testKey
	p1 := testutil.StartPublish(t, testutil.Publish{URL: url, Size: "320x240", Duration: 10 * time.Second})
	waitFor(t, "first publisher", 10*time.Second, func() bool { return hub.Stats().Units > 0 })
	out, err := testutil.Run(t, 20*time.Second, testutil.Publish{URL: url, Size: "320x240", Duration: 2 * time.Second}.Args()...)
	if err == nil {
		t.Fatalf("second publisher accepted:\n%s", out)
	}
	if !strings.Contains(out, "already publishing") {
		t.Errorf("second publisher not told why:\n%s", out)
	}
	select {
	case <-p1.Done():
		t.Fatalf("first publisher was cut off: %s", p1.Output())
	default:
	}
}

// TestGarbageClosesOnlyThatConnection sends random bytes and a half-done
// handshake while a real publisher streams.
func TestGarbageClosesOnlyThatConnection(t *testing.T) {
	s, hub := newTestServer(t)
	url := "rtmp://" + s.Addr().String() + "/live/" + testKey
	p := testutil.StartPublish(t, testutil.Publish{URL: url, Size: "320x240", Duration: 10 * time.Second})
	waitFor(t, "publisher", 10*time.Second, func() bool { return hub.Stats().Units > 0 })

	garbage := make([]byte, 64<<10)
	rand.Read(garbage)
	for _, payload := range [][]byte{
		garbage,
		append([]byte{3}, garbage[:1536]...), // valid C0, random C1, then silence
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	} {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write(payload)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("connection sending %q... not closed after %v", payload[:4], time.Since(start))
		}
		c.Close()
	}
	before := hub.Stats().Units
	time.Sleep(500 * time.Millisecond)
	if hub.Stats().Units <= before || hub.Stats().Publishers != 1 {
		t.Fatalf("the real publisher stopped: %+v\n%s", hub.Stats(), p.Output())
	}
}

func TestConnectionsPerAddressLimited(t *testing.T) {
	s, _ := newTestServer(t)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range s.MaxConnsPerIP {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitFor(t, "connections registered", 2*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.perIP["127.0.0.1"] == s.MaxConnsPerIP
	})
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("connection over the per-address limit not closed: %v", err)
	}
	conns[0].Close()
	waitFor(t, "slot released", 2*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.perIP["127.0.0.1"] == s.MaxConnsPerIP-1
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
