package web

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/kastlive/kast/internal/netlimit"
)

// Default connection limits of the HTTP(S) listeners. A venue's or a
// company's NAT puts hundreds of viewers behind one address, each with up
// to six HTTP/1.1 connections, hence a per-source limit far above what one
// browser opens; the total bounds the file descriptors and the memory of
// idle connections (the fast path holds no buffer for one, net/http 4 KB).
const (
	DefaultMaxConns       = 50_000
	DefaultConnsPerSource = 2_000
)

// connLimits closes new connections past a total and a per-source limit
// (IPv4 address, IPv6 /64: netlimit.Key), at once, before a byte is read:
// one client cannot take every connection slot, and the header and idle
// timeouts close what it leaves open. Trusted proxies (a CDN, nginx in
// front) carry many clients and are exempt from the per-source limit.
// One connLimits counts the HTTP and HTTPS listeners together.
type connLimits struct {
	max, perSource int // <= 0: none
	proxies        netlimit.Proxies
	stats          *connLimitStats

	mu       sync.Mutex
	total    int
	bySource map[netip.Prefix]int
}

// connLimitStats counts open connections and what the limits refused,
// for /metrics.
type connLimitStats struct {
	open                 atomic.Int64
	refusedTotal, refSrc atomic.Uint64
}

func newConnLimits(max, perSource int, proxies netlimit.Proxies, stats *connLimitStats) *connLimits {
	return &connLimits{max: max, perSource: perSource, proxies: proxies, stats: stats, bySource: map[netip.Prefix]int{}}
}

// limitListener applies connLimits to the connections it accepts.
type limitListener struct {
	net.Listener
	limits *connLimits
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc, ok := l.limits.admit(c); ok {
			return lc, nil
		}
		c.Close()
	}
}

// admit counts c in, or reports that a limit is reached.
func (cl *connLimits) admit(c net.Conn) (net.Conn, bool) {
	key, limited := cl.source(c)
	cl.mu.Lock()
	switch {
	case cl.max > 0 && cl.total >= cl.max:
		cl.mu.Unlock()
		cl.stats.refusedTotal.Add(1)
		return nil, false
	case limited && cl.perSource > 0 && cl.bySource[key] >= cl.perSource:
		cl.mu.Unlock()
		cl.stats.refSrc.Add(1)
		return nil, false
	}
	cl.total++
	if limited {
		cl.bySource[key]++
	}
	cl.mu.Unlock()
	cl.stats.open.Add(1)
	release := func() { cl.release(key, limited) }
	if tc, ok := c.(*net.TCPConn); ok {
		// Embedding the *net.TCPConn keeps what the fast path and net
		// use it for (SyscallConn, writev through net.Buffers).
		return &limitedTCPConn{TCPConn: tc, release: release}, true
	}
	return &limitedConn{Conn: c, release: release}, true
}

func (cl *connLimits) source(c net.Conn) (netip.Prefix, bool) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Prefix{}, false
	}
	a := ap.Addr().Unmap()
	if cl.proxies.Trusts(a) {
		return netip.Prefix{}, false
	}
	return netlimit.Key(a), true
}

func (cl *connLimits) release(key netip.Prefix, limited bool) {
	cl.mu.Lock()
	cl.total--
	if limited {
		if cl.bySource[key]--; cl.bySource[key] <= 0 {
			delete(cl.bySource, key)
		}
	}
	cl.mu.Unlock()
	cl.stats.open.Add(-1)
}

// limitedTCPConn gives its slot back when closed, once.
type limitedTCPConn struct {
	*net.TCPConn
	once    sync.Once
	release func()
}

func (c *limitedTCPConn) Close() error {
	err := c.TCPConn.Close()
	c.once.Do(c.release)
	return err
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
