package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/kastlive/kast/conference"
)

// talkInput is the body of POST /events/{event}/talks and PATCH
// /talks/{id}.
type talkInput struct {
	Track    string        `json:"track"` // slug or id
	GUID     string        `json:"guid"`
	Title    string        `json:"title"`
	Abstract string        `json:"abstract"`
	Speakers []speakerView `json:"speakers"`
	Start    string        `json:"start"`
	End      string        `json:"end"`
	Kind     string        `json:"kind"`
	Language string        `json:"language"`
	// DoNotRecord: the speaker opted out of the recording.
	DoNotRecord bool `json:"do_not_record"`
}

// talk builds and validates the talk of in for ev, on one of tracks.
func (in talkInput) talk(ev conference.Event, tracks []conference.Track, id int64) (conference.Talk, error) {
	var trackID int64
	for _, t := range tracks {
		if t.Slug == in.Track || strconv.FormatInt(t.ID, 10) == in.Track {
			trackID = t.ID
		}
	}
	if trackID == 0 {
		return conference.Talk{}, &conference.FieldError{Field: "track", Msg: "must name one of the event's tracks (slug or id)"}
	}
	start, err := parseTime("start", in.Start)
	if err != nil {
		return conference.Talk{}, err
	}
	end, err := parseTime("end", in.End)
	if err != nil {
		return conference.Talk{}, err
	}
	t := conference.Talk{ID: id, EventID: ev.ID, TrackID: trackID, GUID: in.GUID, Title: in.Title, Abstract: in.Abstract,
		Start: start, End: end, Kind: conference.TalkKind(in.Kind), Language: in.Language, DoNotRecord: in.DoNotRecord}
	for _, s := range in.Speakers {
		t.Speakers = append(t.Speakers, conference.Speaker{Name: s.Name, Bio: s.Bio})
	}
	t.Normalize()
	return t, t.Validate(ev)
}

func trackSlugs(tracks []conference.Track) map[int64]string {
	m := make(map[int64]string, len(tracks))
	for _, t := range tracks {
		m[t.ID] = t.Slug
	}
	return m
}

// onAirTalks returns the ids of the talks on air on the event's tracks.
func (h *Handler) onAirTalks(ctx context.Context, eventID int64) (map[int64]bool, error) {
	m, err := h.Store.EventOnAir(ctx, eventID)
	if err != nil {
		return nil, err
	}
	ids := map[int64]bool{}
	for _, o := range m {
		if o.TalkID != 0 {
			ids[o.TalkID] = true
		}
	}
	return ids, nil
}

// ListTalks answers GET /events/{event}/talks?track=<slug>&day=YYYY-MM-DD
// (the day in the event's time zone).
func (h *Handler) ListTalks(w http.ResponseWriter, r *http.Request) {
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
	f := conference.TalkFilter{EventID: ev.ID}
	if ref := r.URL.Query().Get("track"); ref != "" {
		for _, t := range tracks {
			if t.Slug == ref || strconv.FormatInt(t.ID, 10) == ref {
				f.TrackID = t.ID
			}
		}
		if f.TrackID == 0 {
			writeError(w, http.StatusNotFound, "track", "event %q has no track %q", ev.Slug, ref)
			return
		}
	}
	if day := r.URL.Query().Get("day"); day != "" {
		d, err := time.ParseInLocation("2006-01-02", day, ev.Location())
		if err != nil {
			writeError(w, http.StatusBadRequest, "day", "day must be a date such as 2027-03-13, not %q", day)
			return
		}
		f.From, f.To = d, d.AddDate(0, 0, 1)
	}
	talks, err := h.Store.Talks(ctx, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	onAir, err := h.onAirTalks(ctx, ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	slugs := trackSlugs(tracks)
	out := []talkView{}
	for _, t := range talks {
		out = append(out, h.viewTalk(ev, slugs[t.TrackID], t, onAir[t.ID]))
	}
	publicCache(w)
	writeJSON(w, http.StatusOK, out)
}

// talk loads the talk named by the {id} path value with its event.
func (h *Handler) talk(w http.ResponseWriter, r *http.Request) (conference.Talk, conference.Event, []conference.Track, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "id", "no talk %q", r.PathValue("id"))
		return conference.Talk{}, conference.Event{}, nil, false
	}
	ctx := r.Context()
	t, err := h.Store.TalkByID(ctx, id)
	var ev conference.Event
	var tracks []conference.Track
	if err == nil {
		ev, err = h.Store.EventByID(ctx, t.EventID)
	}
	if err == nil {
		tracks, err = h.Store.EventTracks(ctx, t.EventID)
	}
	if err != nil {
		if isNotFoundErr(err) {
			writeError(w, http.StatusNotFound, "id", "no talk %d", id)
		} else {
			h.fail(w, r, err)
		}
		return conference.Talk{}, conference.Event{}, nil, false
	}
	return t, ev, tracks, true
}

