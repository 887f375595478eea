package fastpath

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// Over TLS the fast path takes HTTP/1.1 connections as it takes cleartext
// ones, and HTTP/2 ones (every browser's) with a frame loop of its own
// (h2conn.go); with NoHTTP2 those go to the fallback server at once, whose
// HTTP/2 support serves them. A TLS
// connection holds its read buffer while it waits (crypto/tls buffers
// records itself, so there is no socket to poll), and each TLS record is
// its own write: docs/benchmarks.md has what is left of the savings.

// handshake completes the TLS handshake of a new connection. It reports
// false when the connection is done with here: failed, or handed to the
// fallback for HTTP/2.
func (c *conn) handshake(tc *tls.Conn) bool {
	tc.SetDeadline(time.Now().Add(c.s.ReadHeaderTimeout))
	ctx, cancel := context.WithTimeout(c.s.ctx, c.s.ReadHeaderTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		c.s.Logger.Debug("tls handshake failed", "remote", tc.RemoteAddr().String(), "err", err)
		return false
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	if st.NegotiatedProtocol == "h2" && !c.s.NoHTTP2 {
		c.release(true)
		c.serveH2(tc, &st)
		return false
	}
	if st.NegotiatedProtocol == "h2" {
		c.release(true)
		c.s.track(c, false)
		c.nc = nil
		c.s.stats.handoffs.Add(1)
		c.s.handoff.give(tc) // unwrapped: net/http sees the *tls.Conn and speaks HTTP/2
		return false
	}
	c.tmpl.TLS = &st
	return true
}

// tlsStateKey carries the TLS state of a connection handed to the fallback
// with bytes already read: net/http sees a wrapped conn, not a *tls.Conn,
// and would leave Request.TLS nil.
type tlsStateKey struct{}

// h2PipeKey marks the requests of the fallback's pipe connections.
type h2PipeKey struct{}

// wrapFallbackTLS makes the fallback server set Request.TLS on requests of
// TLS connections the fast path handed over.
func (s *Server) wrapFallbackTLS() {
	connCtx := s.Fallback.ConnContext
	s.Fallback.ConnContext = func(ctx context.Context, nc net.Conn) context.Context {
		if connCtx != nil {
			ctx = connCtx(ctx, nc)
		}
		if p, ok := nc.(*pipeConn); ok {
			ctx = context.WithValue(ctx, h2PipeKey{}, true)
			if p.tls != nil {
				ctx = context.WithValue(ctx, tlsStateKey{}, p.tls)
			}
		}
		if p, ok := nc.(*prefixConn); ok {
			if tc, ok := p.Conn.(*tls.Conn); ok {
				st := tc.ConnectionState()
				ctx = context.WithValue(ctx, tlsStateKey{}, &st)
			}
		}
		return ctx
	}
	h := s.Fallback.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	s.Fallback.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(h2PipeKey{}) != nil {
			// A request of an HTTP/2 client, passed on over a pipe: the
			// handler sees the client's protocol (and Adopt leaves it).
			// What the pipe added is taken off: HTTP/2 has no Connection
			// header, no chunked framing, no closing after a request.
			r2 := *r
			r2.Proto, r2.ProtoMajor, r2.ProtoMinor = "HTTP/2.0", 2, 0
			r2.Close, r2.TransferEncoding = false, nil
			if _, ok := r.Header["Connection"]; ok {
				r2.Header = r.Header.Clone()
				delete(r2.Header, "Connection")
			}
			r = &r2
		}
		if r.TLS == nil {
			if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
				r.TLS = st
			}
		}
		h.ServeHTTP(w, r)
	})
}
