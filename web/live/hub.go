package live

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kastlive/kast/conference"
)

// Event is an event as the live channel needs it.
type Event struct {
	ID     int64
	Slug   string
	Tracks []string
}

// Events finds events in memory (web/gate's Directory): looked up once
// per connection and once per count interval per event with viewers.
type Events interface {
	LiveEvent(slug string) (Event, bool)
}

// Counter gives a track's viewers of one protocol: the packager's HLS
// count, the relay's WebRTC sessions.
type Counter interface {
	ViewerCount(track string) int
}

// variants is how many on-air messages, each with its own suggested
// switch delay, a change is marshalled into; each connection gets one,
// picked at random when it connects, so the delays are spread evenly.
const variants = 16

// Hub is the live channel: it serves the websocket endpoint and fans out
// the changes on Feed and the viewer counts to the connections of each
// event.
type Hub struct {
	Feed   *conference.Feed
	Events Events
	HLS    Counter // optional
	WebRTC Counter // optional
	Config Config
	Logger *slog.Logger

	upgrader websocket.Upgrader
	allowAll bool
	allowed  map[string]bool

	mu      sync.Mutex
	rooms   map[int64]*room
	conns   int
	sources map[netip.Prefix]*source
	closed  bool

	stop chan struct{}
	wg   sync.WaitGroup

	stats struct {
		accepted, sent, slowDrops, clientDrops atomic.Uint64
		refused                                [numRefusals]atomic.Uint64
	}
}

// room is the connections of one event.
type room struct {
	ev    Event
	conns map[*conn]struct{}
	last  []TrackCount // counts last pushed
}

// source is what is known about one source address range.
type source struct {
	conns   int
	connect bucket
}

// Why connections are refused, for Stats.
const (
	refusedOrigin = iota
	refusedEvent
	refusedSource
	refusedRate
	refusedFull
	refusedUpgrade
	numRefusals
)

var refusalNames = [numRefusals]string{"origin", "unknown_event", "per_source", "rate", "full", "handshake"}

// Initialize starts following Feed and the counts.
func (h *Hub) Initialize() error {
	if h.Events == nil {
		return errors.New("live: Events is required")
	}
	h.Config.setDefaults()
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	h.allowed = map[string]bool{}
	for _, o := range h.Config.AllowedOrigins {
		if o == "*" {
			h.allowAll = true
		}
		h.allowed[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   int(h.Config.MaxMessageBytes) + 64,
		WriteBufferSize:  1024,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      func(*http.Request) bool { return true }, // checked in ServeHTTP
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			writeError(w, status, reason.Error())
		},
	}
	h.rooms = map[int64]*room{}
	h.sources = map[netip.Prefix]*source{}
	h.stop = make(chan struct{})
	var changes <-chan conference.Change
	unsubscribe := func() {}
	if h.Feed != nil {
		changes, unsubscribe = h.Feed.Subscribe(256)
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer unsubscribe()
		h.run(changes)
	}()
	return nil
}

// Close closes every connection (1001, going away) and stops the hub.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	var all []*conn
	for _, r := range h.rooms {
		for c := range r.conns {
			all = append(all, c)
		}
	}
	h.mu.Unlock()
	close(h.stop)
	h.wg.Wait()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Go(func() { c.close(websocket.CloseGoingAway, "server shutting down") })
	}
	wg.Wait()
}

func (h *Hub) run(changes <-chan conference.Change) {
	tick := time.NewTicker(h.Config.CountInterval)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case c, ok := <-changes:
			if !ok {
				changes = nil
				continue
			}
			if c.Kind == conference.ChangeOnAir {
				h.onAir(c)
			}
		case <-tick.C:
			h.pushCounts()
			h.forgetSources()
		}
	}
}

