// Package fastpath serves the requests that dominate a live stream's load
// (playlist reloads, parts and segments: plain GETs without a body) on
// HTTP/1.1 connections of its own, and hands every other request, with the
// connection it came on, to a net/http server.
//
// net/http spends more per request than the packager does: a goroutine and
// a read per request to notice the client going away, two writes for a
// response larger than its buffer, 8 KB of buffers per connection, a sorted
// header map. Here a response is one writev (headers and body), a
// connection holds no buffer while it waits, and the headers a client sends
// on every request are parsed into strings once per connection.
//
// What it does not take goes to net/http unchanged: other paths, methods
// other than GET and HEAD, request bodies, upgrades, percent-encoded or
// unclean paths, anything it does not parse. A request for the fast path
// that reaches net/http on such a connection is taken back with Adopt.
package fastpath

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// Server serves fast-path requests from Listener and passes the other
// connections to Fallback.
type Server struct {
	// Listener to accept connections from; Close closes it.
	Listener net.Listener
	// Prefix of the paths taken, e.g. "/hls/".
	Prefix string
	// StripPrefix is removed from the path before Handler sees it,
	// e.g. "/hls".
	StripPrefix string
	// Handler serves the fast-path requests. Its ResponseWriter implements
	// http.Flusher and Vectored, not http.Hijacker; the request's context
	// is not cancelled when the client goes away (a write fails instead).
	Handler http.Handler
	// Fallback serves everything else; Initialize starts it on the
	// connections handed over. Its Handler should pass fast-path requests
	// to Adopt.
	Fallback *http.Server
	Logger   *slog.Logger

	// Limits; zero means the default in parentheses.
	ReadHeaderTimeout time.Duration // a request's headers, once started (5 s)
	IdleTimeout       time.Duration // between requests (120 s)
	WriteTimeout      time.Duration // at least this long for each response write (60 s)
	MaxHeaderBytes    int           // request line and headers (16 KB)

	// NoHTTP2 leaves HTTP/2 connections to the fallback server (net/http's
	// HTTP/2) instead of the fast path's own frame loop.
	NoHTTP2 bool

	stats   counters
	handoff *handoffListener

	workers     *workers // run HTTP/2 streams' handlers
	h2proxyOnce sync.Once
	h2proxy     http.Handler
	ctx         context.Context // requests' context; cancelled when connections are cut
	cancel      context.CancelFunc
	mu          sync.Mutex
	conns       map[*conn]struct{}
	closing     atomic.Bool
	wg          sync.WaitGroup
}

// Stats are the fast path's counters.
type Stats struct {
	Conns      int64 // connections on the fast path now
	Requests   uint64
	Handoffs   uint64 // connections given to the fallback server
	Adoptions  uint64 // connections taken back from it
	H2Conns    int64  // of Conns, HTTP/2 connections
	H2Requests uint64 // of Requests, those on HTTP/2 connections
}

type counters struct {
	conns, h2conns                            atomic.Int64
	requests, handoffs, adoptions, h2requests atomic.Uint64
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Conns:      s.stats.conns.Load(),
		Requests:   s.stats.requests.Load(),
		Handoffs:   s.stats.handoffs.Load(),
		Adoptions:  s.stats.adoptions.Load(),
		H2Conns:    s.stats.h2conns.Load(),
		H2Requests: s.stats.h2requests.Load(),
	}
}

// Vectored is implemented by the fast path's ResponseWriter: it writes
// several buffers with one system call.
type Vectored interface {
	WriteVector(bufs net.Buffers) (int64, error)
}

const (
	defaultReadHeaderTimeout = 5 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultWriteTimeout      = 60 * time.Second
	defaultMaxHeaderBytes    = 16 << 10

	// workerIdle is how long a stream worker waits for the next stream:
	// long enough to outlast the gaps between a player's requests.
	workerIdle = 10 * time.Second
)

