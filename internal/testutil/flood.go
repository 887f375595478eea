package testutil

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Flood holds idle TCP connections open to a server from many source
// addresses, the way an attacker locks a server out: every round it opens
// PerSource connections from each address in Sources, sends nothing (or
// Send), and closes the previous round's.
type Flood struct {
	Addr      string
	Sources   []netip.Addr
	PerSource int           // default 1
	Every     time.Duration // default 1 s
	// Send, when set, is written on each connection once it is open.
	Send []byte
	// Pace spreads each round's dials over Every instead of opening them
	// 64 at a time: a sustained flood rather than bursts (which, on a
	// loaded machine, test the kernel's listen backlog more than the
	// server).
	Pace bool
}

// FloodRun is a running Flood.
type FloodRun struct {
	f       Flood
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	rounds  int
	opened  int
	failed  int
	lastErr error
}

// StartFlood starts f and stops it when the test ends. Binding to the
// source addresses needs them to be local: all of 127.0.0.0/8 is; an IPv6
// range needs a local route and net.ipv6.ip_nonlocal_bind (NetNS does
// both).
func StartFlood(t testing.TB, f Flood) *FloodRun {
	t.Helper()
	if f.PerSource == 0 {
		f.PerSource = 1
	}
	if f.Every == 0 {
		f.Every = time.Second
	}
	r := &FloodRun{f: f, stop: make(chan struct{}), done: make(chan struct{})}
	go r.loop()
	t.Cleanup(r.Stop)
	return r
}

// Stop closes every connection and waits for the flood to end.
func (r *FloodRun) Stop() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
}

// Counts returns the rounds done, connections opened and dials failed.
func (r *FloodRun) Counts() (rounds, opened, failed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rounds, r.opened, r.failed
}

// Err returns the last dial error.
func (r *FloodRun) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

func (r *FloodRun) loop() {
	defer close(r.done)
	var prev []net.Conn
	defer func() { closeAll(prev) }()
	tick := time.NewTicker(r.f.Every)
	defer tick.Stop()
	for {
		cur := r.round()
		closeAll(prev)
		prev = cur
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
	}
}

// round opens one round of connections, 64 dials at a time.
func (r *FloodRun) round() []net.Conn {
	var mu sync.Mutex
	var conns []net.Conn
	opened, failed := 0, 0
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var gap time.Duration
	if r.f.Pace {
		gap = r.f.Every / time.Duration(len(r.f.Sources)*r.f.PerSource+1)
	}
	next := time.Now()
	for _, src := range r.f.Sources {
		for range r.f.PerSource {
			if gap > 0 {
				next = next.Add(gap)
				time.Sleep(time.Until(next))
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: 2 * time.Second}
				c, err := d.Dial("tcp", r.f.Addr)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
					r.mu.Lock()
					r.lastErr = err
					r.mu.Unlock()
					return
				}
				if len(r.f.Send) > 0 {
					c.Write(r.f.Send)
				}
				opened++
				conns = append(conns, c)
			}()
		}
	}
	wg.Wait()
	r.mu.Lock()
	r.rounds++
	r.opened += opened
	r.failed += failed
	r.mu.Unlock()
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}
