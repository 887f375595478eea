package web

import (
	"net/http"

	"github.com/kastlive/kast/web/pages"
	"github.com/kastlive/kast/web/vod"
)

// Every path kast serves over HTTP is registered here and nowhere else.

// hlsPrefix is where the LL-HLS presentations live: /hls/<track>/<file>.
// The fast path takes the requests under it (see Server.Initialize).
const hlsPrefix = "/hls/"

// Handlers are the handler values the routes map to. A nil field leaves
// its routes out (tests mount only what they need).
type Handlers struct {
	// HLS serves /hls/<track>/<file>; the fast path is given the same
	// value, so whatever wraps it (a playback gate) covers both.
	HLS     http.Handler
	Pages   *pages.Handler
	Metrics http.Handler
	Health  http.HandlerFunc
	// VOD serves the recordings, RecordingsAdmin their admin API.
	VOD             *vod.Handler
	RecordingsAdmin *vod.Admin
}

// Routes returns the mux serving h.
func Routes(h Handlers) *http.ServeMux {
	mux := http.NewServeMux()
	if h.HLS != nil {
		mux.Handle(hlsPrefix, h.HLS)
	}
	if h.Metrics != nil {
		mux.Handle("GET /metrics", h.Metrics)
	}
	if h.Health != nil {
		mux.HandleFunc("GET /healthz", h.Health)
	}
	if v := h.VOD; v != nil {
		mux.HandleFunc("GET /vod/{talk}/index.m3u8", v.TalkPlaylist)
		mux.HandleFunc("GET /vod/{talk}/talk.mp4", v.TalkMP4)
		mux.HandleFunc("GET /vod/{talk}/poster.jpg", v.TalkPoster)
		mux.HandleFunc("GET /vod/{talk}/{publish}/{file}", v.TalkFile)
		mux.HandleFunc("GET /vod/p/{track}/{publish}/index.m3u8", v.PublishPlaylist)
		mux.HandleFunc("GET /vod/p/{track}/{publish}/recording.mp4", v.PublishMP4)
		mux.HandleFunc("GET /vod/p/{track}/{publish}/poster.jpg", v.PublishPoster)
		mux.HandleFunc("GET /vod/p/{track}/{publish}/{file}", v.PublishFile)
	}
	if a := h.RecordingsAdmin; a != nil {
		mux.HandleFunc("GET /api/admin/recordings", a.List)
		mux.HandleFunc("POST /api/admin/recordings/talks/{talk}/trim", a.Trim)
		mux.HandleFunc("DELETE /api/admin/recordings/talks/{talk}", a.DeleteTalk)
		mux.HandleFunc("DELETE /api/admin/recordings/publishes/{track}/{publish}", a.DeletePublish)
	}
	if p := h.Pages; p != nil {
		mux.HandleFunc("GET /{$}", p.Index)
		mux.HandleFunc("GET /watch/{track}", p.Watch)
		mux.HandleFunc("GET /watch/{track}/{$}", p.Watch)
		mux.HandleFunc("GET /assets/{file...}", p.Asset)
		mux.HandleFunc("/", p.NotFound)
	}
	return mux
}

// MetricsRoutes returns the mux of the separate metrics listener.
func MetricsRoutes(metrics http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	return mux
}
