package pages

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/kastlive/kast/conference"
)

// publishData is what publish.html renders.
type publishData struct {
	Track   conference.Track
	WHIPURL string
}

// Publish renders the WHIP publishing page of the track named by the
// "track" path value: a remote speaker goes live from a browser tab.
func (h *Handler) Publish(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("track")
	t, err := h.Tracks.TrackBySlug(r.Context(), slug)
	if errors.Is(err, conference.ErrNotFound) || slug == "" {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	// The camera and the stream key stay on this page: nobody may frame it.
	w.Header().Set("X-Frame-Options", "DENY")
	h.render(w, r, http.StatusOK, "publish.html", page{
		Title: "Go live: " + t.Title,
		Data:  publishData{Track: t, WHIPURL: "/whip/" + url.PathEscape(t.Slug)},
		Frame: "'none'",
	})
}
