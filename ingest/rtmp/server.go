package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/kastlive/kast/ingest"
)

// Server accepts RTMP (or, with TLSConfig, RTMPS) publishers at
// rtmp://HOST/APP/<stream key>.
type Server struct {
	// Address to listen on, e.g. ":1935".
	Address string
	// TLSConfig turns the listener into RTMPS when set.
	TLSConfig *tls.Config
	Hub       *ingest.Hub
	Authorize ingest.Authorizer
	Logger    *slog.Logger

	// HandshakeTimeout bounds the handshake and the connect/publish
	// commands (default 10 s).
	HandshakeTimeout time.Duration
	// ReadTimeout is the longest a publisher may stay silent (default 10 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds each write to the publisher (default 10 s).
	WriteTimeout time.Duration
	// MaxConns limits simultaneous connections (default 256).
	MaxConns int
	// MaxConnsPerIP limits simultaneous connections from one address
	// (default 8), so that one host cannot take every slot.
	MaxConnsPerIP int

	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	perIP  map[string]int
	slots  chan struct{}
}

// Initialize starts listening and accepting connections.
func (s *Server) Initialize() error {
	if s.HandshakeTimeout == 0 {
		s.HandshakeTimeout = 10 * time.Second
	}
	if s.ReadTimeout == 0 {
		s.ReadTimeout = 10 * time.Second
	}
	if s.WriteTimeout == 0 {
		s.WriteTimeout = 10 * time.Second
	}
	if s.MaxConns == 0 {
		s.MaxConns = 256
	}
	if s.MaxConnsPerIP == 0 {
		s.MaxConnsPerIP = 8
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", s.Address)
	if err != nil {
		return err
	}
	if s.TLSConfig != nil {
		ln = tls.NewListener(ln, s.TLSConfig)
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.conns = make(map[net.Conn]struct{})
	s.perIP = make(map[string]int)
	s.slots = make(chan struct{}, s.MaxConns)
	s.wg.Add(1)
	go s.acceptLoop()
	return nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops accepting, disconnects every publisher and waits for their
// goroutines to end.
func (s *Server) Close() {
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			s.Logger.Error("rtmp accept failed", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.Logger.Warn("rtmp connection refused: too many connections", "remote", nc.RemoteAddr().String(), "max", s.MaxConns)
			nc.Close()
			continue
		}
		ip := remoteIP(nc)
		s.mu.Lock()
		if s.ctx.Err() != nil { // Close ran while this one was accepted
			s.mu.Unlock()
			nc.Close()
			<-s.slots
			return
		}
		if s.perIP[ip] >= s.MaxConnsPerIP {
			s.mu.Unlock()
			s.Logger.Warn("rtmp connection refused: too many connections from one address", "remote", ip, "max", s.MaxConnsPerIP)
			nc.Close()
			<-s.slots
			continue
		}
		s.perIP[ip]++
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c := &conn{server: s, nc: nc}
			c.run()
			s.mu.Lock()
			delete(s.conns, nc)
			if s.perIP[ip]--; s.perIP[ip] <= 0 {
				delete(s.perIP, ip)
			}
			s.mu.Unlock()
			<-s.slots
		}()
	}
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}
