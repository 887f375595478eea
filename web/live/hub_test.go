package live

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kastlive/kast/conference"
)

type fakeEvents map[string]Event

func (f fakeEvents) LiveEvent(slug string) (Event, bool) { e, ok := f[slug]; return e, ok }

// fakeCounter holds settable counts per track.
type fakeCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *fakeCounter) set(track string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[track] = n
}

func (f *fakeCounter) ViewerCount(track string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[track]
}

var testEvents = fakeEvents{
	"devconf": {ID: 1, Slug: "devconf", Tracks: []string{"main", "side"}},
	"meetup":  {ID: 2, Slug: "meetup", Tracks: []string{"open"}},
}

type testHub struct {
	*Hub
	srv  *httptest.Server
	feed *conference.Feed
	hls  *fakeCounter
}

func newTestHub(t *testing.T, cfg Config) *testHub {
	t.Helper()
	th := &testHub{feed: &conference.Feed{}, hls: &fakeCounter{}}
	th.Hub = &Hub{Feed: th.feed, Events: testEvents, HLS: th.hls, Config: cfg}
	if err := th.Initialize(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/events/{event}/live", th.Hub)
	th.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		th.Close()
		th.srv.Close()
	})
	return th
}

func (th *testHub) url(event string) string {
	return "ws" + strings.TrimPrefix(th.srv.URL, "http") + "/api/v1/events/" + event + "/live"
}

func (th *testHub) dial(t *testing.T, event string, hdr http.Header) *websocket.Conn {
	t.Helper()
	c, res, err := websocket.DefaultDialer.Dial(th.url(event), hdr)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", event, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// message is every field of every message type.
type message struct {
	Type             string
	Event            string
	Track            string
	At               time.Time
	SwitchDelayMS    int64 `json:"switch_delay_ms"`
	MaxSwitchDelayMS int64 `json:"max_switch_delay_ms"`
	Talk             *struct {
		ID       int64
		Title    string
		Speakers []string
	}
	Tracks  []TrackCount
	Viewers []TrackCount
}

func read(t *testing.T, c *websocket.Conn, within time.Duration) message {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

func TestOnAirReachesViewersWithinOneSecond(t *testing.T) {
	th := newTestHub(t, Config{MaxSwitchDelay: 4 * time.Second})
	th.hls.set("main", 3)
	a := th.dial(t, "devconf", nil)
	b := th.dial(t, "devconf", nil)
	other := th.dial(t, "meetup", nil)
	for _, c := range []*websocket.Conn{a, b, other} {
		if m := read(t, c, time.Second); m.Type != "hello" || m.MaxSwitchDelayMS != 4000 {
			t.Fatalf("first message %+v", m)
		}
	}
	talk := &conference.Talk{ID: 7, Title: "Latency <b>budgets</b>", Speakers: []conference.Speaker{{Name: "Ada"}}}
	sent := time.Now()
	th.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: sent, EventID: 1, TrackID: 1, Track: "main", Talk: talk})
	for _, c := range []*websocket.Conn{a, b} {
		m := read(t, c, time.Second)
		if m.Type != "on_air" || m.Track != "main" || m.Event != "devconf" || m.Talk == nil || m.Talk.ID != 7 ||
			m.Talk.Title != talk.Title || len(m.Talk.Speakers) != 1 || !m.At.Equal(sent) {
			t.Fatalf("on_air message %+v", m)
		}
		if m.SwitchDelayMS < 0 || m.SwitchDelayMS >= 4000 {
			t.Fatalf("switch delay %d ms outside [0, 4000)", m.SwitchDelayMS)
		}
		t.Logf("on_air after %v, switch delay %d ms", time.Since(sent), m.SwitchDelayMS)
	}
	// Nothing on air any more; the other event hears nothing of devconf.
	th.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, EventID: 1, Track: "main"})
	if m := read(t, a, time.Second); m.Type != "on_air" || m.Talk != nil {
		t.Fatalf("off-air message %+v", m)
	}
	other.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, b, err := other.ReadMessage(); err == nil {
		t.Fatalf("meetup got %s", b)
	}
}

