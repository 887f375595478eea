package rtmp

import (
	"net"
	"net/netip"
	"slices"
)

// Progress of a connection before it is authorized. A new connection
// that has sent nothing is the first to go under pressure (a flood of
// idle sockets never gets further); past that, progress does not buy a
// place: see admission.
const (
	stageNew       = iota // nothing complete yet
	stageHandshake        // C0 and C1 received
	stageConnect          // connect command received

	stagePublishing = stageConnect + 1 // authorized: counted apart, never dropped for room
	stageGone       = -1               // released or dropped
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

// The lists a connection is on: every unauthenticated one on byAge,
// the new ones (stageNew) also on fresh. Both are in accept order.
const (
	byAge = iota
	fresh
	numLists
)

// links are a connection's place on one list.
type links struct{ prev, next *conn }

// connList is an intrusive list of connections, oldest first.
type connList struct {
	head, tail *conn
	which      int // byAge or fresh
}

func (l *connList) push(c *conn) {
	lk := &c.links[l.which]
	lk.prev, lk.next = l.tail, nil
	if l.tail != nil {
		l.tail.links[l.which].next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *connList) remove(c *conn) {
	lk := &c.links[l.which]
	if lk.prev != nil {
		lk.prev.links[l.which].next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != nil {
		lk.next.links[l.which].prev = lk.prev
	} else {
		l.tail = lk.prev
	}
	lk.prev, lk.next = nil, nil
}

// admission keeps the server's connection budget. An unauthenticated
// connection never keeps an authorized publisher out: when the budget of
// unauthenticated connections is full, or a source holds its share, one
// is dropped to make room and the new connection is always taken. The
// one dropped is the oldest new connection whose client has sent nothing
// (nothing read, nothing waiting in the socket either, so an idle
// connection goes before one whose goroutine is slow to start), else the
// oldest unauthenticated connection by accept time, whatever its stage.
//
// Age rather than progress, because progress is cheap to fake: an
// attacker without a key completes handshake and connect (3 KB) and idles
// there, and ranking that above a speaker still one round trip into its
// handshake would let each new attacker connection drop the speaker. By
// age, a flood of N connections a second into a budget of B gives every
// newcomer B/N seconds, the speaker included, to publish; an attacker can
// only keep its connections by opening fewer of them. Authorized
// publishers are counted apart and never dropped for room. The Server's
// mutex guards it.
type admission struct {
	maxUnauth, maxPerSource, maxPublishers int

	lists      [numLists]connList
	unauth     int
	publishers int
	sources    map[netip.Prefix]*source

	// talking reports whether a new connection's client has sent
	// something: bytes the server read (a C0 whose C1 is still on the
	// way, a TLS ClientHello) or bytes waiting to be read.
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
	for i := range a.lists {
		a.lists[i].which = i
	}
	if a.talking == nil {
		a.talking = func(c *conn) bool { return c.heard.Load() || hasUnread(c.raw) }
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
	a.lists[byAge].push(c)
	a.lists[fresh].push(c)
	a.unauth++
	return victims
}

// leastAdvancedOf returns the connection of src to drop: its oldest new
// one that is idle, else its oldest. src.conns is in accept order, and
// the oldest idle one is nearly always first: one check of the socket per
// drop.
func (a *admission) leastAdvancedOf(src *source) *conn {
	for _, c := range src.conns {
		if c.stage == stageNew && !a.talking(c) {
			return c
		}
	}
	return src.conns[0]
}

// leastAdvanced returns the unauthenticated connection to drop: the
// oldest idle new one (looking at most at 64 new ones), else the oldest.
func (a *admission) leastAdvanced() *conn {
	n := 0
	for c := a.lists[fresh].head; c != nil && n < 64; c, n = c.links[fresh].next, n+1 {
		if !a.talking(c) {
			return c
		}
	}
	return a.lists[byAge].head
}

// advance records that an unauthenticated c reached stage.
func (a *admission) advance(c *conn, stage int) {
	if c.stage < 0 || c.stage >= stage || c.stage == stagePublishing {
		return
	}
	if c.stage == stageNew {
		a.lists[fresh].remove(c)
	}
	c.stage = stage
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

// unlink takes an unauthenticated c out of its lists and source.
func (a *admission) unlink(c *conn) {
	a.lists[byAge].remove(c)
	if c.stage == stageNew {
		a.lists[fresh].remove(c)
	}
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
