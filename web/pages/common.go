package pages

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web/api"
)

// storeTimeout bounds the store reads of one page.
const storeTimeout = 10 * time.Second

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// enabled answers 404 when the conference pages are not wired.
func (h *Handler) enabled(w http.ResponseWriter, r *http.Request) bool {
	if h.Store == nil || h.Auth == nil {
		h.notFound(w, r)
		return false
	}
	return true
}

// viewer is who the request comes from; a store failure is logged and
// treated as anonymous, so a page still renders.
func (h *Handler) viewer(r *http.Request) api.Viewer {
	v, err := h.Auth.Viewer(r)
	if err != nil && !errors.Is(err, context.Canceled) {
		h.log().Warn("pages: viewer", "err", err)
	}
	return v
}

// loadEvent reads the event named by the "event" path value, answering
// 404 or 500 itself when it returns false.
func (h *Handler) loadEvent(w http.ResponseWriter, r *http.Request) (conference.Event, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	ev, err := h.Store.EventBySlug(ctx, r.PathValue("event"))
	if errors.Is(err, conference.ErrNotFound) {
		h.notFound(w, r)
		return ev, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return ev, false
	}
	return ev, true
}

// loadTrack reads the event and its track named by the path values.
func (h *Handler) loadTrack(w http.ResponseWriter, r *http.Request) (conference.Event, conference.Track, bool) {
	ev, ok := h.loadEvent(w, r)
	if !ok {
		return ev, conference.Track{}, false
	}
	t, err := h.Store.TrackBySlug(r.Context(), r.PathValue("track"))
	if errors.Is(err, conference.ErrNotFound) || (err == nil && t.EventID != ev.ID) {
		h.notFound(w, r)
		return ev, t, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return ev, t, false
	}
	return ev, t, true
}

func (h *Handler) isLive(track string) bool { return h.Live != nil && h.Live(track) }

func (h *Handler) viewerCount(track string) int {
	if h.Viewers == nil {
		return 0
	}
	return h.Viewers(track)
}

// registered reports whether the viewer's account is registered for ev.
func (h *Handler) registered(ctx context.Context, v api.Viewer, ev conference.Event) (conference.Registration, bool) {
	if v.Account == nil {
		return conference.Registration{}, false
	}
	reg, err := h.Store.RegistrationFor(ctx, ev.ID, v.Account.ID)
	return reg, err == nil
}

// safeNext returns a local path to go to after logging in ("/" unless
// next is a path on this site).
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || u.Host != "" || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}

// ingestHost is the host OBS should publish to.
func (h *Handler) ingestHost(r *http.Request) string {
	if h.PublicHost != "" {
		return h.PublicHost
	}
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return host
}
