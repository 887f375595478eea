package testutil

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Direction is one way through a FaultProxy or UDPRelay.
type Direction int

// The two directions of a link: Up is client to target (a publisher's
// media), Down is target to client.
const (
	Up Direction = iota
	Down
)

func (d Direction) String() string {
	if d == Up {
		return "up"
	}
	return "down"
}

// FaultProxy is a TCP proxy on 127.0.0.1 in front of a server, for tests
// of a bad network, since this kernel has no netem qdisc. Each direction
// has a delay, a bandwidth limit (a token bucket, so a sender above it
// sees back-pressure as on a real bottleneck) and can be cut: a cut link
// carries nothing (a blackhole: the peers notice nothing but silence)
// until it resumes, with everything held back delivered then, or is
// reset (every connection gets an RST, as when a NAT forgets it).
// Settings apply to open connections at once.
type FaultProxy struct {
	target string
	ln     net.Listener

	mu    sync.Mutex
	dirs  [2]linkSettings
	cut   chan struct{} // closed when the current cut ends; nil when not cut
	conns map[*proxyConn]struct{}
	wg    sync.WaitGroup

	accepted atomic.Int64
	bytes    [2]atomic.Int64
}

// linkSettings is one direction's shaping.
type linkSettings struct {
	delay time.Duration
	rate  int // bytes per second, 0: unlimited
}

// proxyChunkSize bounds one read: the throttle's granularity.
const proxyChunkSize = 4 << 10

// NewFaultProxy listens on a free loopback port and forwards every
// connection to target. It is closed at the end of the test.
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{target: target, ln: ln, conns: map[*proxyConn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr returns the proxy's address (host:port).
func (p *FaultProxy) Addr() string { return p.ln.Addr().String() }

// SetDelay sets the one-way delay of dir.
func (p *FaultProxy) SetDelay(dir Direction, d time.Duration) {
	p.mu.Lock()
	p.dirs[dir].delay = d
	p.mu.Unlock()
}

// SetRate limits dir to bitsPerSecond (0: unlimited).
func (p *FaultProxy) SetRate(dir Direction, bitsPerSecond int) {
	p.mu.Lock()
	p.dirs[dir].rate = bitsPerSecond / 8
	p.mu.Unlock()
}

// Cut stops both directions of every connection, open or new, until
// Resume or Reset.
func (p *FaultProxy) Cut() {
	p.mu.Lock()
	if p.cut == nil {
		p.cut = make(chan struct{})
	}
	p.mu.Unlock()
}

// Resume ends a cut: what was held back goes through.
func (p *FaultProxy) Resume() {
	p.mu.Lock()
	if p.cut != nil {
		close(p.cut)
		p.cut = nil
	}
	p.mu.Unlock()
}

// Reset sends an RST on both sides of every open connection and ends a
// cut; new connections go through again.
func (p *FaultProxy) Reset() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.reset()
	}
	p.Resume()
}

// CutFor cuts the link for d, then resumes it (reset false) or resets
// every connection (reset true). It returns at once.
func (p *FaultProxy) CutFor(d time.Duration, reset bool) {
	p.Cut()
	time.AfterFunc(d, func() {
		if reset {
			p.Reset()
		} else {
			p.Resume()
		}
	})
}

// Accepted returns how many connections the proxy accepted.
func (p *FaultProxy) Accepted() int { return int(p.accepted.Load()) }

// Bytes returns how many bytes went through in dir.
func (p *FaultProxy) Bytes(dir Direction) int64 { return p.bytes[dir].Load() }

// Close stops listening and closes every connection.
func (p *FaultProxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.close()
	}
	p.mu.Unlock()
	p.Resume()
	p.wg.Wait()
}

func (p *FaultProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			client.Close()
			continue
		}
		c := &proxyConn{p: p, client: client.(*net.TCPConn), server: server.(*net.TCPConn)}
		p.mu.Lock()
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go c.pipe(Up, c.client, c.server)
		go c.pipe(Down, c.server, c.client)
	}
}

// settings returns dir's shaping and the current cut (nil when none).
func (p *FaultProxy) settings(dir Direction) (linkSettings, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dirs[dir], p.cut
}

// proxyConn is one proxied connection.
type proxyConn struct {
	p              *FaultProxy
	client, server *net.TCPConn
	once           sync.Once
	ended          atomic.Int32
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		c.client.Close()
		c.server.Close()
	})
}

// reset closes both sides with an RST instead of a FIN.
func (c *proxyConn) reset() {
	c.client.SetLinger(0)
	c.server.SetLinger(0)
	c.close()
}

// chunk is data read from one side, due at the other at due.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe carries dir from src to dst: a reader that paces departures
// through the token bucket, and a writer that delivers each chunk after
// the delay. The queue between them is bounded, so a throttled or cut
// link pushes back on the sender.
func (c *proxyConn) pipe(dir Direction, src, dst *net.TCPConn) {
	defer c.p.wg.Done()
	q := make(chan chunk, 64) // 64 chunks of up to 4 KiB: a 256 KiB router buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ch := range q {
			if d := time.Until(ch.due); d > 0 {
				time.Sleep(d)
			}
			for {
				_, cut := c.p.settings(dir)
				if cut == nil {
					break
				}
				<-cut
			}
			if _, err := dst.Write(ch.b); err != nil {
				c.close()
				for range q {
				}
				return
			}
			c.p.bytes[dir].Add(int64(len(ch.b)))
		}
		// The sender finished: pass the FIN on.
		_ = dst.CloseWrite()
	}()
	var free time.Time // when the bottleneck is free again
	for {
		b := make([]byte, proxyChunkSize)
		n, err := src.Read(b)
		if n > 0 {
			s, _ := c.p.settings(dir)
			now := time.Now()
			dep := now
			if s.rate > 0 {
				if free.Before(now) {
					free = now
				}
				free = free.Add(time.Duration(n) * time.Second / time.Duration(s.rate))
				dep = free
				// Hold the reader while the bottleneck is busy, so
				// back-pressure reaches the sender instead of piling up
				// here beyond the queue.
				if wait := time.Until(dep) - 50*time.Millisecond; wait > 0 {
					time.Sleep(wait)
				}
			}
			q <- chunk{b: b[:n], due: dep.Add(s.delay)}
		}
		if err != nil {
			close(q)
			<-done
			if !errors.Is(err, io.EOF) {
				c.close()
			}
			if c.ended.Add(1) == 2 {
				c.close()
				c.p.mu.Lock()
				delete(c.p.conns, c)
				c.p.mu.Unlock()
			}
			return
		}
	}
}
