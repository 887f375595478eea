package testutil

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// echoServer answers every connection with what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func roundTrip(t *testing.T, c net.Conn, n int) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, n))
		done <- err
	}()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

func TestFaultProxyDelay(t *testing.T) {
	p := NewFaultProxy(t, echoServer(t))
	p.SetDelay(Up, 100*time.Millisecond)
	p.SetDelay(Down, 50*time.Millisecond)
	c := dial(t, p.Addr())
	for range 3 {
		if d := roundTrip(t, c, 10); d < 150*time.Millisecond || d > 400*time.Millisecond {
			t.Fatalf("round trip %v, want about 150 ms", d)
		}
	}
}

func TestFaultProxyRate(t *testing.T) {
	p := NewFaultProxy(t, echoServer(t))
	p.SetRate(Up, 2_000_000) // 250 kB/s
	c := dial(t, p.Addr())
	d := roundTrip(t, c, 250_000)
	if d < 900*time.Millisecond || d > 2*time.Second {
		t.Fatalf("250 kB through 2 Mbit/s took %v, want about 1 s", d)
	}
	p.SetRate(Up, 0)
	if d := roundTrip(t, c, 250_000); d > 300*time.Millisecond {
		t.Fatalf("unthrottled: %v", d)
	}
}

func TestFaultProxyCutResume(t *testing.T) {
	p := NewFaultProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	roundTrip(t, c, 10)
	p.CutFor(500*time.Millisecond, false)
	if d := roundTrip(t, c, 100_000); d < 450*time.Millisecond {
		t.Fatalf("through a 500 ms cut in %v", d)
	}
	if p.Bytes(Down) != 100_010 {
		t.Fatalf("down %d bytes, want every byte", p.Bytes(Down))
	}
}

func TestFaultProxyCutReset(t *testing.T) {
	p := NewFaultProxy(t, echoServer(t))
	c := dial(t, p.Addr())
	roundTrip(t, c, 10)
	p.CutFor(300*time.Millisecond, true)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after the reset: %v, want connection reset", err)
	}
	// New connections work again.
	roundTrip(t, dial(t, p.Addr()), 10)
}

func TestUDPRelayLossAndDelay(t *testing.T) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = srv.WriteToUDP(buf[:n], from)
		}
	}()
	r := NewUDPRelay(t, srv.LocalAddr().String(), 1)
	r.SetLoss(Down, 0.1)
	r.SetDelay(Up, 30*time.Millisecond)
	c, err := net.DialUDP("udp", nil, r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	for {
		n, err := c.Read(buf)
		if err != nil {
			// 10 % loss: the first answer may be dropped; try again.
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if string(buf[:n]) == "hello" {
			break
		}
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("answer after %v, want the 30 ms delay", d)
	}
	const n = 2000
	for range n {
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Microsecond)
	}
	deadline := time.Now().Add(3 * time.Second)
	for r.Forwarded(Down)+r.Dropped(Down) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	down, lost := r.Forwarded(Down)+r.Dropped(Down), r.Dropped(Down)
	if frac := float64(lost) / float64(down); frac < 0.07 || frac > 0.13 {
		t.Fatalf("dropped %d of %d down (%.3f), want about 0.1", lost, down, frac)
	}
	if r.Dropped(Up) != 0 {
		t.Fatalf("dropped %d up, want none", r.Dropped(Up))
	}
}
