package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/packager"
	"github.com/kastlive/kast/web/fastpath"
	"github.com/kastlive/kast/web/gate"
	"github.com/kastlive/kast/web/live"
	"github.com/kastlive/kast/web/pages"
)

// Server is kast's HTTP server.
type Server struct {
	// Address to listen on, e.g. ":8080".
	Address  string
	Store    conference.Store
	Hub      *ingest.Hub
	Packager *packager.Server
	Logger   *slog.Logger
	// Gate, when set, guards the HLS files of registered events (it wraps
	// the one /hls/ handler the mux and the fast path share) and serves
	// the playback-token endpoint.
	Gate *gate.Gate
	// Live, when set, serves the websocket live channel.
	Live *live.Hub

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
	var hls http.Handler = hlsHandler{p: s.Packager}
	var token http.HandlerFunc
	var liveHandler http.Handler // not a nil *live.Hub in an interface
	if s.Live != nil {
		liveHandler = s.Live
	}
	if s.Gate != nil {
		s.Gate.Next, s.Gate.Prefix = hls, hlsPrefix
		hls, token = s.Gate, s.Gate.ServeToken
	}
	routes := Routes(Handlers{
		HLS:           hls,
		Pages:         &pages.Handler{Tracks: s.Store, Log: s.Logger},
		Metrics:       s.metricsHandler(),
		Health:        s.health,
		PlaybackToken: token,
		Live:          liveHandler,
	})
	s.fast = &fastpath.Server{
		Listener:          ln,
		Prefix:            hlsPrefix,
		Handler:           hls,
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

// Shutdown stops accepting requests and waits for the running ones, at
// most until ctx ends; then it closes the remaining connections.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.fast.Shutdown(ctx)
	if err != nil {
		s.fast.Close()
	}
	return err
}