// GetTalk answers GET /talks/{id}.
func (h *Handler) GetTalk(w http.ResponseWriter, r *http.Request) {
	t, ev, tracks, ok := h.talk(w, r)
	if !ok {
		return
	}
	onAir, err := h.onAirTalks(r.Context(), ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	publicCache(w)
	writeJSON(w, http.StatusOK, h.viewTalk(ev, trackSlugs(tracks)[t.TrackID], t, onAir[t.ID]))
}

// CreateTalk answers POST /events/{event}/talks (admin).
func (h *Handler) CreateTalk(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	var in talkInput
	if !decode(w, r, &in) {
		return
	}
	tracks, err := h.Store.EventTracks(r.Context(), ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	t, err := in.talk(ev, tracks, 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if t, err = h.Store.CreateTalk(r.Context(), t); err != nil {
		h.fail(w, r, err)
		return
	}
	h.publish(conference.Change{Kind: conference.ChangeTimetable, EventID: ev.ID})
	h.publishTalks(ev.ID, []conference.Talk{t}, false)
	w.Header().Set("Location", "/api/v1/talks/"+strconv.FormatInt(t.ID, 10))
	writeJSON(w, http.StatusCreated, h.viewTalk(ev, trackSlugs(tracks)[t.TrackID], t, false))
}

// UpdateTalk answers PATCH /talks/{id} (admin); fields left out keep
// their value.
func (h *Handler) UpdateTalk(w http.ResponseWriter, r *http.Request) {
	cur, ev, tracks, ok := h.talk(w, r)
	if !ok {
		return
	}
	loc := ev.Location()
	in := talkInput{Track: trackSlugs(tracks)[cur.TrackID], GUID: cur.GUID, Title: cur.Title, Abstract: cur.Abstract,
		Start: formatTime(cur.Start, loc), End: formatTime(cur.End, loc), Kind: string(cur.Kind), Language: cur.Language,
		DoNotRecord: cur.DoNotRecord}
	for _, s := range cur.Speakers {
		in.Speakers = append(in.Speakers, speakerView{Name: s.Name, Bio: s.Bio})
	}
	if !decode(w, r, &in) {
		return
	}
	t, err := in.talk(ev, tracks, cur.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx := r.Context()
	before, err := h.Store.EventOnAir(ctx, ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if t, err = h.Store.UpdateTalk(ctx, t); err != nil {
		h.fail(w, r, err)
		return
	}
	h.publish(conference.Change{Kind: conference.ChangeTimetable, EventID: ev.ID})
	h.publishTalks(ev.ID, []conference.Talk{t}, false)
	// A talk on air that moved to another track leaves the old one.
	if o, ok := before[cur.TrackID]; ok && o.TalkID == cur.ID && t.TrackID != cur.TrackID {
		for _, tr := range tracks {
			if tr.ID == cur.TrackID {
				h.Scheduler.SetOnAir(ctx, tr, 0)
			}
		}
	}
	onAir, err := h.onAirTalks(ctx, ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.viewTalk(ev, trackSlugs(tracks)[t.TrackID], t, onAir[t.ID]))
}

// DeleteTalk answers DELETE /talks/{id} (admin). A track showing it shows
// nothing after.
func (h *Handler) DeleteTalk(w http.ResponseWriter, r *http.Request) {
	t, ev, tracks, ok := h.talk(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	before, err := h.Store.EventOnAir(ctx, ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.Store.DeleteTalk(ctx, t.ID); err != nil {
		h.fail(w, r, err)
		return
	}
	h.publish(conference.Change{Kind: conference.ChangeTimetable, EventID: ev.ID})
	h.publishTalks(ev.ID, []conference.Talk{t}, true)
	h.publishOnAirChanges(ctx, ev, tracks, before)
	w.WriteHeader(http.StatusNoContent)
}

// publishTalks publishes a ChangeTalk for each talk: created or updated
// (talks their new state), or deleted (their last state).
func (h *Handler) publishTalks(eventID int64, talks []conference.Talk, deleted bool) {
	for i := range talks {
		t := talks[i]
		h.publish(conference.Change{Kind: conference.ChangeTalk, EventID: eventID, TrackID: t.TrackID, Talk: &t, Deleted: deleted})
	}
}

// publishOnAirChanges publishes an on-air change for every track whose
// talk differs from before (talks removed by a delete or an import).
func (h *Handler) publishOnAirChanges(ctx context.Context, ev conference.Event, tracks []conference.Track, before map[int64]conference.OnAir) {
	after, err := h.Store.EventOnAir(ctx, ev.ID)
	if err != nil {
		h.Log.Warn("on-air after a timetable change", "event", ev.Slug, "err", err)
		return
	}
	for _, tr := range tracks {
		if before[tr.ID].TalkID == after[tr.ID].TalkID {
			continue
		}
		var talk *conference.Talk
		if id := after[tr.ID].TalkID; id != 0 {
			if k, err := h.Store.TalkByID(ctx, id); err == nil {
				talk = &k
			}
		}
		h.publish(conference.Change{Kind: conference.ChangeOnAir, EventID: ev.ID, TrackID: tr.ID, Track: tr.Slug, Talk: talk})
	}
}
