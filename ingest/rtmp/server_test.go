package rtmp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

const (
	testKey  = "0123456789abcdef"
	testKey2 = "fedcba9876543210"
)

func newTestServer(t *testing.T, opts ...func(*Server)) (*Server, *ingest.Hub) {
	t.Helper()
	hub := &ingest.Hub{}
	s := &Server{
		Address:          "127.0.0.1:0",
		Hub:              hub,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		HandshakeTimeout: 2 * time.Second,
		ReadTimeout:      3 * time.Second,
		Authorize: func(_ context.Context, key string) (string, error) {
			switch key {
			case testKey:
				return "main", nil
			case testKey2:
				return "second", nil
			}
			return "", ingest.ErrUnknownKey
		},
	}
	for _, o := range opts {
		o(s)
	}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, hub
}

// newTestServerTLS starts an RTMPS server.
func newTestServerTLS(t *testing.T, tlsConfig *tls.Config) (*Server, *ingest.Hub) {
	t.Helper()
	return newTestServer(t, func(s *Server) { s.TLSConfig = tlsConfig })
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
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
	if n := s.Stats().Refused[RefuseUnknownKey]; n != 1 {
		t.Fatalf("%d refused for an unknown key", n)
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
	if st := s.Stats(); st.Refused[RefuseTrackBusy] != 1 || st.Publishing != 1 {
		t.Fatalf("stats %+v", st)
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
		c.SetReadDeadline(time.Now().Add(7 * time.Second))
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

// dialFrom opens an idle connection from a local address.
func dialFrom(t *testing.T, addr string, from netip.Addr) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from.AsSlice()}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c (within d).
func closedByServer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 4096))
	for err == nil {
		_, err = c.Read(make([]byte, 4096))
	}
	return !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// c0c1 is the first part of a client handshake.
func c0c1() []byte { return append([]byte{3}, make([]byte, 1536)...) }

// TestSourceShareDropsItsOwnOldest: a source over its share of
// unauthenticated connections loses its oldest one, and the new one is
// taken.
func TestSourceShareDropsItsOwnOldest(t *testing.T) {
	s, _ := newTestServer(t, func(s *Server) { s.MaxUnauthenticatedPerSource = 4 })
	lo := netip.MustParseAddr("127.0.0.1")
	var conns []net.Conn
	for range 4 {
		conns = append(conns, dialFrom(t, s.Addr().String(), lo))
	}
	waitFor(t, "connections admitted", 2*time.Second, func() bool { return s.Stats().Unauthenticated == 4 })
	// Another address is another source.
	other := dialFrom(t, s.Addr().String(), netip.MustParseAddr("127.0.0.2"))
	waitFor(t, "other source admitted", 2*time.Second, func() bool { return s.Stats().Unauthenticated == 5 })
	newest := dialFrom(t, s.Addr().String(), lo)
	if !closedByServer(conns[0], time.Second) {
		t.Fatal("the oldest connection of the source is still open")
	}
	for _, c := range append(conns[1:], other, newest) {
		if closedByServer(c, 100*time.Millisecond) {
			t.Fatal("a connection other than the oldest was dropped")
		}
	}
	if st := s.Stats(); st.Dropped[DropSourceFull] != 1 || st.Unauthenticated != 5 {
		t.Fatalf("stats %+v", st)
	}
}

// TestBudgetDropsLeastProgress: with the budget full, a new connection
// is taken and an idle one is dropped, not one that has begun the
// handshake even if it is older.
func TestBudgetDropsLeastProgress(t *testing.T) {
	s, _ := newTestServer(t, func(s *Server) { s.MaxUnauthenticated = 4 })
	addr := s.Addr().String()
	busy := dialFrom(t, addr, netip.MustParseAddr("127.0.0.1"))
	busy.Write(c0c1())
	waitFor(t, "handshake begun", 2*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.adm.stages[stageHandshake].head != nil
	})
	var idle []net.Conn
	for i := range 3 {
		idle = append(idle, dialFrom(t, addr, netip.AddrFrom4([4]byte{127, 0, 1, byte(i + 1)})))
	}
	waitFor(t, "budget full", 2*time.Second, func() bool { return s.Stats().Unauthenticated == 4 })
	newest := dialFrom(t, addr, netip.MustParseAddr("127.0.2.1"))
	if !closedByServer(idle[0], time.Second) {
		t.Fatal("the oldest idle connection is still open")
	}
	for _, c := range []net.Conn{idle[1], idle[2], newest} {
		if closedByServer(c, 100*time.Millisecond) {
			t.Fatal("another idle connection was dropped")
		}
	}
	if st := s.Stats(); st.Dropped[DropUnauthenticatedFull] != 1 || st.Unauthenticated != 4 {
		t.Fatalf("stats %+v", st)
	}
	// busy still has its S0+S1+S2 to read and is open.
	if closedByServer(busy, 100*time.Millisecond) {
		t.Fatal("the connection that had begun the handshake was dropped")
	}
}

