package fastpath

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
)

// The requests of an HTTP/2 connection that are not for the fast path (the
// pages, the API, WHIP and WHEP, uploads, recordings) reach the fallback
// server over an in-memory HTTP/1.1 connection of their own, made for the
// request and closed after it, so the handlers behind it keep all of
// net/http's behaviour. They are few next to the playlist and part
// requests; the hop costs a pipe and a goroutine pair per request.

// pipeConn is the fallback's end of such a connection: it carries the
// client's address and TLS state, which the fallback's requests get.
type pipeConn struct {
	net.Conn
	remote net.Addr
	local  net.Addr
	tls    *tls.ConnectionState
}

func (p *pipeConn) RemoteAddr() net.Addr { return p.remote }
func (p *pipeConn) LocalAddr() net.Addr  { return p.local }

// h2origin is the client's connection a fallback request came on, in the
// request's context (set by handleHeaders): the pipe's dial takes it from
// there.
type h2originKey struct{}

type h2origin struct {
	remote net.Addr
	tls    *tls.ConnectionState
}

// h2fallback returns the handler that passes a request to the fallback.
func (s *Server) h2fallback() http.Handler {
	s.h2proxyOnce.Do(func() {
		t := &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				o, _ := ctx.Value(h2originKey{}).(*h2origin)
				if o == nil {
					return nil, net.ErrClosed
				}
				client, server := net.Pipe()
				s.handoff.give(&pipeConn{Conn: server, remote: o.remote, local: s.Listener.Addr(), tls: o.tls})
				return client, nil
			},
			DisableKeepAlives:      true,
			DisableCompression:     true,
			MaxResponseHeaderBytes: 1 << 20,
		}
		s.h2proxy = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.Out.URL.Scheme, pr.Out.URL.Host = "http", pr.In.Host
				if pr.Out.URL.Host == "" {
					pr.Out.URL.Host = "localhost"
				}
				pr.Out.Host = pr.In.Host
				// What the client sent, as it would reach the handlers
				// over HTTP/1.1 (Rewrite removes these).
				for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
					if v, ok := pr.In.Header[k]; ok {
						pr.Out.Header[k] = v
					}
				}
			},
			Transport:     t,
			FlushInterval: -1, // every write of the handler goes out at once
			ErrorLog:      slog.NewLogLogger(s.Logger.Handler(), slog.LevelDebug),
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				if r.Context().Err() == nil {
					s.Logger.Debug("http2 fallback request failed", "path", r.URL.Path, "err", err)
				}
				w.WriteHeader(http.StatusBadGateway)
			},
		}
	})
	return s.h2proxy
}
