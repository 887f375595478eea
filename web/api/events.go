package api

import (
	"context"
	"net/http"

	"github.com/kastlive/kast/conference"
)

// eventInput is the body of POST /events and PATCH /events/{event}. A
// PATCH starts from the stored event, so fields left out keep their value.
type eventInput struct {
	Slug            string `json:"slug"`
	Name            string `json:"name"`
	Start           string `json:"start"`
	End             string `json:"end"`
	TimeZone        string `json:"timezone"`
	Access          string `json:"access"`
	OfflineCapacity int    `json:"offline_capacity"`
	Status          string `json:"status"`
	AutoOnAir       bool   `json:"auto_on_air"`
}

func (in eventInput) event(id int64) (conference.Event, error) {
	start, err := parseTime("start", in.Start)
	if err != nil {
		return conference.Event{}, err
	}
	end, err := parseTime("end", in.End)
	if err != nil {
		return conference.Event{}, err
	}
	ev := conference.Event{ID: id, Slug: in.Slug, Title: in.Name, Start: start, End: end, TimeZone: in.TimeZone,
		Access: conference.Access(in.Access), OfflineCapacity: in.OfflineCapacity,
		Status: conference.EventStatus(in.Status), AutoOnAir: in.AutoOnAir}
	ev.Normalize()
	return ev, ev.Validate()
}

// event loads the event named by the {event} path value; it answers and
// returns false when there is none.
func (h *Handler) event(w http.ResponseWriter, r *http.Request) (conference.Event, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	ev, err := h.Store.EventBySlug(ctx, r.PathValue("event"))
	if err != nil {
		if isNotFoundErr(err) {
			writeError(w, http.StatusNotFound, "event", "no event %q", r.PathValue("event"))
		} else {
			h.fail(w, r, err)
		}
		return conference.Event{}, false
	}
	return ev, true
}

func (h *Handler) eventView(ctx context.Context, ev conference.Event) (eventView, error) {
	v := viewEvent(ev)
	n, err := h.Store.OfflineCount(ctx, ev.ID)
	if err != nil {
		return eventView{}, err
	}
	left := max(0, ev.OfflineCapacity-n)
	v.OfflineSeatsLeft = &left
	return v, nil
}

// ListEvents answers GET /events.
func (h *Handler) ListEvents(w http.ResponseWriter, r *http.Request) {
	evs, err := h.Store.Events(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []eventView{}
	for _, ev := range evs {
		out = append(out, viewEvent(ev))
	}
	publicCache(w)
	writeJSON(w, http.StatusOK, out)
}

// GetEvent answers GET /events/{event}.
func (h *Handler) GetEvent(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	v, err := h.eventView(r.Context(), ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	publicCache(w)
	writeJSON(w, http.StatusOK, v)
}

// CreateEvent answers POST /events (admin).
func (h *Handler) CreateEvent(w http.ResponseWriter, r *http.Request) {
	var in eventInput
	if !decode(w, r, &in) {
		return
	}
	ev, err := in.event(0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ev, err = h.Store.CreateEvent(r.Context(), ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.publish(conference.Change{Kind: conference.ChangeEvent, EventID: ev.ID, Event: &ev, Access: ev.Access})
	w.Header().Set("Location", "/api/v1/events/"+ev.Slug)
	v, err := h.eventView(r.Context(), ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// UpdateEvent answers PATCH /events/{event} (admin). Talks must still
// lie inside new dates.
func (h *Handler) UpdateEvent(w http.ResponseWriter, r *http.Request) {
	cur, ok := h.event(w, r)
	if !ok {
		return
	}
	loc := cur.Location()
	in := eventInput{Slug: cur.Slug, Name: cur.Title, Start: formatTime(cur.Start, loc), End: formatTime(cur.End, loc),
		TimeZone: cur.TimeZone, Access: string(cur.Access), OfflineCapacity: cur.OfflineCapacity,
		Status: string(cur.Status), AutoOnAir: cur.AutoOnAir}
	if !decode(w, r, &in) {
		return
	}
	ev, err := in.event(cur.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The store checks the talks against the new dates in its write.
	ev, err = h.Store.UpdateEvent(r.Context(), ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.publish(conference.Change{Kind: conference.ChangeEvent, EventID: ev.ID, Event: &ev, Access: ev.Access})
	v, err := h.eventView(r.Context(), ev)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// DeleteEvent answers DELETE /events/{event} (admin): the event goes with
// its tracks (their publishers are dropped), talks and registrations.
func (h *Handler) DeleteEvent(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	tracks, err := h.Store.EventTracks(r.Context(), ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	talks, err := h.Store.Talks(r.Context(), conference.TalkFilter{EventID: ev.ID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Store.DeleteEvent(r.Context(), ev.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.publishTalks(ev.ID, talks, true)
	for _, t := range tracks {
		h.disconnect(t.Slug)
		h.publish(conference.Change{Kind: conference.ChangeTrack, EventID: ev.ID, TrackID: t.ID, Track: t.Slug, Access: ev.Access, Deleted: true})
	}
	h.publish(conference.Change{Kind: conference.ChangeEvent, EventID: ev.ID, Event: &ev, Access: ev.Access, Deleted: true})
	w.WriteHeader(http.StatusNoContent)
}

// publicCache lets browsers and caches keep a public read briefly.
func publicCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "public, max-age=2")
	w.Header().Set("Access-Control-Allow-Origin", "*")
}
