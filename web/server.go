package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/rtmp"
	"github.com/kastlive/kast/packager"
	"github.com/kastlive/kast/web/fastpath"
	"github.com/kastlive/kast/web/pages"
	"github.com/kastlive/kast/web/store"
)

// Server is kast's HTTP server.
type Server struct {
	// Address to listen on, e.g. ":8080".
	Address  string
	Store    store.Store
	Hub      *ingest.Hub
	Packager *packager.Server
	Logger   *slog.Logger
	// RTMP returns the RTMP listeners' connection counters for /metrics
	// (nil: none).
	RTMP func() rtmp.Stats

	fast *fastpath.Server
	ln   net.Listener
}

// Timeouts and limits of the HTTP listener. WriteTimeout leaves room for a
// blocking playlist request (up to three target durations) plus a segment.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 16 << 10
)

// Initialize starts listening and serving.
func (s *Server) Initialize() error {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", s.Address)
	if err != nil {
		return err
	}
	s.ln = ln
	routes := s.Handler()
	s.fast = &fastpath.Server{
		Listener:          ln,
		Prefix:            "/hls/",
		StripPrefix:       "/hls",
		Handler:           s.Packager,
		Logger:            s.Logger,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		WriteTimeout:      writeTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	s.fast.Fallback = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.fast.Adopt(w, r) {
				routes.ServeHTTP(w, r)
			}
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelDebug),
	}
	return s.fast.Initialize()
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Handler returns the routes. Initialize serves /hls/ on the fast path
// (package fastpath) and the rest with net/http.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/hls/", http.StripPrefix("/hls", s.Packager))
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("GET /healthz", s.health)
	mux.Handle("/", &pages.Handler{Tracks: s.Store, Log: s.Logger})
	return mux
}

// Shutdown stops accepting requests and waits for the running ones, at
// most until ctx ends; then it closes the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.fast.Shutdown(ctx)
	if err != nil {
		s.fast.Close()
	}
	return err
}
