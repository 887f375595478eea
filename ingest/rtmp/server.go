package rtmp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"maps"
	"net"
	"sync"
	"time"

	"github.com/kastlive/kast/ingest"
)

// Server accepts RTMP (or, with TLSConfig, RTMPS) publishers at
// rtmp://HOST/APP/<stream key>.
//
// A connection is unauthenticated until its stream key is accepted. Those
// share a large budget (MaxUnauthenticated, MaxUnauthenticatedPerSource)
// and short deadlines (HandshakeTimeout, PublishTimeout); when the budget
// is full, the unauthenticated connection that has made least progress
// (the oldest of those) is dropped to take the new one, so a flood of idle
// or slow connections, from however many addresses, cannot keep a speaker
// out. Authorized publishers are counted apart (MaxPublishers) and never
// dropped for room.
type Server struct {
	// Address to listen on, e.g. ":1935".
	Address string
	// TLSConfig turns the listener into RTMPS when set.
	TLSConfig *tls.Config
	Hub       *ingest.Hub
	Authorize ingest.Authorizer
	Logger    *slog.Logger

	// HandshakeTimeout is the time C0 and C1, the first 1,537 bytes of
	// the handshake, have to arrive in (TLS handshake included; default
	// 2 s). Nothing of the handshake is buffered before.
	HandshakeTimeout time.Duration
	// PublishTimeout bounds the way from the connection to the publish
	// command: handshake, connect, createStream, publish (default 5 s).
	PublishTimeout time.Duration
	// ReadTimeout is the longest a publisher may stay silent (default 10 s).
	ReadTimeout time.Duration
	// WriteTimeout bounds each write to the publisher (default 10 s).
	WriteTimeout time.Duration
	// MaxUnauthenticated is the budget of connections whose stream key
	// has not been accepted yet (default 4096).
	MaxUnauthenticated int
	// MaxUnauthenticatedPerSource is the share of it one source may hold:
	// an IPv4 address, or an IPv6 /64 (default 8). A source over it loses
	// its own connection that made least progress.
	MaxUnauthenticatedPerSource int
	// MaxPublishers limits authorized connections (default 64).
	MaxPublishers int

	ln       net.Listener
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	closing  bool
	all      map[*conn]struct{}
	adm      admission
	seq      uint64
	warnedAt time.Time
	warned   map[string]uint64 // Dropped counts at the last warning
}

// Initialize starts listening and accepting connections.
func (s *Server) Initialize() error {
	if s.HandshakeTimeout == 0 {
		s.HandshakeTimeout = 2 * time.Second
	}
	if s.PublishTimeout == 0 {
		s.PublishTimeout = 5 * time.Second
	}
	if s.ReadTimeout == 0 {
		s.ReadTimeout = 10 * time.Second
	}
	if s.WriteTimeout == 0 {
		s.WriteTimeout = 10 * time.Second
	}
	if s.MaxUnauthenticated == 0 {
		s.MaxUnauthenticated = 4096
	}
	if s.MaxUnauthenticatedPerSource == 0 {
		s.MaxUnauthenticatedPerSource = 8
	}
	if s.MaxPublishers == 0 {
		s.MaxPublishers = 64
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", s.Address)
	if err != nil {
		return err
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.all = make(map[*conn]struct{})
	s.adm.init(s.MaxUnauthenticated, s.MaxUnauthenticatedPerSource, s.MaxPublishers)
	s.warned = make(map[string]uint64)
	s.wg.Add(1)
	go s.acceptLoop()
	return nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Stats returns the connection counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Unauthenticated: s.adm.unauth,
		Publishing:      s.adm.publishers,
		Accepted:        s.adm.accepted,
		Dropped:         make(map[string]uint64, len(dropReasons)),
		Refused:         make(map[string]uint64, len(refuseReasons)),
	}
	for _, k := range dropReasons {
		st.Dropped[k] = s.adm.dropped[k]
	}
	for _, k := range refuseReasons {
		st.Refused[k] = s.adm.refused[k]
	}
	return st
}

// Close stops accepting, disconnects every publisher and waits for their
// goroutines to end.
func (s *Server) Close() {
	s.mu.Lock()
	s.closing = true
	s.cancel()
	conns := make([]*conn, 0, len(s.all))
	for c := range s.all {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.ln.Close()
	for _, c := range conns {
		c.raw.Close()
	}
	s.wg.Wait()
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	var errLogged time.Time
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if !(errors.As(err, &ne) && ne.Timeout()) && time.Since(errLogged) > 10*time.Second {
				// Out of file descriptors, most likely: say so once in a while.
				s.Logger.Error("rtmp accept failed", "err", err)
				errLogged = time.Now()
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c := &conn{server: s, raw: nc, accepted: time.Now()}
		key := sourceOf(nc.RemoteAddr())
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.seq++
		c.seq = s.seq
		victims := s.adm.admit(c, key)
		s.all[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		for _, v := range victims {
			v.abort()
		}
		if len(victims) > 0 {
			s.warnDrops()
		}
		go c.run()
	}
}

// warnDrops logs, at most every 10 s, how many unauthenticated
// connections were dropped since the last warning: a flood shows up in
// the log without one line per connection.
func (s *Server) warnDrops() {
	s.mu.Lock()
	if time.Since(s.warnedAt) < 10*time.Second {
		s.mu.Unlock()
		return
	}
	s.warnedAt = time.Now()
	args := []any{"unauthenticated", s.adm.unauth, "max", s.MaxUnauthenticated, "max_per_source", s.MaxUnauthenticatedPerSource}
	for _, k := range dropReasons {
		if n := s.adm.dropped[k] - s.warned[k]; n > 0 {
			args = append(args, k, n)
		}
	}
	maps.Copy(s.warned, s.adm.dropped)
	s.mu.Unlock()
	s.Logger.Warn("rtmp: dropping unauthenticated connections (flood or slow clients); publishers are not affected", args...)
}

// advance records c's progress before authorization.
func (s *Server) advance(c *conn, stage int) {
	s.mu.Lock()
	s.adm.advance(c, stage)
	s.mu.Unlock()
}

// authorize moves c from the unauthenticated budget to the publishers.
func (s *Server) authorize(c *conn) (ok, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.adm.authorize(c)
}

func (s *Server) refuse(reason string) {
	s.mu.Lock()
	s.adm.refused[reason]++
	s.mu.Unlock()
}

// failed records how an unauthenticated c ended, unless admission
// dropped it already, and returns the drop reason ("" when the client
// simply went away).
func (s *Server) failed(c *conn, err error) string {
	reason := ""
	var ne net.Error
	switch {
	case safeError(err) == "connection closed":
	case errors.As(err, &ne) && ne.Timeout():
		reason = DropTimeout
	default:
		reason = DropProtocol
	}
	s.mu.Lock()
	if c.dropped != "" {
		reason = c.dropped
	} else if reason != "" {
		c.dropped = reason
		s.adm.dropped[reason]++
	}
	s.mu.Unlock()
	if reason == DropTimeout {
		s.warnDrops()
	}
	return reason
}

func (s *Server) release(c *conn) {
	s.mu.Lock()
	s.adm.release(c)
	delete(s.all, c)
	s.mu.Unlock()
}
