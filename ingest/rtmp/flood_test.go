package rtmp

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

// publishDeadline is how soon after it connects a speaker's publisher
// must be on air, flood or not.
const publishDeadline = 2 * time.Second

// connectRelay notes when a publisher's connection arrives and carries it
// to the server: the time kast takes to put a publisher on air is then
// measured from the publisher's connection, wherever the publisher's own
// start-up (ffmpeg's, on a loaded machine, took up to 2 s) ends. The
// relay dials kast as the publisher would, into the same listen backlog
// as the flood, from the same address.
type connectRelay struct {
	ln      net.Listener
	target  string
	arrived chan time.Time
}

func newConnectRelay(t *testing.T, listen, target string) *connectRelay {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	r := &connectRelay{ln: ln, target: target, arrived: make(chan time.Time, 16)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.arrived <- time.Now()
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { io.Copy(up, c); up.Close() }()
				io.Copy(c, up)
			}()
		}
	}()
	return r
}

// timePublishes starts ffmpeg (publishing like OBS, through relay)
// attempts times, one after the other, and measures how long each took
// from its connection to the server accepting the publish. An attempt
// over publishDeadline fails the test.
func timePublishes(t *testing.T, s *Server, hub *ingest.Hub, logs *logBuffer, relay *connectRelay, attempts int) {
	t.Helper()
	url := "rtmp://" + relay.ln.Addr().String() + "/live/" + testKey
	for i := range attempts {
		before := hub.Stats().Units
		start := time.Now()
		p := testutil.StartPublish(t, testutil.Publish{URL: url, Size: "320x240", Duration: 20 * time.Second})
		var connected time.Time
		var onAir, firstFrame time.Duration
		for time.Since(start) < 15*time.Second && firstFrame == 0 {
			select {
			case connected = <-relay.arrived:
			default:
			}
			st := hub.Stats()
			if onAir == 0 && st.Publishers == 1 {
				onAir = time.Since(start)
			}
			if onAir != 0 && st.Units > before {
				firstFrame = time.Since(start)
			}
			time.Sleep(5 * time.Millisecond)
		}
		sinceConnect := time.Duration(-1)
		if !connected.IsZero() && onAir != 0 {
			sinceConnect = start.Add(onAir).Sub(connected)
		}
		t.Logf("attempt %d: on air %v after ffmpeg connected (kast: %s after accepting it; %v after ffmpeg started), first frame in the hub %v after ffmpeg started (server: %+v)",
			i+1, sinceConnect.Round(time.Millisecond), logs.last("since_connect"), onAir.Round(time.Millisecond), firstFrame.Round(time.Millisecond), s.Stats())
		if sinceConnect < 0 || sinceConnect > publishDeadline {
			t.Errorf("attempt %d: not on air within %v of connecting (%v); ffmpeg: %s", i+1, publishDeadline, sinceConnect, p.Output())
		}
		p.Stop()
		waitFor(t, "publisher gone", 10*time.Second, func() bool { return hub.Stats().Publishers == 0 })
		time.Sleep(time.Duration(200+100*i) * time.Millisecond) // meet the flood at another point of its round
	}
}

// logBuffer keeps a server's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// last returns the value of key in the last line that has it.
func (l *logBuffer) last(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := regexp.MustCompile(key+`=(\S+)`).FindAllStringSubmatch(l.b.String(), -1)
	if m == nil {
		return "?"
	}
	return m[len(m)-1][1]
}

// TestFloodDoesNotLockOutPublisher holds 405 idle connections from 45
// loopback addresses, all reopened every second (dials spread over it), against a server whose
// budget of unauthenticated connections (256, the whole limit kast used to
// have) they overflow, and whose per-source share (8) each address
// exceeds, while a real publisher connects again and again.
func TestFloodDoesNotLockOutPublisher(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	logs := &logBuffer{}
	s, hub := newTestServer(t, func(s *Server) {
		s.Logger = slog.New(slog.NewTextHandler(logs, nil))
		s.MaxUnauthenticated = 256
		s.HandshakeTimeout = 0 // the defaults
		s.ReadTimeout = 0
	})
	relay := newConnectRelay(t, "127.0.0.1:0", s.Addr().String())
	t.Log("before the flood:")
	timePublishes(t, s, hub, logs, relay, 1)
	var sources []netip.Addr
	for i := range 45 {
		sources = append(sources, netip.AddrFrom4([4]byte{127, 0, 3, byte(10 + i)}))
	}
	flood := testutil.StartFlood(t, testutil.Flood{Addr: s.Addr().String(), Sources: sources, PerSource: 9, Every: time.Second, Pace: true})
	waitFor(t, "the flood", 10*time.Second, func() bool { r, _, _ := flood.Counts(); return r >= 2 })

	t.Log("during the flood:")
	timePublishes(t, s, hub, logs, relay, 5)

	rounds, opened, failed := flood.Counts()
	st := s.Stats()
	t.Logf("flood: %d rounds, %d connections opened, %d dials failed (last: %v); server: %+v", rounds, opened, failed, flood.Err(), st)
	if st.Dropped[DropUnauthenticatedFull] == 0 || st.Dropped[DropSourceFull] == 0 {
		t.Fatalf("the flood never filled the budget or a source's share: %+v", st)
	}
	if opened+failed < rounds*len(sources)*9 || st.Accepted < uint64(opened)*9/10 {
		t.Fatalf("the flood tried %d connections in %d rounds, the server accepted %d", opened+failed, rounds, st.Accepted)
	}
}

