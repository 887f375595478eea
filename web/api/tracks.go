package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/kastlive/kast/conference"
)

func isNotFoundErr(err error) bool { return errors.Is(err, conference.ErrNotFound) }

// track loads the track named by the {track} path value: a numeric id or
// a slug (slugs start with a letter).
func (h *Handler) track(w http.ResponseWriter, r *http.Request) (conference.Track, conference.Event, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	ref := r.PathValue("track")
	var t conference.Track
	var err error
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		t, err = h.Store.TrackByID(ctx, id)
	} else {
		t, err = h.Store.TrackBySlug(ctx, ref)
	}
	var ev conference.Event
	if err == nil {
		ev, err = h.Store.EventByID(ctx, t.EventID)
	}
	if err != nil {
		if isNotFoundErr(err) {
			writeError(w, http.StatusNotFound, "track", "no track %q", ref)
		} else {
			h.fail(w, r, err)
		}
		return conference.Track{}, conference.Event{}, false
	}
	return t, ev, true
}

// trackView renders t with its live state and on-air talk.
func (h *Handler) trackView(ctx context.Context, ev conference.Event, t conference.Track, onAir conference.OnAir) (trackView, error) {
	v := trackView{ID: t.ID, Event: ev.Slug, Slug: t.Slug, Name: t.Title, Order: t.Order, Room: t.Room,
		Live: h.live(t.Slug), HLSURL: HLSURL(t.Slug), WHEPURL: WHEPURL(t.Slug), Viewers: h.viewers(t.Slug)}
	if onAir.TalkID != 0 {
		k, err := h.Store.TalkByID(ctx, onAir.TalkID)
		if err != nil && !isNotFoundErr(err) {
			return trackView{}, err
		}
		if err == nil {
			tv := h.viewTalk(ev, t.Slug, k, true)
			v.OnAir = &tv
		}
	}
	return v, nil
}

