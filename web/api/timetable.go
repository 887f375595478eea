package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/conference/schedule"
)

// dryRun reads the dry_run query parameter.
func dryRun(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("dry_run")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &conference.FieldError{Field: "dry_run", Msg: "must be true or false"}
	}
	return b, nil
}

// ImportTimetable answers PUT /events/{event}/timetable (admin): the body
// is a timetable in the format its Content-Type names (application/json:
// kast's or pretalx/frab JSON; application/xml: frab XML). With
// ?dry_run=true nothing is stored and the answer shows what would change.
func (h *Handler) ImportTimetable(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	dry, err := dryRun(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.MaxTimetableBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "", "timetable larger than %d bytes", tooBig.Limit)
			return
		}
		writeError(w, http.StatusBadRequest, "", "reading the timetable: %v", err)
		return
	}
	h.importTimetable(w, r, ev, body, r.Header.Get("Content-Type"), dry)
}

func (h *Handler) importTimetable(w http.ResponseWriter, r *http.Request, ev conference.Event, body []byte, contentType string, dry bool) {
	tt, format, err := schedule.Parse(body, contentType)
	if err != nil {
		var fe *conference.FieldError
		if errors.As(err, &fe) {
			writeError(w, http.StatusUnprocessableEntity, fe.Field, "timetable: %s", fe.Error())
		} else {
			writeError(w, http.StatusUnsupportedMediaType, "", "%v", err)
		}
		return
	}
	ctx := r.Context()
	tracks, err := h.Store.EventTracks(ctx, ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	before, err := h.Store.EventOnAir(ctx, ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	talksBefore, err := h.Store.Talks(ctx, conference.TalkFilter{EventID: ev.ID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rep, err := h.Store.ImportTimetable(ctx, ev.ID, tt, dry)
	if err != nil {
		var fe *conference.FieldError
		if errors.As(err, &fe) {
			writeError(w, http.StatusUnprocessableEntity, fe.Field, "timetable: %s", fe.Error())
			return
		}
		h.fail(w, r, err)
		return
	}
	if !dry && rep.Changed() {
		h.Log.Info("timetable imported", "event", ev.Slug, "format", format, "changes", rep.String())
		h.announceImport(ctx, ev, tracks, before, talksBefore, rep)
	}
	writeJSON(w, http.StatusOK, viewReport(rep, string(format), ev.Location()))
}

// announceImport publishes what an applied import changed (tracks, each
// talk added, updated or withdrawn, on-air) and drops the publishers of
// removed tracks.
func (h *Handler) announceImport(ctx context.Context, ev conference.Event, before []conference.Track, onAir map[int64]conference.OnAir,
	talksBefore []conference.Talk, rep conference.ImportReport) {
	after, err := h.Store.EventTracks(ctx, ev.ID)
	if err != nil {
		h.Log.Warn("tracks after an import", "err", err)
		return
	}
	bySlug := map[string]conference.Track{}
	for _, t := range append(append([]conference.Track{}, before...), after...) {
		bySlug[t.Slug] = t
	}
	for _, slug := range rep.Tracks.Added {
		t := bySlug[slug]
		h.publish(conference.Change{Kind: conference.ChangeTrack, EventID: ev.ID, TrackID: t.ID, Track: slug, Event: &ev, Access: ev.Access})
	}
	for _, slug := range rep.Tracks.Updated {
		t := bySlug[slug]
		h.publish(conference.Change{Kind: conference.ChangeTrack, EventID: ev.ID, TrackID: t.ID, Track: slug, Event: &ev, Access: ev.Access})
	}
	for _, slug := range rep.Tracks.Removed {
		h.disconnect(slug)
		h.publish(conference.Change{Kind: conference.ChangeTrack, EventID: ev.ID, TrackID: bySlug[slug].ID, Track: slug, Event: &ev, Access: ev.Access, Deleted: true})
	}
	h.publish(conference.Change{Kind: conference.ChangeTimetable, EventID: ev.ID})
	h.announceTalks(ctx, ev, talksBefore, rep)
	h.publishOnAirChanges(ctx, ev, after, onAir)
}

// announceTalks publishes a ChangeTalk for every talk an import added,
// updated or removed.
func (h *Handler) announceTalks(ctx context.Context, ev conference.Event, before []conference.Talk, rep conference.ImportReport) {
	old := map[int64]conference.Talk{}
	for _, t := range before {
		old[t.ID] = t
	}
	var removed []conference.Talk
	for _, ref := range rep.Talks.Removed {
		t, ok := old[ref.ID]
		if !ok {
			t = conference.Talk{ID: ref.ID, EventID: ev.ID, GUID: ref.GUID, Title: ref.Title, Start: ref.Start}
		}
		removed = append(removed, t)
	}
	h.publishTalks(ev.ID, removed, true)
	if len(rep.Talks.Added)+len(rep.Talks.Updated) == 0 {
		return
	}
	now, err := h.Store.Talks(ctx, conference.TalkFilter{EventID: ev.ID})
	if err != nil {
		h.Log.Warn("talks after an import", "event", ev.Slug, "err", err)
		return
	}
	changed := map[int64]bool{}
	for _, ref := range append(append([]conference.TalkRef{}, rep.Talks.Added...), rep.Talks.Updated...) {
		changed[ref.ID] = true
	}
	var talks []conference.Talk
	for _, t := range now {
		if changed[t.ID] {
			talks = append(talks, t)
		}
	}
	h.publishTalks(ev.ID, talks, false)
}

// SyncTimetable answers POST /events/{event}/timetable/sync {"url": ...,
// "dry_run": false} (admin): kast fetches the timetable (http or https,
// at most MaxTimetableBytes, within SyncTimeout, never from loopback or
// link-local addresses unless allowed: see newFetchClient) and imports it
// like an upload, so organizers re-sync from pretalx during the event.
func (h *Handler) SyncTimetable(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	var in struct {
		URL    string `json:"url"`
		DryRun bool   `json:"dry_run"`
	}
	if !decode(w, r, &in) {
		return
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.URL) > 2048 {
		writeError(w, http.StatusUnprocessableEntity, "url", "url must be an http or https URL, such as https://pretalx.example.org/democon/schedule/export/schedule.json")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.SyncTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "url", "url: %v", err)
		return
	}
	req.Header.Set("Accept", "application/json, application/xml;q=0.9, text/xml;q=0.8")
	req.Header.Set("User-Agent", "kast timetable sync")
	res, err := h.Fetch.Do(req)
	if err != nil {
		h.Log.Warn("timetable sync: fetch failed", "event", ev.Slug, "host", u.Host, "err", redactURLError(err))
		writeError(w, http.StatusBadGateway, "url", "fetching the timetable failed: %s", describeFetchError(err))
		return
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		writeError(w, http.StatusBadGateway, "url", "fetching the timetable: the server answered %s", res.Status)
		return
	}
	if res.ContentLength > h.MaxTimetableBytes {
		writeError(w, http.StatusUnprocessableEntity, "url", "the timetable is larger than %d bytes", h.MaxTimetableBytes)
		return
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, h.MaxTimetableBytes+1))
	if err != nil {
		h.Log.Warn("timetable sync: read failed", "event", ev.Slug, "host", u.Host, "err", redactURLError(err))
		writeError(w, http.StatusBadGateway, "url", "reading the timetable failed: %s", describeFetchError(err))
		return
	}
	if int64(len(body)) > h.MaxTimetableBytes {
		writeError(w, http.StatusUnprocessableEntity, "url", "the timetable is larger than %d bytes", h.MaxTimetableBytes)
		return
	}
	ct := res.Header.Get("Content-Type")
	if _, err := schedule.Detect(body, ct); err != nil {
		ct = "" // servers label files loosely (text/plain, octet-stream): sniff
	}
	h.importTimetable(w, r, ev, body, ct, in.DryRun)
}

// redactURLError drops the URL from a client error (it may carry a
// token in its query).
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if errors.Is(ue.Err, context.DeadlineExceeded) || ue.Timeout() {
			return fmt.Errorf("no answer in time")
		}
		return ue.Err
	}
	return err
}

// ExportTimetable answers GET /events/{event}/timetable: the event's
// timetable in kast's JSON, which PUT /timetable takes back.
func (h *Handler) ExportTimetable(w http.ResponseWriter, r *http.Request) {
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
	var tt conference.Timetable
	keys := map[int64]string{}
	for _, t := range tracks {
		key := t.Room
		if key == "" {
			key = "track:" + t.Slug
		}
		keys[t.ID] = key
		tt.Rooms = append(tt.Rooms, conference.Room{Key: key, Name: t.Title, Slug: t.Slug})
	}
	for i, t := range talks {
		if t.GUID == "" {
			t.GUID = "kast-talk-" + strconv.FormatInt(t.ID, 10)
		}
		talks[i] = t
		tt.Talks = append(tt.Talks, conference.TimetableTalk{Room: keys[t.TrackID], Talk: t})
	}
	b, err := schedule.Marshal(tt, ev.Location())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	publicCache(w)
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}
