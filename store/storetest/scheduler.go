package storetest

import (
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

// testScheduler drives the on-air scheduler with a fake clock through a
// timetable: automatic switches at the slot times, a manual switch that
// holds until the next slot, breaks with nothing on air.
func testScheduler(t *testing.T, s conference.Store) {
	ev := DemoCon()
	ev.AutoOnAir = true
	ev = mustEvent(t, s, ev)
	tr, _ := mustTrack(t, s, conference.Track{EventID: ev.ID, Slug: "saal-1", Title: "Saal 1"})
	at := func(h, m int) time.Time { return time.Date(2027, 3, 13, h, m, 0, 0, berlin()) }
	a := mustTalk(t, s, conference.Talk{EventID: ev.ID, TrackID: tr.ID, Title: "A", Start: at(10, 0), End: at(10, 30)})
	mustTalk(t, s, conference.Talk{EventID: ev.ID, TrackID: tr.ID, Title: "Break", Kind: conference.KindBreak, Start: at(10, 30), End: at(10, 45)})
	b := mustTalk(t, s, conference.Talk{EventID: ev.ID, TrackID: tr.ID, Title: "B", Start: at(10, 45), End: at(11, 30)})
	c := mustTalk(t, s, conference.Talk{EventID: ev.ID, TrackID: tr.ID, Title: "C", Start: at(11, 30), End: at(12, 0)})

	now := at(9, 0)
	var feed conference.Feed
	changes, stop := feed.Subscribe(16)
	defer stop()
	sch := &conference.Scheduler{Store: s, Feed: &feed, Now: func() time.Time { return now }}
	step := func(h, m int, want int64) {
		t.Helper()
		now = at(h, m)
		if err := sch.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if o, _ := s.OnAir(ctx, tr.ID); o.TalkID != want {
			t.Fatalf("%02d:%02d on air %d, want %d", h, m, o.TalkID, want)
		}
	}
	step(9, 0, 0)
	step(10, 0, a.ID)
	if c := <-changes; c.Kind != conference.ChangeOnAir || c.Track != "saal-1" || c.Talk == nil || c.Talk.ID != a.ID {
		t.Fatalf("change = %+v", c)
	}
	step(10, 10, a.ID)
	if len(changes) != 0 {
		t.Fatal("a tick without a change published one")
	}
	step(10, 31, 0) // the break
	step(10, 45, b.ID)

	// The organizer puts C on early: it holds until B's slot ends.
	now = at(11, 0)
	if _, _, err := sch.SetOnAir(ctx, tr, c.ID); err != nil {
		t.Fatal(err)
	}
	step(11, 10, c.ID)
	step(11, 29, c.ID)
	step(11, 30, c.ID) // next slot: C is what the timetable runs anyway
	if o, _ := s.OnAir(ctx, tr.ID); o.Manual {
		t.Fatalf("manual switch outlived its slot: %+v", o)
	}
	// A manual "nothing" during C holds until C ends, then the timetable
	// (nothing after 12:00) agrees.
	now = at(11, 40)
	if _, _, err := sch.SetOnAir(ctx, tr, 0); err != nil {
		t.Fatal(err)
	}
	step(11, 50, 0)
	step(12, 5, 0)

	// A talk of another track is refused.
	other, _ := mustTrack(t, s, conference.Track{EventID: ev.ID, Slug: "saal-2", Title: "Saal 2"})
	if _, _, err := sch.SetOnAir(ctx, other, a.ID); err == nil {
		t.Fatal("talk of another track put on air")
	}
}