// onAir pushes an on-air change to the event's connections: marshalled
// into `variants` messages with delays spread over [0, MaxSwitchDelay).
func (h *Hub) onAir(c conference.Change) {
	h.mu.Lock()
	r := h.rooms[c.EventID]
	var slug string
	if r != nil {
		slug = r.ev.Slug
	}
	h.mu.Unlock()
	if r == nil {
		return // nobody is listening
	}
	at := c.At
	if at.IsZero() {
		at = time.Now()
	}
	var msgs [variants]*websocket.PreparedMessage
	max := h.Config.MaxSwitchDelay
	for i := range msgs {
		delay := time.Duration((float64(i) + rand.Float64()) / variants * float64(max))
		b := marshal(onAirMsg{Type: typeOnAir, Event: slug, Track: c.Track, At: at,
			SwitchDelayMS: delay.Milliseconds(), Talk: talkOf(c.Talk)})
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
		if err != nil {
			h.Logger.Error("live: prepare message", "err", err)
			return
		}
		msgs[i] = pm
	}
	h.broadcast(c.EventID, func(cn *conn) *websocket.PreparedMessage { return msgs[cn.variant] })
}

// broadcast queues a message to every connection of an event, dropping
// those that cannot take it.
func (h *Hub) broadcast(eventID int64, pick func(*conn) *websocket.PreparedMessage) {
	var slow []*conn
	h.mu.Lock()
	if r := h.rooms[eventID]; r != nil {
		for c := range r.conns {
			if c.queue(pick(c)) {
				h.stats.sent.Add(1)
			} else {
				slow = append(slow, c)
			}
		}
	}
	h.mu.Unlock()
	for _, c := range slow {
		if c.drop() {
			h.stats.slowDrops.Add(1)
		}
	}
}

// counts returns the viewers of the event's tracks now.
func (h *Hub) counts(ev Event) []TrackCount {
	out := make([]TrackCount, 0, len(ev.Tracks))
	for _, t := range ev.Tracks {
		tc := TrackCount{Track: t}
		if h.HLS != nil {
			tc.HLS = h.HLS.ViewerCount(t)
		}
		if h.WebRTC != nil {
			tc.WebRTC = h.WebRTC.ViewerCount(t)
		}
		tc.Viewers = tc.HLS + tc.WebRTC
		out = append(out, tc)
	}
	return out
}

// pushCounts sends every event with connections its counts, if changed.
func (h *Hub) pushCounts() {
	h.mu.Lock()
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	now := time.Now()
	for _, r := range rooms {
		ev := r.ev
		if fresh, ok := h.Events.LiveEvent(ev.Slug); ok && fresh.ID == ev.ID {
			ev = fresh // tracks added or removed
		}
		counts := h.counts(ev)
		h.mu.Lock()
		r.ev = ev
		changed := !equalCounts(counts, r.last)
		if changed {
			r.last = counts
		}
		h.mu.Unlock()
		if !changed {
			continue
		}
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage,
			marshal(viewersMsg{Type: typeViewers, Event: ev.Slug, At: now, Tracks: counts}))
		if err != nil {
			continue
		}
		h.broadcast(ev.ID, func(*conn) *websocket.PreparedMessage { return pm })
	}
}

func equalCounts(a, b []TrackCount) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// forgetSources drops rate state that has refilled.
func (h *Hub) forgetSources() {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for p, s := range h.sources {
		if s.conns == 0 && s.connect.full(now, h.Config.ConnectRate, h.Config.ConnectBurst) {
			delete(h.sources, p)
		}
	}
}

// originAllowed reports whether a browser on the request's Origin may
// connect: no Origin (not a browser), kast's own host, or a configured one.
func (h *Hub) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || h.allowAll {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return h.allowed[strings.ToLower(u.Scheme+"://"+u.Host)]
}

// admit takes a connection slot for src, or says why not.
func (h *Hub) admit(src netip.Prefix) (int, string) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return refusedFull, "shutting down"
	}
	s := h.sources[src]
	if s == nil {
		s = &source{}
		h.sources[src] = s
	}
	if !s.connect.take(now, h.Config.ConnectRate, h.Config.ConnectBurst) {
		return refusedRate, "too many connections from your address in a short time: retry in a few seconds"
	}
	if s.conns >= h.Config.MaxPerSource {
		return refusedSource, "too many live connections from your address"
	}
	if h.conns >= h.Config.MaxConns {
		return refusedFull, "the live channel is full: retry later"
	}
	s.conns++
	h.conns++
	return -1, ""
}