// netnsChildEnv tells the test binary it runs inside the namespace
// TestFloodFromOneIPv6Prefix made.
const netnsChildEnv = "KAST_RTMP_NETNS_CHILD"

// The namespace's addresses: the server on one /64, the whole of another
// /64 local to the namespace (any of its 2^64 addresses can be bound).
var (
	netnsServerAddr = netip.MustParseAddr("fd6b:6173:7400:2::1")
	netnsFloodNet   = netip.MustParsePrefix("fd6b:6173:7400:1::/64")
)

// TestFloodFromOneIPv6Prefix floods from 1,000 addresses of one IPv6 /64
// (all reopened every 2 s, dials spread over it), inside a network namespace the test makes (the
// loopback, with the /64 routed locally): one attacker's share of a /64 is what an IPv4 address
// gets. A publisher on another prefix (ffmpeg) gets on air within 2 s
// every time, and so does one inside the flooded prefix (the hand-made
// publisher, reconnecting when it is dropped before its first byte).
// It needs root (CI runs as root); it re-runs itself inside the namespace.
func TestFloodFromOneIPv6Prefix(t *testing.T) {
	if os.Getenv(netnsChildEnv) != "" {
		floodFromOneIPv6Prefix(t)
		return
	}
	testutil.RequireTool(t, "ffmpeg")
	ns := testutil.NewNetNS(t,
		[]string{
			"-6 addr add " + netnsServerAddr.String() + "/128 dev lo nodad",
			"-6 route add local " + netnsFloodNet.String() + " dev lo",
		},
		[]string{"net.ipv6.ip_nonlocal_bind=1"})
	out, err := ns.RunTest(t, t.Name(), 3*time.Minute, netnsChildEnv+"=1")
	t.Logf("inside namespace %s:\n%s", ns.Name, out)
	if err != nil || !strings.Contains(out, "--- PASS: "+t.Name()) {
		t.Fatalf("the test inside the namespace failed (%v)", err)
	}
}

func floodFromOneIPv6Prefix(t *testing.T) {
	logs := &logBuffer{}
	s, hub := newTestServer(t, func(s *Server) {
		s.Logger = slog.New(slog.NewTextHandler(logs, nil))
		s.Address = net.JoinHostPort(netnsServerAddr.String(), "0")
		s.HandshakeTimeout = 0 // the defaults
		s.ReadTimeout = 0
	})
	relay := newConnectRelay(t, net.JoinHostPort(netnsServerAddr.String(), "0"), s.Addr().String())
	t.Log("before the flood:")
	timePublishes(t, s, hub, logs, relay, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	var sources []netip.Addr
	base := netnsFloodNet.Addr().As16()
	for range 1000 {
		a := base
		binary.BigEndian.PutUint64(a[8:], rng.Uint64())
		sources = append(sources, netip.AddrFrom16(a))
	}
	flood := testutil.StartFlood(t, testutil.Flood{Addr: s.Addr().String(), Sources: sources, Every: 2 * time.Second, Pace: true})
	waitFor(t, "the flood", 10*time.Second, func() bool { r, _, _ := flood.Counts(); return r >= 2 })

	// Sample how many unauthenticated connections the flood holds.
	var most atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if n := int64(s.Stats().Unauthenticated); n > most.Load() {
				most.Store(n)
			}
		}
	}()

	t.Log("during the flood:")
	timePublishes(t, s, hub, logs, relay, 5)

	// A speaker inside the flooded /64. Once its first bytes are in, the
	// idle flood loses its own connections instead; before that (the
	// moment between TCP's handshake and the client's first write) it can
	// be dropped like any idle connection of its /64, and it connects
	// again at once, as OBS does. All that must fit in 2 s.
	inside := netip.AddrFrom16(base).Next()
	for i := range 3 {
		start := time.Now()
		tries := 0
		var err error
		for time.Since(start) < publishDeadline {
			tries++
			p := &testutil.HandPublisher{LocalAddr: &net.TCPAddr{IP: inside.AsSlice()}}
			err = p.Publish("rtmp://" + s.Addr().String() + "/live/" + testKey)
			p.Close()
			if err == nil {
				break
			}
		}
		d := time.Since(start)
		t.Logf("hand-made publisher from %s, attempt %d: on air after %v, %d connection(s) (%v)", inside, i+1, d.Round(time.Millisecond), tries, err)
		if err != nil || d > publishDeadline {
			t.Errorf("publisher inside the flooded prefix: %v after %v and %d connections", err, d, tries)
		}
		waitFor(t, "publisher gone", 10*time.Second, func() bool { return hub.Stats().Publishers == 0 })
	}
	close(stop)
	<-sampled

	rounds, opened, failed := flood.Counts()
	st := s.Stats()
	t.Logf("flood: %d rounds, %d connections opened from %d addresses of %s, %d dials failed (last: %v); at most %d unauthenticated connections held; server: %+v",
		rounds, opened, len(sources), netnsFloodNet, failed, flood.Err(), most.Load(), st)
	// Dials fail when the server resets the connection before connect
	// returns: those are flood connections dropped too.
	if opened+failed < rounds*len(sources) || st.Accepted < uint64(opened)*9/10 {
		t.Fatalf("the flood tried %d connections in %d rounds, the server accepted %d", opened+failed, rounds, st.Accepted)
	}
	if m := most.Load(); m > int64(s.MaxUnauthenticatedPerSource)+2 {
		t.Fatalf("one /64 held %d unauthenticated connections, its share is %d", m, s.MaxUnauthenticatedPerSource)
	}
	if st.Dropped[DropSourceFull] < uint64(opened)/2 {
		t.Fatalf("the /64 was not limited as one source: %+v", st)
	}
}
