package rtmp

import (
	"net"
	"net/netip"
	"slices"
)

// Progress of a connection before it is authorized. Under pressure the
// server drops the connections that have done least first: a flood of
// idle sockets never reaches stageHandshake, while OBS gets to
// stageConnect within a round trip or two.
const (
	stageNew       = iota // nothing complete yet
	stageHandshake        // C0 and C1 received
	stageConnect          // connect command received
	numStages

	stagePublishing = numStages // authorized: counted apart, never dropped for room
	stageGone       = -1        // released or dropped
)

// Reasons a connection is dropped before it publishes (Stats.Dropped).
const (
	DropUnauthenticatedFull = "unauthenticated_full" // the budget of unauthenticated connections was full
	DropSourceFull          = "source_full"          // its address (IPv4) or /64 (IPv6) had too many
	DropTimeout             = "handshake_timeout"    // handshake, connect and publish not done in time
	DropProtocol            = "protocol_error"       // not RTMP, or commands out of order
)

// Reasons a connection that asked to publish (or play) is refused
// (Stats.Refused).
const (
	RefuseUnknownKey     = "unknown_key"
	RefuseAuthError      = "auth_error" // the key could not be checked (store failure)
	RefuseTrackBusy      = "track_busy"
	RefusePublishersFull = "publishers_full"
	RefusePlay           = "play" // playback over RTMP is not offered
)

var (
	dropReasons   = []string{DropUnauthenticatedFull, DropSourceFull, DropTimeout, DropProtocol}
	refuseReasons = []string{RefuseUnknownKey, RefuseAuthError, RefuseTrackBusy, RefusePublishersFull, RefusePlay}
)

// sourceOf is the unit per-source limits count: the IPv4 address, or the
// IPv6 /64, since one IPv6 host is usually given a whole /64 (billions
// of addresses) and could otherwise take any number of slots.
func sourceOf(a net.Addr) netip.Prefix {
	var ip netip.Addr
	if ta, ok := a.(*net.TCPAddr); ok {
		ip = ta.AddrPort().Addr()
	} else if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p
}

// source counts the unauthenticated connections of one source.
type source struct {
	key   netip.Prefix
	conns []*conn
}

// connList is an intrusive list of connections, oldest first.
type connList struct{ head, tail *conn }

func (l *connList) push(c *conn) {
	c.prev, c.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *connList) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// admission keeps the server's connection budget. An unauthenticated
// connection never keeps an authorized publisher out: when the budget of
// unauthenticated connections is full, or a source holds its share, the
// one that has made least progress (the oldest of those) is dropped to
// make room, and the new connection is always taken. Progress counts what
// the client sent even when the server has not read it yet, so an idle
// connection goes before one whose goroutine is slow to start. Authorized
// publishers are counted apart and never dropped for room. The Server's
// mutex guards it.
type admission struct {
	maxUnauth, maxPerSource, maxPublishers int

	stages     [numStages]connList
	unauth     int
	publishers int
	sources    map[netip.Prefix]*source

	// talking reports whether a new connection's client has sent
	// something the server has not read yet.
	talking func(*conn) bool

	accepted uint64
	dropped  map[string]uint64
	refused  map[string]uint64
}

func (a *admission) init(maxUnauth, maxPerSource, maxPublishers int) {
	a.maxUnauth, a.maxPerSource, a.maxPublishers = maxUnauth, maxPerSource, maxPublishers
	a.sources = make(map[netip.Prefix]*source)
	a.dropped = make(map[string]uint64)
	a.refused = make(map[string]uint64)
	if a.talking == nil {
		a.talking = func(c *conn) bool { return hasUnread(c.raw) }
	}
}

// admit takes c in as unauthenticated and returns the connections dropped
// to make room (to be closed by the caller).
func (a *admission) admit(c *conn, key netip.Prefix) []*conn {
	a.accepted++
	var victims []*conn
	src := a.sources[key]
	if src == nil {
		src = &source{key: key}
		a.sources[key] = src
	}
	if len(src.conns) >= a.maxPerSource {
		v := a.leastAdvancedOf(src)
		a.drop(v, DropSourceFull)
		victims = append(victims, v)
	}
	if a.unauth >= a.maxUnauth {
		v := a.leastAdvanced()
		a.drop(v, DropUnauthenticatedFull)
		victims = append(victims, v)
	}
	c.src = src
	c.stage = stageNew
	src.conns = append(src.conns, c)
	a.stages[stageNew].push(c)
	a.unauth++
	return victims
}

// leastAdvancedOf returns the connection of src to drop: the oldest idle
// new one, else the one of the lowest stage (a new one whose client has
// sent bytes not read yet ranks between new and stageHandshake), oldest
// first. src.conns is in the order they came, and the oldest idle one is
// nearly always first: one check of the socket per drop.
func (a *admission) leastAdvancedOf(src *source) *conn {
	var v *conn
	vr := 0
	for _, c := range src.conns {
		r := 2 * c.stage
		if c.stage == stageNew {
			if !a.talking(c) {
				return c
			}
			r = 1
		}
		if v == nil || r < vr {
			v, vr = c, r
		}
	}
	return v
}

// leastAdvanced returns the unauthenticated connection to drop: the
// oldest idle new one (looking at most at 64 new ones), else the oldest of
// the lowest stage.
func (a *admission) leastAdvanced() *conn {
	n := 0
	for c := a.stages[stageNew].head; c != nil && n < 64; c, n = c.next, n+1 {
		if !a.talking(c) {
			return c
		}
	}
	for s := range a.stages {
		if c := a.stages[s].head; c != nil {
			return c
		}
	}
	return nil
}

// advance moves an unauthenticated c to a later stage.
func (a *admission) advance(c *conn, stage int) {
	if c.stage < 0 || c.stage >= stage || c.stage == stagePublishing {
		return
	}
	a.stages[c.stage].remove(c)
	c.stage = stage
	a.stages[stage].push(c)
}

// authorize counts c as a publisher. It reports false when c was dropped
// in the meantime or the publishers are at their maximum (then c stays
// unauthenticated until it is released).
func (a *admission) authorize(c *conn) (ok, full bool) {
	if c.stage < 0 {
		return false, false
	}
	if a.publishers >= a.maxPublishers {
		return false, true
	}
	a.unlink(c)
	c.stage = stagePublishing
	a.publishers++
	return true, false
}

// release forgets c, however it ended.
func (a *admission) release(c *conn) {
	switch {
	case c.stage == stagePublishing:
		a.publishers--
	case c.stage >= 0:
		a.unlink(c)
	}
	c.stage = stageGone
}

// drop forgets c and counts why; the caller closes it.
func (a *admission) drop(c *conn, reason string) {
	a.unlink(c)
	c.stage = stageGone
	c.dropped = reason
	a.dropped[reason]++
}

// unlink takes an unauthenticated c out of its stage list and source.
func (a *admission) unlink(c *conn) {
	a.stages[c.stage].remove(c)
	a.unauth--
	src := c.src
	if i := slices.Index(src.conns, c); i >= 0 {
		src.conns = slices.Delete(src.conns, i, i+1)
	}
	if len(src.conns) == 0 {
		delete(a.sources, src.key)
	}
	c.src = nil
}