func (h *Hub) release(src netip.Prefix) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.sources[src]; s != nil {
		s.conns--
	}
	h.conns--
}

// ServeHTTP upgrades GET /api/v1/events/{event}/live and serves the
// connection until it ends.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.originAllowed(r) {
		h.stats.refused[refusedOrigin].Add(1)
		writeError(w, http.StatusForbidden, "origin not allowed: "+r.Header.Get("Origin"))
		return
	}
	ev, ok := h.Events.LiveEvent(r.PathValue("event"))
	if !ok {
		h.stats.refused[refusedEvent].Add(1)
		writeError(w, http.StatusNotFound, "no such event")
		return
	}
	src := sourceOf(r.RemoteAddr)
	if why, msg := h.admit(src); why >= 0 {
		h.stats.refused[why].Add(1)
		status := http.StatusTooManyRequests
		if why == refusedFull {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Retry-After", "5")
		writeError(w, status, msg)
		return
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.release(src)
		h.stats.refused[refusedUpgrade].Add(1)
		return // the upgrader answered
	}
	c := &conn{
		ws:      ws,
		send:    make(chan *websocket.PreparedMessage, h.Config.SendQueue),
		done:    make(chan struct{}),
		src:     src,
		variant: rand.IntN(variants),
	}
	counts := h.join(c, ev)
	if counts == nil {
		h.release(src)
		c.close(websocket.CloseGoingAway, "server shutting down")
		return
	}
	h.stats.accepted.Add(1)
	hello, _ := websocket.NewPreparedMessage(websocket.TextMessage, marshal(helloMsg{
		Type: typeHello, Event: ev.Slug, MaxSwitchDelayMS: h.Config.MaxSwitchDelay.Milliseconds(), Viewers: counts}))
	c.queue(hello)
	go c.writer(&h.Config)
	// The reader runs in a goroutine of its own rather than in this
	// handler's: returning lets net/http's connection goroutine end, with
	// its deeper stack and its buffers (a third of the memory a
	// connection held otherwise: docs/benchmarks.md).
	go func() {
		defer h.release(src)
		defer h.leave(c)
		code, text := c.reader(&h.Config)
		if c.close(code, text) && code != websocket.CloseNormalClosure {
			h.stats.clientDrops.Add(1)
		}
	}()
}

// join adds c to its event's room and returns the counts to greet it with
// (nil when the hub is closed).
func (h *Hub) join(c *conn, ev Event) []TrackCount {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	r := h.rooms[ev.ID]
	if r == nil {
		r = &room{ev: ev, conns: map[*conn]struct{}{}}
		h.rooms[ev.ID] = r
	}
	r.conns[c] = struct{}{}
	c.room = r
	if r.last == nil {
		r.last = h.counts(r.ev)
	}
	return r.last
}

func (h *Hub) leave(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := c.room
	delete(r.conns, c)
	if len(r.conns) == 0 && h.rooms[r.ev.ID] == r {
		delete(h.rooms, r.ev.ID)
	}
}

// Stats are the live channel's counters.
type Stats struct {
	Conns      int
	Accepted   uint64
	Sent       uint64            // messages queued to connections
	SlowDrops  uint64            // connections dropped for not keeping up
	ClientDrop uint64            // connections closed for breaking a limit
	Refused    map[string]uint64 // by reason
}

// Stats returns the counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	n := h.conns
	h.mu.Unlock()
	s := Stats{Conns: n, Accepted: h.stats.accepted.Load(), Sent: h.stats.sent.Load(),
		SlowDrops: h.stats.slowDrops.Load(), ClientDrop: h.stats.clientDrops.Load(), Refused: map[string]uint64{}}
	for i, name := range refusalNames {
		s.Refused[name] = h.stats.refused[i].Load()
	}
	return s
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
