// Package pages renders kast's viewer-facing HTML: the track list, the
// player of a track, and the embedded static files (web/routes.go says
// where each is mounted).
// Pages are server-rendered html/template with plain JavaScript; nothing is
// fetched from a CDN.
package pages

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web/api"
	"github.com/kastlive/kast/web/assets"
)

// TrackLookup is the part of the store the pages read.
type TrackLookup interface {
	TrackBySlug(ctx context.Context, slug string) (conference.Track, error)
	Tracks(ctx context.Context) ([]conference.Track, error)
}

// Handler renders the pages; web/routes.go maps the paths to its methods.
// The zero value of every field except Tracks has a working default.
type Handler struct {
	// Tracks looks up the tracks to list and play.
	Tracks TrackLookup

	// HLSBuilt reports whether hls.js is embedded; nil means assets.HLSBuilt.
	HLSBuilt func() bool

	// PlaylistURL returns the LL-HLS playlist URL of a track; nil means
	// "/hls/<slug>/index.m3u8".
	PlaylistURL func(slug string) string

	// WHEPURL returns the WHEP endpoint of a track, "" when WebRTC is off;
	// nil means off.
	WHEPURL func(slug string) string

	// Log receives server-side errors; nil means slog.Default().
	Log *slog.Logger

	// The conference pages (event home, track, account and organizer
	// pages) need Store and Auth; without them only the track list and
	// /watch/ are served.
	Store conference.Store
	Auth  Authenticator
	// Live reports whether a track has a publisher now; Viewers how many
	// watch it. Both optional.
	Live    func(track string) bool
	Viewers func(track string) int
	// FrameAncestors is the Content-Security-Policy frame-ancestors of
	// the embeddable player (default "*": any site may embed it); every
	// other page may only be framed by kast itself.
	FrameAncestors string
	// IngestPorts says where OBS publishes (RTMP and RTMPS ports, 0: not
	// served), shown on the organizer pages with the request's host.
	IngestPorts func() (rtmp, rtmps int)
	// PublicHost, when set, replaces the request's host in those URLs.
	PublicHost string
	// Chat holds the chat and questions shown to late joiners; nil: no
	// chat on the track pages.
	Chat *conference.Chat
	// Recorded reports whether a talk has a recording (/vod/<talk>/);
	// nil: none. The event home links ended talks to theirs.
	Recorded func(talkID int64) bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Authenticator says who a request comes from (*api.Handler).
type Authenticator interface {
	Viewer(r *http.Request) (api.Viewer, error)
}

// Index lists the tracks with links to their players.
func (h *Handler) Index(w http.ResponseWriter, r *http.Request) { h.serveIndex(w, r) }

// Watch renders the player page of the track named by the "track" path value.
func (h *Handler) Watch(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("track")
	if slug == "" {
		h.notFound(w, r)
		return
	}
	h.serveWatch(w, r, slug)
}

// Asset serves the embedded file named by the "file" path value.
func (h *Handler) Asset(w http.ResponseWriter, r *http.Request) {
	h.serveAsset(w, r, r.PathValue("file"))
}

// NotFound renders the 404 page.
func (h *Handler) NotFound(w http.ResponseWriter, r *http.Request) { h.notFound(w, r) }

// serveIndex lists the events (with the conference pages) or the tracks
// with links to their players.
func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	if h.Store != nil && h.Auth != nil {
		h.serveEvents(w, r)
		return
	}
	tracks, err := h.Tracks.Tracks(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	type item struct {
		Track conference.Track
		URL   string
	}
	items := make([]item, len(tracks))
	for i, t := range tracks {
		items[i] = item{Track: t, URL: "/watch/" + url.PathEscape(t.Slug)}
	}
	h.render(w, r, http.StatusOK, "index.html", page{Title: "Live streams", Data: items})
}

// watchData is what watch.html renders.
type watchData struct {
	Track       conference.Track
	PlaylistURL string
	WHEPURL     string
	HLSBuilt    bool
}

// serveWatch renders the player page of one track.
func (h *Handler) serveWatch(w http.ResponseWriter, r *http.Request, slug string) {
	t, err := h.Tracks.TrackBySlug(r.Context(), slug)
	if errors.Is(err, conference.ErrNotFound) {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := watchData{Track: t, PlaylistURL: h.playlistURL(t.Slug), HLSBuilt: h.hlsBuilt()}
	if h.WHEPURL != nil {
		d.WHEPURL = h.WHEPURL(t.Slug)
	}
	h.render(w, r, http.StatusOK, "watch.html", page{Title: t.Title, Data: d})
}

// notFound renders the 404 page.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusNotFound, "notfound.html", page{Title: "Not found", Data: r.URL.Path})
}

// serverError logs err and renders a generic 500 page.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.log().Error("pages: request failed", "path", r.URL.Path, "err", err)
	h.render(w, r, http.StatusInternalServerError, "error.html", page{Title: "Error"})
}

func (h *Handler) hlsBuilt() bool {
	if h.HLSBuilt != nil {
		return h.HLSBuilt()
	}
	return assets.HLSBuilt()
}

func (h *Handler) playlistURL(slug string) string {
	if h.PlaylistURL != nil {
		return h.PlaylistURL(slug)
	}
	return "/hls/" + url.PathEscape(slug) + "/index.m3u8"
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}
