package rtmp

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
)

// BenchmarkConnectionMemory measures what kast holds per connection that
// has not authenticated: idle (no byte sent), after C0+C1, and after a
// whole handshake (C2 too), against a bare listener that only accepts and
// keeps the sockets. Client and server run in this process, so the
// bare listener's figure (both ends' sockets) is subtracted. Run with
// -benchtime=1x; it opens 2,000 connections per case.
func BenchmarkConnectionMemory(b *testing.B) {
	const n = 2000
	hs := make([]byte, handshakeLen)
	hs[0] = 3
	for _, tc := range []struct {
		name string
		send []byte
	}{
		{"idle", nil},
		{"after C0+C1", hs[:handshakeC0C1]},
		{"after handshake", hs},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var kast, bare float64
			for b.Loop() {
				bare = perConn(b, n, tc.send, nil)
				s := &Server{Address: "127.0.0.1:0", Hub: &ingest.Hub{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
					HandshakeTimeout: time.Minute, PublishTimeout: time.Minute, MaxUnauthenticatedPerSource: n}
				if err := s.Initialize(); err != nil {
					b.Fatal(err)
				}
				kast = perConn(b, n, tc.send, s) - bare
				s.Close()
			}
			b.ReportMetric(kast, "B/conn")
			b.ReportMetric(bare, "bare-socket-B/conn")
		})
	}
}

// perConn opens n connections (to s, or to a bare listener when s is
// nil), sends send on each, and returns the memory in use per connection.
func perConn(b *testing.B, n int, send []byte, s *Server) float64 {
	var addr string
	var held []net.Conn
	var ln net.Listener
	if s == nil {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		accepted := make(chan net.Conn, n)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					close(accepted)
					return
				}
				accepted <- c
			}
		}()
		defer func() {
			ln.Close()
			for c := range accepted {
				c.Close()
			}
		}()
		addr = ln.Addr().String()
	} else {
		addr = s.Addr().String()
	}
	before := memInUse()
	for i := range n {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: netip.AddrFrom4([4]byte{127, 0, 4, byte(i % 200)}).AsSlice()}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		if send != nil {
			c.Write(send)
		}
		held = append(held, c)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s != nil && s.Stats().Unauthenticated < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let every goroutine block in its read
	after := memInUse()
	for _, c := range held {
		c.Close()
	}
	return float64(after-before) / float64(n)
}

func memInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// BenchmarkFloodAccept measures how fast the server takes connections
// from one source that its clients close at once (32 dialing at a time,
// in this process): about the rate at which kast absorbs a flood, and so
// how long a publisher's connection can wait in the listen backlog
// behind one. Nearly all of it is system calls, the clients' included.
func BenchmarkFloodAccept(b *testing.B) {
	s := &Server{Address: "127.0.0.1:0", Hub: &ingest.Hub{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.Initialize(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	src := &net.TCPAddr{IP: net.IPv4(127, 0, 5, 1)}
	sem := make(chan struct{}, 32)
	b.ResetTimer()
	for range b.N {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			d := net.Dialer{LocalAddr: src}
			if c, err := d.Dial("tcp", s.Addr().String()); err == nil {
				c.Close()
			}
		}()
	}
	for s.Stats().Accepted < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
}
