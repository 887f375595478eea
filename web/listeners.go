package web

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/kastlive/kast/web/fastpath"
)

// listen opens the listeners and starts serving routes, with hls on the
// fast path.
func (s *Server) listen(hls, routes http.Handler) error {
	ln, err := net.Listen("tcp", s.Address)
	if err != nil {
		return err
	}
	s.ln = ln
	limit := s.connLimiter()
	ln = limit(ln)
	if s.TLSConfig != nil {
		tlsLn, err := net.Listen("tcp", s.TLSAddress)
		if err != nil {
			ln.Close()
			return err
		}
		s.tlsLn = tlsLn
		tlsLn = limit(tlsLn)
		cfg := s.TLSConfig.Clone()
		if len(cfg.NextProtos) == 0 {
			cfg.NextProtos = []string{"h2", "http/1.1"}
		}
		if cfg.MinVersion == 0 {
			cfg.MinVersion = tls.VersionTLS12
		}
		s.secure = s.fastPath(fastpath.TLSListener(tlsLn, cfg), hls, s.hsts(routes))
		s.secure.NoHTTP2 = s.NetHTTP2
	}
	if s.MetricsAddress != "" {
		if s.metLn, err = net.Listen("tcp", s.MetricsAddress); err != nil {
			s.closeListeners()
			return err
		}
		s.metrics = s.httpServer(MetricsRoutes(s.metricsHandler()))
	}

	var plain http.Handler
	if s.RedirectHTTP && s.tlsLn != nil {
		plain = s.redirectToHTTPS(routes)
		if s.WrapHTTP != nil {
			plain = s.WrapHTTP(plain)
		}
		s.plain = s.httpServer(plain)
	} else {
		wrapped := routes
		if s.WrapHTTP != nil {
			wrapped = s.WrapHTTP(routes)
		}
		s.fast = s.fastPath(ln, hls, wrapped)
	}

	start := func(name string, serve func() error) {
		go func() {
			if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.Logger.Error("http server stopped", "listener", name, "err", err)
			}
		}()
	}
	if s.metrics != nil {
		start("metrics", func() error { return s.metrics.Serve(s.metLn) })
	}
	if s.plain != nil {
		start("http", func() error { return s.plain.Serve(ln) })
	}
	for _, f := range []*fastpath.Server{s.fast, s.secure} {
		if f == nil {
			continue
		}
		if err := f.Initialize(); err != nil {
			s.closeListeners()
			return err
		}
	}
	return nil
}

// connLimiter returns what wraps the HTTP and HTTPS listeners in the
// connection limits, one count for both.
func (s *Server) connLimiter() func(net.Listener) net.Listener {
	max, per := s.MaxConns, s.ConnsPerSource
	if max == 0 {
		max = DefaultMaxConns
	}
	if per == 0 {
		per = DefaultConnsPerSource
	}
	limits := newConnLimits(max, per, s.TrustedProxies, &s.connStats)
	return func(ln net.Listener) net.Listener {
		if max < 0 && per < 0 {
			return ln
		}
		return &limitListener{Listener: ln, limits: limits}
	}
}

// fastPath serves hls on kast's own HTTP/1.1 loop and everything else
// (and HTTP/2) with net/http.
func (s *Server) fastPath(ln net.Listener, hls, routes http.Handler) *fastpath.Server {
	f := &fastpath.Server{
		Listener:          ln,
		Prefix:            hlsPrefix,
		Handler:           hls,
		Logger:            s.Logger,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		WriteTimeout:      writeTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	f.Fallback = s.httpServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.Adopt(w, r) {
			routes.ServeHTTP(w, r)
		}
	}))
	return f
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelDebug),
	}
}

// redirectToHTTPS sends cleartext requests to the same path over HTTPS;
// /healthz still answers, for load balancers that probe over HTTP.
func (s *Server) redirectToHTTPS(routes http.Handler) http.Handler {
	port := ""
	if _, p, err := net.SplitHostPort(s.tlsLn.Addr().String()); err == nil && p != "443" {
		port = p
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			routes.ServeHTTP(w, r)
			return
		}
		// The configured name when there is one: a Host header is the
		// client's to choose, and a permanent redirect is cached.
		host := s.CanonicalHost
		if host == "" {
			host = r.Host
		}
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" {
			http.Error(w, "HTTPS only: ask again over https://", http.StatusBadRequest)
			return
		}
		if port != "" {
			host = net.JoinHostPort(host, port)
		} else if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "[" + host + "]"
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// hsts adds Strict-Transport-Security to the responses of h.
func (s *Server) hsts(h http.Handler) http.Handler {
	if s.HSTSMaxAge <= 0 {
		return h
	}
	v := "max-age=" + strconv.Itoa(int(s.HSTSMaxAge/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", v)
		h.ServeHTTP(w, r)
	})
}

// TLSAddr returns the HTTPS listening address, nil without TLS.
func (s *Server) TLSAddr() net.Addr {
	if s.tlsLn == nil {
		return nil
	}
	return s.tlsLn.Addr()
}

// MetricsAddr returns the metrics listening address, nil without one.
func (s *Server) MetricsAddr() net.Addr {
	if s.metLn == nil {
		return nil
	}
	return s.metLn.Addr()
}

func (s *Server) closeListeners() {
	for _, l := range []net.Listener{s.ln, s.tlsLn, s.metLn} {
		if l != nil {
			l.Close()
		}
	}
}

// Shutdown stops accepting requests and waits for the running ones, at
// most until ctx ends; then it closes the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	errs := make(chan error, 4)
	n := 0
	for _, f := range []*fastpath.Server{s.fast, s.secure} {
		if f != nil {
			n++
			go func() {
				err := f.Shutdown(ctx)
				if err != nil {
					f.Close()
				}
				errs <- err
			}()
		}
	}
	for _, h := range []*http.Server{s.plain, s.metrics} {
		if h != nil {
			n++
			go func() {
				err := h.Shutdown(ctx)
				if err != nil {
					h.Close()
				}
				errs <- err
			}()
		}
	}
	var err error
	for range n {
		err = errors.Join(err, <-errs)
	}
	return err
}
