package storetest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

func testEvents(t *testing.T, s conference.Store) {
	ev := mustEvent(t, s, DemoCon())
	if ev.ID == 0 || ev.CreatedAt.IsZero() {
		t.Fatalf("created %+v", ev)
	}
	got, err := s.EventBySlug(ctx, "democon")
	if err != nil || !got.Start.Equal(ev.Start) || !got.End.Equal(ev.End) || got.Access != conference.AccessRegistered ||
		got.OfflineCapacity != 100 || got.TimeZone != "Europe/Berlin" || got.Title != ev.Title {
		t.Fatalf("EventBySlug = %+v, %v", got, err)
	}
	if _, err := s.CreateEvent(ctx, DemoCon()); !errors.Is(err, conference.ErrConflict) {
		t.Fatalf("duplicate slug: %v", err)
	}
	got.Title, got.AutoOnAir, got.Status = Verbatim, true, conference.StatusLive
	if got, err = s.UpdateEvent(ctx, got); err != nil || got.Title != Verbatim || !got.AutoOnAir || got.Status != conference.StatusLive {
		t.Fatalf("UpdateEvent = %+v, %v", got, err)
	}
	if _, err := s.UpdateEvent(ctx, conference.Event{ID: 9999, Slug: "x", Title: "x", TimeZone: "UTC", Access: "public", Status: "live"}); !isNotFound(err) {
		t.Fatalf("update missing: %v", err)
	}
	// New dates that would leave a talk outside: refused in the write.
	room, _ := mustTrack(t, s, conference.Track{EventID: ev.ID, Slug: "hall", Title: "Hall"})
	day2 := time.Date(2027, 3, 14, 10, 0, 0, 0, berlin())
	k := mustTalk(t, s, conference.Talk{EventID: ev.ID, TrackID: room.ID, Title: "Day two", Start: day2, End: day2.Add(time.Hour)})
	shorter := got
	shorter.End = time.Date(2027, 3, 14, 0, 0, 0, 0, berlin())
	var fe *conference.FieldError
	if _, err := s.UpdateEvent(ctx, shorter); !errors.As(err, &fe) || fe.Field != "start" || !strings.Contains(fe.Msg, "Day two") {
		t.Fatalf("dates leaving talk %d outside: %v", k.ID, err)
	}
	if e, _ := s.EventByID(ctx, ev.ID); !e.End.Equal(got.End) {
		t.Fatalf("refused dates written: %v", e.End)
	}
	if err := s.DeleteTrack(ctx, room.ID); err != nil {
		t.Fatal(err)
	}
	other := mustEvent(t, s, conference.Event{Slug: "meetup", Title: "Meetup"})
	evs, err := s.Events(ctx)
	if err != nil || len(evs) != 2 || evs[0].ID != ev.ID || evs[1].ID != other.ID {
		t.Fatalf("Events = %+v, %v", evs, err)
	}
	tr, _ := mustTrack(t, s, conference.Track{EventID: other.ID, Slug: "room", Title: "Room"})
	if err := s.DeleteEvent(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TrackByID(ctx, tr.ID); !isNotFound(err) {
		t.Fatalf("track of a deleted event: %v", err)
	}
	if err := s.DeleteEvent(ctx, other.ID); !isNotFound(err) {
		t.Fatalf("second delete: %v", err)
	}
}

func testTracks(t *testing.T, s conference.Store) {
	a := mustEvent(t, s, DemoCon())
	b := mustEvent(t, s, conference.Event{Slug: "other", Title: "Other"})
	t1, key := mustTrack(t, s, conference.Track{EventID: a.ID, Slug: "saal-1", Title: Verbatim, Order: 2})
	t2, _ := mustTrack(t, s, conference.Track{EventID: a.ID, Slug: "saal-2", Title: "Saal 2", Order: 1})
	if len(key) < 40 {
		t.Fatalf("stream key %q", key)
	}
	if got, err := s.TrackByStreamKey(ctx, key); err != nil || got != t1 {
		t.Fatalf("TrackByStreamKey = %+v, %v", got, err)
	}
	if _, _, err := s.CreateTrack(ctx, conference.Track{EventID: b.ID, Slug: "saal-1", Title: "x"}); !errors.Is(err, conference.ErrConflict) {
		t.Fatalf("slug used by another event: %v", err)
	}
	if _, _, err := s.CreateTrack(ctx, conference.Track{EventID: 9999, Slug: "orphan", Title: "x"}); err == nil {
		t.Fatal("track of a missing event created")
	}
	ts, err := s.EventTracks(ctx, a.ID)
	if err != nil || len(ts) != 2 || ts[0] != t2 || ts[1] != t1 {
		t.Fatalf("EventTracks = %+v, %v (want by order)", ts, err)
	}
	newKey, err := s.RotateStreamKey(ctx, t1.ID)
	if err != nil || newKey == key {
		t.Fatalf("RotateStreamKey = %q, %v", newKey, err)
	}
	if _, err := s.TrackByStreamKey(ctx, key); !isNotFound(err) {
		t.Fatalf("old key still works: %v", err)
	}
	if got, err := s.TrackByStreamKey(ctx, newKey); err != nil || got.ID != t1.ID {
		t.Fatalf("new key: %+v, %v", got, err)
	}
	t1.Slug, t1.Title = "grosser-saal", "Großer Saal"
	if got, err := s.UpdateTrack(ctx, t1); err != nil || got != t1 {
		t.Fatalf("UpdateTrack = %+v, %v", got, err)
	}
	t1.Slug = "saal-2"
	if _, err := s.UpdateTrack(ctx, t1); !errors.Is(err, conference.ErrConflict) {
		t.Fatalf("rename onto a used slug: %v", err)
	}
	acc, err := s.TrackAccess(ctx)
	if err != nil || len(acc) != 2 || acc[0].Access != conference.AccessRegistered || acc[0].EventSlug != "democon" || acc[0].Track != "grosser-saal" {
		t.Fatalf("TrackAccess = %+v, %v", acc, err)
	}
	if err := s.DeleteTrack(ctx, t2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TrackBySlug(ctx, "saal-2"); !isNotFound(err) {
		t.Fatalf("deleted track: %v", err)
	}
	if _, err := s.RotateStreamKey(ctx, t2.ID); !isNotFound(err) {
		t.Fatalf("rotate deleted: %v", err)
	}
}

func testTalks(t *testing.T, s conference.Store) {
	ev := mustEvent(t, s, DemoCon())
	other := mustEvent(t, s, conference.Event{Slug: "other", Title: "Other"})
	t1, _ := mustTrack(t, s, conference.Track{EventID: ev.ID, Slug: "saal-1", Title: "Saal 1"})
	t2, _ := mustTrack(t, s, conference.Track{EventID: ev.ID, Slug: "saal-2", Title: "Saal 2", Order: 1})
	foreign, _ := mustTrack(t, s, conference.Track{EventID: other.ID, Slug: "foreign", Title: "F"})
	loc := berlin()
	day1 := time.Date(2027, 3, 13, 10, 0, 0, 0, loc)
	k := conference.Talk{EventID: ev.ID, TrackID: t1.ID, Title: Verbatim, Abstract: Verbatim + "\nsecond line",
		Speakers: []conference.Speaker{{Name: Verbatim, Bio: "<i>bio</i>"}, {Name: "Zoë"}},
		Start:    day1, End: day1.Add(30 * time.Minute), Kind: conference.KindKeynote, Language: "de", DoNotRecord: true}
	k = mustTalk(t, s, k)
	got, err := s.TalkByID(ctx, k.ID)
	if err != nil || !reflect.DeepEqual(got.Speakers, k.Speakers) || !got.Same(k) {
		t.Fatalf("TalkByID = %+v, %v\nwant %+v", got, err, k)
	}
	mustTalk(t, s, conference.Talk{EventID: ev.ID, TrackID: t2.ID, GUID: "g-2", Title: "Second", Start: day1, End: day1.Add(time.Hour)})
	day2 := time.Date(2027, 3, 14, 9, 0, 0, 0, loc)
	k3 := mustTalk(t, s, conference.Talk{EventID: ev.ID, TrackID: t1.ID, GUID: "g-3", Title: "Third", Start: day2, End: day2.Add(time.Hour)})
	if _, err := s.CreateTalk(ctx, conference.Talk{EventID: ev.ID, TrackID: t2.ID, GUID: "g-3", Title: "dup", Start: day2, End: day2.Add(time.Hour), Kind: "talk"}); !errors.Is(err, conference.ErrConflict) {
		t.Fatalf("duplicate guid: %v", err)
	}
	if _, err := s.CreateTalk(ctx, conference.Talk{EventID: ev.ID, TrackID: foreign.ID, Title: "x", Start: day2, End: day2.Add(time.Hour), Kind: "talk"}); !isNotFound(err) {
		t.Fatalf("talk on another event's track: %v", err)
	}
	all, err := s.Talks(ctx, conference.TalkFilter{EventID: ev.ID})
	if err != nil || len(all) != 3 || all[0].ID != k.ID || all[2].ID != k3.ID {
		t.Fatalf("Talks = %+v, %v", all, err)
	}
	byTrack, _ := s.Talks(ctx, conference.TalkFilter{EventID: ev.ID, TrackID: t1.ID})
	byDay, _ := s.Talks(ctx, conference.TalkFilter{EventID: ev.ID, From: time.Date(2027, 3, 14, 0, 0, 0, 0, loc), To: time.Date(2027, 3, 15, 0, 0, 0, 0, loc)})
	if len(byTrack) != 2 || len(byDay) != 1 || byDay[0].ID != k3.ID {
		t.Fatalf("by track %d, by day %+v", len(byTrack), byDay)
	}
	k3.Title, k3.TrackID, k3.Speakers, k3.DoNotRecord = "Third, moved", t2.ID, []conference.Speaker{{Name: "New"}}, true
	if got, err := s.UpdateTalk(ctx, k3); err != nil || got.Title != k3.Title || got.TrackID != t2.ID || len(got.Speakers) != 1 || !got.DoNotRecord {
		t.Fatalf("UpdateTalk = %+v, %v", got, err)
	}
	if err := s.DeleteTalk(ctx, k3.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TalkByID(ctx, k3.ID); !isNotFound(err) {
		t.Fatalf("deleted talk: %v", err)
	}
	// Ids are never reused, not even the newest one's, nor after a
	// cascade: recordings are named by talk id.
	k4 := mustTalk(t, s, conference.Talk{EventID: ev.ID, TrackID: t1.ID, Title: "Fourth", Start: day2, End: day2.Add(time.Hour)})
	if k4.ID <= k3.ID {
		t.Fatalf("talk created after the newest was deleted got id %d, the deleted one had %d", k4.ID, k3.ID)
	}
	if err := s.DeleteTrack(ctx, t1.ID); err != nil {
		t.Fatal(err)
	}
	k5 := mustTalk(t, s, conference.Talk{EventID: ev.ID, TrackID: t2.ID, Title: "Fifth", Start: day2, End: day2.Add(time.Hour)})
	if k5.ID <= k4.ID {
		t.Fatalf("talk created after its track's talks were deleted got id %d, the newest deleted one had %d", k5.ID, k4.ID)
	}
}

func testOnAir(t *testing.T, s conference.Store) {
	ev := mustEvent(t, s, DemoCon())
	t1, _ := mustTrack(t, s, conference.Track{EventID: ev.ID, Slug: "saal-1", Title: "Saal 1"})
	t2, _ := mustTrack(t, s, conference.Track{EventID: ev.ID, Slug: "saal-2", Title: "Saal 2"})
	at := time.Date(2027, 3, 13, 10, 0, 0, 0, berlin())
	k := mustTalk(t, s, conference.Talk{EventID: ev.ID, TrackID: t1.ID, Title: "T", Start: at, End: at.Add(time.Hour)})
	if o, err := s.OnAir(ctx, t1.ID); err != nil || o.TalkID != 0 {
		t.Fatalf("initial OnAir = %+v, %v", o, err)
	}
	until := at.Add(time.Hour)
	if err := s.SetOnAir(ctx, conference.OnAir{TrackID: t1.ID, TalkID: k.ID, Manual: true, ManualUntil: until, ChangedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOnAir(ctx, conference.OnAir{TrackID: t2.ID, TalkID: k.ID, ChangedAt: at}); !isNotFound(err) {
		t.Fatalf("a talk of another track on air: %v", err)
	}
	o, err := s.OnAir(ctx, t1.ID)
	if err != nil || o.TalkID != k.ID || !o.Manual || !o.ManualUntil.Equal(until) || !o.ChangedAt.Equal(at) {
		t.Fatalf("OnAir = %+v, %v", o, err)
	}
	m, err := s.EventOnAir(ctx, ev.ID)
	if err != nil || len(m) != 1 || m[t1.ID].TalkID != k.ID {
		t.Fatalf("EventOnAir = %+v, %v", m, err)
	}
	if err := s.DeleteTalk(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if o, err := s.OnAir(ctx, t1.ID); err != nil || o.TalkID != 0 {
		t.Fatalf("on air after the talk was deleted = %+v, %v", o, err)
	}
}