// ListTracks answers GET /events/{event}/tracks.
func (h *Handler) ListTracks(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	tracks, err := h.Store.EventTracks(ctx, ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	onAir, err := h.Store.EventOnAir(ctx, ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []trackView{}
	for _, t := range tracks {
		v, err := h.trackView(ctx, ev, t, onAir[t.ID])
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out = append(out, v)
	}
	publicCache(w)
	writeJSON(w, http.StatusOK, out)
}

// GetTrack answers GET /tracks/{track}.
func (h *Handler) GetTrack(w http.ResponseWriter, r *http.Request) {
	t, ev, ok := h.track(w, r)
	if !ok {
		return
	}
	o, err := h.Store.OnAir(r.Context(), t.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.trackView(r.Context(), ev, t, o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	publicCache(w)
	writeJSON(w, http.StatusOK, v)
}

type trackInput struct {
	Slug  string `json:"slug"`
	Name  string `json:"name"`
	Order int    `json:"order"`
}

// CreateTrack answers POST /events/{event}/tracks (admin). The answer
// holds the new stream key, shown this once.
func (h *Handler) CreateTrack(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	var in trackInput
	if !decode(w, r, &in) {
		return
	}
	t := conference.Track{EventID: ev.ID, Slug: in.Slug, Title: in.Name, Order: in.Order}
	if err := t.Validate(); err != nil {
		h.fail(w, r, err)
		return
	}
	t, key, err := h.Store.CreateTrack(r.Context(), t)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.publish(conference.Change{Kind: conference.ChangeTrack, EventID: ev.ID, TrackID: t.ID, Track: t.Slug, Event: &ev, Access: ev.Access})
	v, err := h.trackView(r.Context(), ev, t, conference.OnAir{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.StreamKey = key
	w.Header().Set("Location", "/api/v1/tracks/"+t.Slug)
	writeJSON(w, http.StatusCreated, v)
}

// UpdateTrack answers PATCH /tracks/{track} (admin). A new slug moves the
// track's URLs: its publisher is dropped and reconnects to the new name.
func (h *Handler) UpdateTrack(w http.ResponseWriter, r *http.Request) {
	cur, ev, ok := h.track(w, r)
	if !ok {
		return
	}
	in := trackInput{Slug: cur.Slug, Name: cur.Title, Order: cur.Order}
	if !decode(w, r, &in) {
		return
	}
	t := cur
	t.Slug, t.Title, t.Order = in.Slug, in.Name, in.Order
	if err := t.Validate(); err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := h.Store.UpdateTrack(r.Context(), t)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c := conference.Change{Kind: conference.ChangeTrack, EventID: ev.ID, TrackID: t.ID, Track: t.Slug, Event: &ev, Access: ev.Access}
	if t.Slug != cur.Slug {
		c.OldTrack = cur.Slug
		h.disconnect(cur.Slug)
	}
	h.publish(c)
	o, err := h.Store.OnAir(r.Context(), t.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.trackView(r.Context(), ev, t, o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// DeleteTrack answers DELETE /tracks/{track} (admin): the track goes with
// its talks and stream key, and its publisher is dropped.
func (h *Handler) DeleteTrack(w http.ResponseWriter, r *http.Request) {
	t, ev, ok := h.track(w, r)
	if !ok {
		return
	}
	talks, err := h.Store.Talks(r.Context(), conference.TalkFilter{TrackID: t.ID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Store.DeleteTrack(r.Context(), t.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.publishTalks(ev.ID, talks, true)
	h.disconnect(t.Slug)
	h.publish(conference.Change{Kind: conference.ChangeTrack, EventID: ev.ID, TrackID: t.ID, Track: t.Slug, Event: &ev, Access: ev.Access, Deleted: true})
	w.WriteHeader(http.StatusNoContent)
}

// RotateStreamKey answers POST /tracks/{track}/stream-key (admin): a new
// key, shown once; the old one stops working and the publisher using it
// is dropped (OBS reconnecting with the old key is refused).
func (h *Handler) RotateStreamKey(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.track(w, r)
	if !ok {
		return
	}
	key, err := h.Store.RotateStreamKey(r.Context(), t.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dropped := h.disconnect(t.Slug)
	h.Log.Info("stream key rotated", "track", t.Slug, "publisher_dropped", dropped)
	writeJSON(w, http.StatusOK, map[string]any{"track": t.Slug, "stream_key": key, "publisher_dropped": dropped})
}

type onAirView struct {
	Track       string    `json:"track"`
	Talk        *talkView `json:"talk"`
	Manual      bool      `json:"manual"`
	ManualUntil string    `json:"manual_until,omitempty"`
	ChangedAt   string    `json:"changed_at,omitempty"`
}

func (h *Handler) onAirView(ctx context.Context, ev conference.Event, t conference.Track, o conference.OnAir) (onAirView, error) {
	loc := ev.Location()
	v := onAirView{Track: t.Slug, Manual: o.Manual, ManualUntil: formatTime(o.ManualUntil, loc), ChangedAt: formatTime(o.ChangedAt, loc)}
	if o.TalkID != 0 {
		k, err := h.Store.TalkByID(ctx, o.TalkID)
		if err != nil && !isNotFoundErr(err) {
			return onAirView{}, err
		}
		if err == nil {
			tv := h.viewTalk(ev, t.Slug, k, true)
			v.Talk = &tv
		}
	}
	return v, nil
}

// GetOnAir answers GET /tracks/{track}/on-air.
func (h *Handler) GetOnAir(w http.ResponseWriter, r *http.Request) {
	t, ev, ok := h.track(w, r)
	if !ok {
		return
	}
	o, err := h.Store.OnAir(r.Context(), t.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.onAirView(r.Context(), ev, t, o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	publicCache(w)
	writeJSON(w, http.StatusOK, v)
}

// SetOnAir answers PUT /tracks/{track}/on-air {"talk_id": n | null}
// (admin). The change goes out on the Feed (live channel, recorder).
func (h *Handler) SetOnAir(w http.ResponseWriter, r *http.Request) {
	t, ev, ok := h.track(w, r)
	if !ok {
		return
	}
	var in struct {
		TalkID *int64 `json:"talk_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	var id int64
	if in.TalkID != nil {
		id = *in.TalkID
	}
	o, _, err := h.Scheduler.SetOnAir(r.Context(), t, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.onAirView(r.Context(), ev, t, o)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}
