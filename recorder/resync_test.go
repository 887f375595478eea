package recorder

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

// fakeConference is the store's on-air state and talks.
type fakeConference struct {
	mu     sync.Mutex
	tracks []conference.Track
	onAir  map[int64]conference.OnAir
	talks  map[int64]conference.Talk
}

func (f *fakeConference) Tracks(context.Context) ([]conference.Track, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]conference.Track(nil), f.tracks...), nil
}

func (f *fakeConference) OnAir(_ context.Context, id int64) (conference.OnAir, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.onAir[id], nil
}

func (f *fakeConference) TalkByID(_ context.Context, id int64) (conference.Talk, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.talks[id]
	if !ok {
		return conference.Talk{}, conference.ErrNotFound
	}
	return t, nil
}

// TestRecorderCatchesUpAfterLostChanges: while the recorder's feed
// goroutine is held up, the feed overflows and the last switches are
// lost (talk 2 goes on air on main, talk 1 is deleted, talk 3 opts out).
// Told it missed changes, the recorder reads the store back: talk 2 is
// on air from the store's ChangedAt, talk 1's recording is withdrawn and
// talk 3's refused.
func TestRecorderCatchesUpAfterLostChanges(t *testing.T) {
	fc := &fakeConference{
		tracks: []conference.Track{{ID: 1, EventID: 7, Slug: "main"}},
		onAir:  map[int64]conference.OnAir{},
		talks:  map[int64]conference.Talk{1: {ID: 1, Title: "One"}, 2: {ID: 2, Title: "Two"}, 3: {ID: 3, Title: "Three"}},
	}
	g := newRig(t, "", func(r *Recorder) { r.Conference = fc })
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0, TrackID: 1, Track: "main", Talk: &conference.Talk{ID: 1, Title: "One"}})
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(time.Minute), TrackID: 1, Track: "side", Talk: &conference.Talk{ID: 3, Title: "Three"}})
	waitFor(t, "talks on air", func() bool {
		g.rec.mu.Lock()
		defer g.rec.mu.Unlock()
		return g.rec.onAir["main"] == 1 && g.rec.onAir["side"] == 3
	})

	switched := t0.Add(10 * time.Minute)
	g.rec.mu.Lock() // the feed goroutine blocks in its next onChange
	fc.mu.Lock()
	fc.onAir[1] = conference.OnAir{TrackID: 1, TalkID: 2, ChangedAt: switched}
	delete(fc.talks, 1)
	fc.talks[3] = conference.Talk{ID: 3, Title: "Three", DoNotRecord: true}
	fc.mu.Unlock()
	// An on-air change first: the feed goroutine waits for the lock in
	// it, and the buffer fills behind it.
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0, Track: "elsewhere"})
	for range 300 {
		g.feed.Publish(conference.Change{Kind: conference.ChangeTimetable})
	}
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: switched, TrackID: 1, Track: "main", Talk: &conference.Talk{ID: 2, Title: "Two"}})
	g.rec.mu.Unlock()
	if g.feed.Dropped() == 0 {
		t.Fatal("nothing was lost: the test shows nothing")
	}
	waitFor(t, "the catch-up", func() bool {
		_, err := g.rec.Talk(1)
		return errors.Is(err, ErrWithdrawn)
	})
	waitFor(t, "talk 3 opted out", func() bool { _, err := g.rec.Talk(3); return errors.Is(err, ErrDoNotRecord) })
	waitFor(t, "talk 2 on air", func() bool {
		g.rec.mu.Lock()
		defer g.rec.mu.Unlock()
		return g.rec.onAir["main"] == 2
	})
	g.rec.mu.Lock()
	spans := append([]span(nil), g.rec.talks[2].Spans...)
	sideGone := g.rec.onAir["side"] == 0
	g.rec.mu.Unlock()
	if len(spans) != 1 || !spans[0].From.Equal(switched) {
		t.Errorf("talk 2's spans %+v, want one from %v", spans, switched)
	}
	if !sideGone {
		t.Error("the track the store does not have still has a talk on air")
	}
}
