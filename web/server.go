package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/packager"
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

	srv *http.Server
	ln  net.Listener
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
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Handler returns the routes.
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
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}