func TestSwitchDelaysSpread(t *testing.T) {
	th := newTestHub(t, Config{MaxSwitchDelay: 2 * time.Second, ConnectBurst: 100})
	var conns []*websocket.Conn
	for range 40 {
		c := th.dial(t, "devconf", nil)
		read(t, c, time.Second)
		conns = append(conns, c)
	}
	th.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, EventID: 1, Track: "main"})
	seen := map[int64]bool{}
	for _, c := range conns {
		m := read(t, c, time.Second)
		seen[m.SwitchDelayMS/250] = true
	}
	if len(seen) < 5 {
		t.Fatalf("40 viewers got delays in only %d of 8 quarter-second bins", len(seen))
	}
}

func TestViewerCountsPushedWhenChanged(t *testing.T) {
	th := newTestHub(t, Config{CountInterval: 50 * time.Millisecond})
	webrtc := &fakeCounter{}
	th.WebRTC = webrtc
	th.hls.set("main", 2)
	c := th.dial(t, "devconf", nil)
	if m := read(t, c, time.Second); m.Type != "hello" || len(m.Viewers) != 2 || m.Viewers[0] != (TrackCount{Track: "main", Viewers: 2, HLS: 2}) {
		t.Fatalf("hello %+v", m)
	}
	webrtc.set("side", 4)
	m := read(t, c, time.Second)
	if m.Type != "viewers" || len(m.Tracks) != 2 || m.Tracks[1] != (TrackCount{Track: "side", Viewers: 4, WebRTC: 4}) {
		t.Fatalf("viewers %+v", m)
	}
	// No change: nothing sent.
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, b, err := c.ReadMessage(); err == nil {
		t.Fatalf("unchanged counts pushed again: %s", b)
	}
}

func TestSlowClientIsDroppedOthersKeepUp(t *testing.T) {
	th := newTestHub(t, Config{SendQueue: 16, WriteTimeout: 500 * time.Millisecond})
	slow := th.dial(t, "meetup", nil) // never reads
	fast := th.dial(t, "devconf", nil)
	read(t, fast, time.Second)
	var got atomic.Int64
	go func() {
		for {
			if _, _, err := fast.ReadMessage(); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	big, _ := websocket.NewPreparedMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), 256<<10))
	small, _ := websocket.NewPreparedMessage(websocket.TextMessage, []byte(`{"type":"viewers"}`))
	start := time.Now()
	const n = 400 // 100 MB to the slow client: more than the socket buffers hold
	for range n {
		th.broadcast(2, func(*conn) *websocket.PreparedMessage { return big })
		th.broadcast(1, func(*conn) *websocket.PreparedMessage { return small })
		time.Sleep(time.Millisecond)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("broadcasting took %v: it waited for the slow client", d)
	}
	if s := th.Stats(); s.SlowDrops != 1 {
		t.Fatalf("slow drops %d, want 1", s.SlowDrops)
	}
	for deadline := time.Now().Add(30 * time.Second); got.Load() < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got.Load() != n {
		t.Fatalf("the reading client got %d of %d messages", got.Load(), n)
	}
	// The slow client finds its connection closed.
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := slow.ReadMessage(); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatal("the slow client's connection is still open")
			}
			break
		}
	}
}

