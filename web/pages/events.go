package pages

import (
	"net/http"

	"github.com/kastlive/kast/conference"
)

// eventItem is an event on the front page with its tracks.
type eventItem struct {
	Event  conference.Event
	Tracks []trackCard
}

// serveEvents renders / with the conference pages on: every event that
// has not ended (then the ended ones), each with its tracks and whether
// they are live.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	evs, err := h.Store.Events(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	var open, ended []eventItem
	for _, ev := range evs {
		ts, err := h.Store.EventTracks(r.Context(), ev.ID)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		it := eventItem{Event: ev}
		for _, t := range ts {
			it.Tracks = append(it.Tracks, trackCard{Track: t, Live: h.isLive(t.Slug), Viewers: h.viewerCount(t.Slug)})
		}
		if ev.Status == conference.StatusEnded {
			ended = append(ended, it)
		} else {
			open = append(open, it)
		}
	}
	h.render(w, r, http.StatusOK, "events.html", page{Title: "Events", Data: append(open, ended...), Viewer: h.viewer(r)})
}
