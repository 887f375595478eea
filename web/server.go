package web

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/rtmp"
	"github.com/kastlive/kast/internal/netlimit"
	"github.com/kastlive/kast/packager"
	"github.com/kastlive/kast/recorder"
	"github.com/kastlive/kast/relay"
	"github.com/kastlive/kast/web/api"
	"github.com/kastlive/kast/web/fastpath"
	"github.com/kastlive/kast/web/gate"
	"github.com/kastlive/kast/web/live"
	"github.com/kastlive/kast/web/pages"
	"github.com/kastlive/kast/web/vod"
	"github.com/kastlive/kast/web/webrtc"
)

// Server is kast's HTTP server: cleartext HTTP on Address and, with
// TLSConfig, HTTPS (HTTP/2 and HTTP/1.1) on TLSAddress. Both serve the same
// routes, and each runs the HLS fast path (HTTP/1.1, and HTTP/2 over TLS).
type Server struct {
	// Address to listen on, e.g. ":8080".
	Address string
	// TLSAddress and TLSConfig turn HTTPS on (e.g. ":8443"). TLSConfig
	// supplies the certificates; the ALPN protocols are set here.
	TLSAddress string
	TLSConfig  *tls.Config
	// RedirectHTTP makes the cleartext listener answer every request but
	// /healthz with a redirect to HTTPS (used with TLS), to CanonicalHost
	// when set (the public name) or else to the request's Host.
	RedirectHTTP  bool
	CanonicalHost string
	// NetHTTP2 serves HTTPS's HTTP/2 connections with net/http's HTTP/2
	// server instead of the fast path's frame loop (about 2.5x the CPU per
	// viewer; for a client the frame loop does not get along with).
	NetHTTP2 bool
	// WrapHTTP, when set, wraps what the cleartext listener serves: the
	// ACME HTTP-01 challenge responder goes there.
	WrapHTTP func(http.Handler) http.Handler
	// HSTSMaxAge, when positive, sends Strict-Transport-Security on HTTPS
	// responses of the pages and the API.
	HSTSMaxAge time.Duration
	// MetricsAddress serves /metrics alone on a separate listener (e.g.
	// "127.0.0.1:9464"); MetricsToken, when set, also serves it on the
	// main listeners to requests with that bearer token. With neither,
	// /metrics is not served.
	MetricsAddress string
	MetricsToken   string
	// MaxConns and ConnsPerSource bound the connections of the HTTP and
	// HTTPS listeners together: past them a new connection is closed at
	// once (0: DefaultMaxConns, DefaultConnsPerSource; -1: no limit).
	// The per-source limit counts an IPv4 address or an IPv6 /64 and
	// exempts TrustedProxies.
	MaxConns, ConnsPerSource int
	TrustedProxies           netlimit.Proxies

	Store    conference.Store
	Hub      *ingest.Hub
	Packager *packager.Server
	// WebRTC serves WHEP; Relay is read for the metrics. Both optional.
	WebRTC *webrtc.Handler
	Relay  *relay.Relay
	// Recorder, when set, has its recordings served under /vod/ and its
	// admin API under /api/v1/admin/recordings; RecordingGate gates them by
	// their talk's event (nil: open).
	Recorder      *recorder.Recorder
	RecordingGate vod.Gate
	Logger        *slog.Logger
	// API serves /api/v1; nil: one on Store and Hub with defaults.
	API *api.Handler
	// Pages renders the HTML pages; nil: the track list and players only.
	Pages *pages.Handler
	// Gate, when set, guards the HLS files of registered events (it wraps
	// the one /hls/ handler the mux and the fast path share) and serves
	// the playback-token endpoint.
	Gate *gate.Gate
	// Live, when set, serves the websocket live channel.
	Live *live.Hub
	// RTMP returns the RTMP listeners' connection counters for /metrics
	// (nil: none).
	RTMP func() rtmp.Stats
	// Feed, when set, has its lost changes counted in the metrics.
	Feed *conference.Feed

	connStats connLimitStats
	fast      *fastpath.Server // cleartext; nil when it only redirects
	plain     *http.Server     // cleartext when it only redirects
	secure    *fastpath.Server
	metrics   *http.Server
	ln        net.Listener
	tlsLn     net.Listener
	metLn     net.Listener
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
	if s.API == nil {
		s.API = &api.Handler{Store: s.Store, Hub: s.Hub, Log: s.Logger}
		s.API.Initialize()
	}
	if s.Pages == nil {
		s.Pages = &pages.Handler{Tracks: s.Store, Log: s.Logger}
	}
	if s.Pages.WHEPURL == nil {
		s.Pages.WHEPURL = s.whepURL()
	}
	h := Handlers{
		HLS:           hls,
		Pages:         s.Pages,
		Metrics:       s.protectedMetrics(),
		Health:        s.health,
		API:           s.API,
		WebRTC:        s.WebRTC,
		PlaybackToken: token,
		Live:          liveHandler,
	}
	if s.Recorder != nil {
		h.VOD = &vod.Handler{Recorder: s.Recorder, Gate: s.RecordingGate, Log: s.Logger}
		h.RecordingsAdmin = &vod.Admin{Recorder: s.Recorder, Log: s.Logger}
	}
	return s.listen(hls, Routes(h))
}

// Addr returns the cleartext listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// whepURL gives the watch page the WHEP endpoint of a track when WebRTC is on.
func (s *Server) whepURL() func(string) string {
	if s.WebRTC == nil {
		return nil
	}
	return func(slug string) string { return "/whep/" + url.PathEscape(slug) }
}
