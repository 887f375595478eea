package web

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/netlimit"
)

// dialFrom connects to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c (EOF) within d.
func closedByServer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}

func TestConnLimits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := netlimit.ParseProxies("127.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	var stats connLimitStats
	l := &limitListener{Listener: ln, limits: newConnLimits(6, 2, proxies, &stats)}
	defer l.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	addr := ln.Addr().String()
	take := func() net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(2 * time.Second):
			t.Fatal("connection not accepted")
			return nil
		}
	}

	// Two from one source are taken; the third is closed at once.
	a1, a2 := dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.2", addr)
	s1, _ := take(), take()
	a3 := dialFrom(t, "127.0.0.2", addr)
	if !closedByServer(a3, 2*time.Second) {
		t.Fatal("third connection from one source not closed")
	}
	if closedByServer(a1, 100*time.Millisecond) || closedByServer(a2, 100*time.Millisecond) {
		t.Fatal("the first two were closed too")
	}
	if got := stats.refSrc.Load(); got != 1 {
		t.Fatalf("refused per source: %d", got)
	}
	// Another source is not affected; closing one gives its slot back.
	dialFrom(t, "127.0.0.3", addr)
	take()
	s1.Close()
	s1.Close() // a second Close gives nothing back twice
	dialFrom(t, "127.0.0.2", addr)
	take()
	// A trusted proxy is not limited per source, only by the total.
	for range 3 {
		dialFrom(t, "127.0.0.9", addr)
		take()
	}
	if n := stats.open.Load(); n != 6 {
		t.Fatalf("open: %d, want 6", n)
	}
	over := dialFrom(t, "127.0.0.9", addr)
	if !closedByServer(over, 2*time.Second) || stats.refusedTotal.Load() != 1 {
		t.Fatalf("seventh connection past the total of 6 not closed (refused %d)", stats.refusedTotal.Load())
	}
}

func TestConnLimitsKeepTCPConn(t *testing.T) {
	// The fast path polls through SyscallConn; net.Buffers writes with
	// writev only to a *net.TCPConn or what embeds it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			time.Sleep(time.Second)
			c.Close()
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	var stats connLimitStats
	lc, ok := newConnLimits(0, 0, netlimit.Proxies{}, &stats).admit(c)
	if !ok {
		t.Fatal("refused without limits")
	}
	defer lc.Close()
	if _, ok := lc.(syscall.Conn); !ok {
		t.Fatalf("%T has no SyscallConn", lc)
	}
	if _, ok := lc.(*limitedTCPConn); !ok {
		t.Fatalf("a TCP connection wrapped as %T", lc)
	}
}