func TestOriginChecked(t *testing.T) {
	th := newTestHub(t, Config{AllowedOrigins: []string{"https://app.example.org"}})
	host := strings.TrimPrefix(th.srv.URL, "http://")
	th.dial(t, "devconf", http.Header{"Origin": {"http://" + host}})
	th.dial(t, "devconf", http.Header{"Origin": {"https://app.example.org"}})
	th.dial(t, "devconf", nil) // not a browser
	for _, o := range []string{"https://evil.example", "null", "http://" + host + ".evil.example"} {
		_, res, err := websocket.DefaultDialer.Dial(th.url("devconf"), http.Header{"Origin": {o}})
		if err == nil || res == nil || res.StatusCode != 403 {
			t.Errorf("origin %s: %v, %v", o, err, res)
		}
	}
	if _, res, err := websocket.DefaultDialer.Dial(th.url("nope"), nil); err == nil || res.StatusCode != 404 {
		t.Errorf("unknown event: %v %v", err, res)
	}
}

func TestConnectionsPerSourceAndRate(t *testing.T) {
	th := newTestHub(t, Config{MaxPerSource: 2, ConnectBurst: 4, ConnectRate: 0.001})
	a := th.dial(t, "devconf", nil)
	th.dial(t, "devconf", nil)
	_, res, err := websocket.DefaultDialer.Dial(th.url("devconf"), nil)
	if err == nil || res.StatusCode != 429 {
		t.Fatalf("third connection from one address: %v %v", err, res)
	}
	a.Close()
	for deadline := time.Now().Add(2 * time.Second); th.Stats().Conns > 1 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	th.dial(t, "devconf", nil) // a slot is free again
	// The burst of 4 connection attempts is spent.
	_, res, err = websocket.DefaultDialer.Dial(th.url("devconf"), nil)
	if err == nil || res.StatusCode != 429 {
		t.Fatalf("fifth attempt: %v %v", err, res)
	}
	s := th.Stats()
	if s.Refused["per_source"] != 1 || s.Refused["rate"] != 1 {
		t.Fatalf("refusals %v", s.Refused)
	}
}

func TestClientMessageLimits(t *testing.T) {
	th := newTestHub(t, Config{MaxMessageBytes: 128, MessageBurst: 3, MessageRate: 0.001})
	big := th.dial(t, "devconf", nil)
	read(t, big, time.Second)
	big.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("a"), 1000))
	if code := closeCode(big); code != websocket.CloseMessageTooBig {
		t.Errorf("oversized message: close code %d, want 1009", code)
	}
	chatty := th.dial(t, "devconf", nil)
	read(t, chatty, time.Second)
	for range 5 {
		chatty.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`))
	}
	if code := closeCode(chatty); code != websocket.ClosePolicyViolation {
		t.Errorf("message flood: close code %d, want 1008", code)
	}
}

func closeCode(c *websocket.Conn) int {
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		if err != nil {
			return -1
		}
	}
}

func TestPingsKeepAliveSilentClientsClosed(t *testing.T) {
	th := newTestHub(t, Config{PingInterval: 50 * time.Millisecond, PongWait: 300 * time.Millisecond})
	var pings atomic.Int64
	alive := th.dial(t, "devconf", nil)
	alive.SetPingHandler(func(data string) error {
		pings.Add(1)
		return alive.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := alive.ReadMessage(); err != nil {
				return
			}
		}
	}()
	// A client that never reads never answers the pings.
	silent := th.dial(t, "devconf", nil)
	time.Sleep(time.Second)
	if th.Stats().Conns != 1 {
		t.Fatalf("%d connections, want only the one answering pings", th.Stats().Conns)
	}
	if pings.Load() < 5 {
		t.Fatalf("%d pings in 1 s at a 50 ms interval", pings.Load())
	}
	silent.SetReadDeadline(time.Now().Add(time.Second))
	for {
		if _, _, err := silent.ReadMessage(); err != nil {
			break
		}
	}
}

func TestSourceOf(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.7:5000", "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:5000", "192.0.2.7/32"},
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:1", "fe80::/64"},
	} {
		if got := sourceOf(c.addr); got != netip.MustParsePrefix(c.want) {
			t.Errorf("sourceOf(%s) = %v, want %s", c.addr, got, c.want)
		}
	}
}