func TestDeadlines(t *testing.T) {
	s, _ := newTestServer(t, func(s *Server) {
		s.HandshakeTimeout = 300 * time.Millisecond
		s.PublishTimeout = 900 * time.Millisecond
	})
	idle := dialFrom(t, s.Addr().String(), netip.MustParseAddr("127.0.0.1"))
	half := dialFrom(t, s.Addr().String(), netip.MustParseAddr("127.0.0.1"))
	start := time.Now()
	half.Write(c0c1())
	// Bounds are loose (a loaded machine is slow to run a goroutine); the
	// order tells the two deadlines apart.
	if !closedByServer(idle, 3*time.Second) {
		t.Fatal("idle connection not closed")
	}
	idleAfter := time.Since(start)
	if !closedByServer(half, 5*time.Second) {
		t.Fatal("connection that sent C0+C1 only not closed")
	}
	halfAfter := time.Since(start)
	t.Logf("idle closed after %v, C0+C1-only after %v", idleAfter, halfAfter)
	if idleAfter < 250*time.Millisecond || halfAfter < 850*time.Millisecond || halfAfter < idleAfter+400*time.Millisecond {
		t.Fatalf("idle closed after %v (handshake timeout 300 ms), C0+C1-only after %v (publish timeout 900 ms)", idleAfter, halfAfter)
	}
	waitFor(t, "stats", time.Second, func() bool { return s.Stats().Dropped[DropTimeout] == 2 })
}

func TestSourceOf(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7:1935", "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:1935", "192.0.2.7/32"},
		{"[2001:db8:1:2:3:4:5:6]:1935", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:40000", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:1935", "fe80::/64"},
	} {
		a, err := net.ResolveTCPAddr("tcp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := sourceOf(a).String(); got != tc.want {
			t.Errorf("sourceOf(%s) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

// TestPublishersCountedApart: authorized publishers do not use the
// unauthenticated budget and are never dropped for room; MaxPublishers
// refuses the one too many with a reason.
func TestPublishersCountedApart(t *testing.T) {
	s, hub := newTestServer(t, func(s *Server) {
		s.MaxUnauthenticated = 2
		s.MaxPublishers = 1
	})
	base := "rtmp://" + s.Addr().String() + "/live/"
	p := &testutil.HandPublisher{}
	if err := p.Publish(base + testKey); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for range 10 {
		dialFrom(t, s.Addr().String(), netip.MustParseAddr("127.0.0.1"))
	}
	waitFor(t, "flood admitted", 2*time.Second, func() bool {
		return s.Stats().Dropped[DropSourceFull] > 0 || s.Stats().Dropped[DropUnauthenticatedFull] >= 8
	})
	if err := p.WriteVideo(0, avcSequenceHeader()); err != nil {
		t.Fatalf("publisher dropped: %v", err)
	}
	if err := p.WriteVideo(0, avcFrame(true, 0, []byte{0x65, 1, 2})); err != nil {
		t.Fatalf("publisher dropped: %v", err)
	}
	waitFor(t, "frame", 2*time.Second, func() bool { return hub.Stats().Units == 1 })

	second := &testutil.HandPublisher{}
	err := second.Publish(base + testKey2)
	second.Close()
	if err == nil || !strings.Contains(err.Error(), "too many publishers") {
		t.Fatalf("second publisher over MaxPublishers: %v", err)
	}
	if st := s.Stats(); st.Publishing != 1 || st.Refused[RefusePublishersFull] != 1 {
		t.Fatalf("stats %+v", st)
	}
}