// Initialize starts accepting connections and the fallback server.
func (s *Server) Initialize() error {
	if s.Listener == nil || s.Handler == nil || s.Fallback == nil || s.Prefix == "" {
		return errors.New("fastpath: Listener, Prefix, Handler and Fallback are required")
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.ReadHeaderTimeout <= 0 {
		s.ReadHeaderTimeout = defaultReadHeaderTimeout
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = defaultIdleTimeout
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = defaultWriteTimeout
	}
	if s.MaxHeaderBytes <= 0 {
		s.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	s.conns = map[*conn]struct{}{}
	s.workers = newWorkers(workerIdle)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.handoff = newHandoffListener(s.Listener.Addr())
	s.wrapFallbackTLS()
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.Fallback.Serve(s.handoff); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http fallback server stopped", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.accept()
	}()
	return nil
}

func (s *Server) accept() {
	var delay time.Duration
	for {
		nc, err := s.Listener.Accept()
		if err != nil {
			if isTemporary(err) {
				// Out of file descriptors and the like: back off as
				// net/http does instead of spinning.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.Logger.Warn("http accept", "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return
		}
		delay = 0
		c := newConn(s, nc, nil)
		if !s.track(c, true) {
			nc.Close()
			return
		}
		go c.serve(nil)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// track adds or removes a connection; adding fails once closing.
func (s *Server) track(c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing.Load() {
			return false
		}
		s.conns[c] = struct{}{}
		s.stats.conns.Add(1)
		s.wg.Add(1)
		return true
	}
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.stats.conns.Add(-1)
		s.wg.Done()
	}
	return true
}

// Adopt takes a fast-path request that reached the fallback server back
// onto the fast path, with its connection, and reports whether it did.
// Call it first thing in the fallback's handler; when it returns true the
// request has been answered.
func (s *Server) Adopt(w http.ResponseWriter, r *http.Request) bool {
	if s.closing.Load() || r.ProtoMajor != 1 || !s.takes(r.Method, r.URL.Path, r.URL.RawPath) ||
		r.ContentLength != 0 || len(r.TransferEncoding) > 0 || r.Header.Get("Upgrade") != "" {
		return false
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return false
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return false
	}
	// Requests net/http has read ahead: the fast path parses them first.
	var ahead []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		ahead = append(make([]byte, 0, n), b...)
	}
	c := newConn(s, nc, ahead)
	if !s.track(c, true) {
		nc.Close()
		return true
	}
	// net/http cancels r's context when this handler returns; the fast
	// path's own context ends when its connections are cut.
	r = r.WithContext(s.ctx)
	s.stats.adoptions.Add(1)
	go c.serve(r)
	return true
}

// takes reports whether a request goes on the fast path.
func (s *Server) takes(method, path, rawPath string) bool {
	if method != http.MethodGet && method != http.MethodHead {
		return false
	}
	return rawPath == "" && strings.HasPrefix(path, s.Prefix) && cleanPath(path)
}

// cleanPath reports whether path needs no cleaning by net/http's ServeMux
// (which would redirect it) and no unescaping.
func cleanPath(p string) bool {
	return !strings.Contains(p, "//") && !strings.Contains(p, "/./") && !strings.Contains(p, "/../") &&
		!strings.HasSuffix(p, "/.") && !strings.HasSuffix(p, "/..") && !strings.ContainsAny(p, "%\\")
}

// Shutdown stops accepting, closes idle connections, lets the others finish
// their response and closes them, at most until ctx ends; then it closes
// what remains. It shuts the fallback server down too.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	s.mu.Unlock()
	s.Listener.Close()
	fbErr := make(chan error, 1)
	go func() { fbErr <- s.Fallback.Shutdown(ctx) }()
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			s.closeConns(false)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.Fallback.Close()
		s.closeConns(true)
		<-done
		err = ctx.Err()
	}
	close(stop)
	s.workers.close()
	if e := <-fbErr; err == nil {
		err = e
	}
	return err
}

// Close closes the listener and every connection at once.
func (s *Server) Close() {
	s.mu.Lock()
	s.closing.Store(true)
	s.mu.Unlock()
	s.Listener.Close()
	s.Fallback.Close()
	s.closeConns(true)
	s.wg.Wait()
	s.workers.close()
}

func (s *Server) closeConns(all bool) {
	if all {
		s.cancel() // handlers waiting for a part give up
	}
	var closing []net.Conn
	s.mu.Lock()
	for c := range s.conns {
		if h := c.h2.Load(); h != nil && !all && !h.goneAway() {
			// An HTTP/2 client is told first (RFC 9113 6.8), so that it
			// sends no request the closing would lose; the next round
			// closes the connection once its streams are done.
			go h.goAway(http2.ErrCodeNo)
			continue
		}
		if all || c.state.CompareAndSwap(stateIdle, stateClosed) {
			closing = append(closing, c.nc)
		}
	}
	s.mu.Unlock()
	// Closed without the lock: a TLS close sends close_notify, which can
	// wait up to 5 s on a client that does not read, and meanwhile no
	// connection could be accepted or end. Cut at once, a connection
	// gets no close_notify at all.
	for _, nc := range closing {
		if tc, ok := nc.(*tls.Conn); ok && all {
			tc.NetConn().Close()
		}
		nc.Close()
	}
}
