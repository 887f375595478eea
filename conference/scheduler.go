package conference

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Scheduler sets what each track shows. Organizers switch by hand
// (SetOnAir); for events with AutoOnAir, Tick moves each track to the talk
// the timetable has running, except on a track switched by hand, which
// keeps the organizer's choice until the next slot boundary. Every change
// is published on Feed.
type Scheduler struct {
	Store interface {
		EventStore
		TrackStore
		TalkStore
		OnAirStore
	}
	Feed *Feed
	// Now is the clock; nil means time.Now. Tests inject one.
	Now func() time.Time
	// Interval between Ticks in Run; zero means one second.
	Interval time.Duration
	Log      *slog.Logger

	// mu serializes on-air writes, so a manual switch and a tick never
	// interleave their read and write.
	mu sync.Mutex
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// SetOnAir puts the talk (0: nothing) on air on the track by hand. The
// talk must be on that track (else a *FieldError). On an AutoOnAir event
// the choice holds until the next slot boundary of the track's timetable.
func (s *Scheduler) SetOnAir(ctx context.Context, track Track, talkID int64) (OnAir, *Talk, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Truncate(time.Millisecond)
	var talk *Talk
	if talkID != 0 {
		t, err := s.Store.TalkByID(ctx, talkID)
		if errors.Is(err, ErrNotFound) || (err == nil && t.TrackID != track.ID) {
			return OnAir{}, nil, fieldErr("talk_id", "no talk %d on track %s", talkID, track.Slug)
		}
		if err != nil {
			return OnAir{}, nil, err
		}
		talk = &t
	}
	talks, err := s.Store.Talks(ctx, TalkFilter{TrackID: track.ID})
	if err != nil {
		return OnAir{}, nil, err
	}
	o := OnAir{TrackID: track.ID, TalkID: talkID, Manual: true, ManualUntil: NextBoundary(talks, now), ChangedAt: now}
	prev, err := s.Store.OnAir(ctx, track.ID)
	if err != nil {
		return OnAir{}, nil, err
	}
	if err := s.Store.SetOnAir(ctx, o); err != nil {
		return OnAir{}, nil, err
	}
	if prev.TalkID != talkID {
		s.publish(track, talk, now)
	}
	return o, talk, nil
}

func (s *Scheduler) publish(track Track, talk *Talk, at time.Time) {
	if s.Feed != nil {
		s.Feed.Publish(Change{Kind: ChangeOnAir, At: at, EventID: track.EventID, TrackID: track.ID, Track: track.Slug, Talk: talk})
	}
}

// NextBoundary returns the first talk start or end strictly after now,
// zero when there is none.
func NextBoundary(talks []Talk, now time.Time) time.Time {
	var next time.Time
	for _, t := range talks {
		for _, at := range []time.Time{t.Start, t.End} {
			if at.After(now) && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	return next
}

// Scheduled returns the talk the timetable runs at now (the latest started
// of those running; breaks show nothing), or nil.
func Scheduled(talks []Talk, now time.Time) *Talk {
	var cur *Talk
	for i := range talks {
		t := &talks[i]
		if t.Kind == KindBreak || !t.Contains(now) {
			continue
		}
		if cur == nil || t.Start.After(cur.Start) {
			cur = t
		}
	}
	return cur
}

// Tick brings every track of every AutoOnAir event to its scheduled talk.
func (s *Scheduler) Tick(ctx context.Context) error {
	events, err := s.Store.Events(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().Truncate(time.Millisecond)
	for _, ev := range events {
		if !ev.AutoOnAir {
			continue
		}
		tracks, err := s.Store.EventTracks(ctx, ev.ID)
		if err != nil {
			return err
		}
		for _, tr := range tracks {
			if err := s.tickTrack(ctx, tr, now); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Scheduler) tickTrack(ctx context.Context, tr Track, now time.Time) error {
	cur, err := s.Store.OnAir(ctx, tr.ID)
	if err != nil {
		return err
	}
	if cur.Manual && (cur.ManualUntil.IsZero() || now.Before(cur.ManualUntil)) {
		return nil // the organizer's choice holds until the next slot
	}
	talks, err := s.Store.Talks(ctx, TalkFilter{TrackID: tr.ID, From: now.Add(-MaxTalkDuration), To: now.Add(time.Millisecond)})
	if err != nil {
		return err
	}
	want := Scheduled(talks, now)
	var wantID int64
	if want != nil {
		wantID = want.ID
	}
	if wantID == cur.TalkID && !cur.Manual {
		return nil
	}
	if err := s.Store.SetOnAir(ctx, OnAir{TrackID: tr.ID, TalkID: wantID, ChangedAt: now}); err != nil {
		return err
	}
	if wantID != cur.TalkID {
		s.publish(tr, want, now)
	}
	return nil
}

// Run ticks until ctx ends, logging errors.
func (s *Scheduler) Run(ctx context.Context) {
	iv := s.Interval
	if iv <= 0 {
		iv = time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Tick(ctx); err != nil && ctx.Err() == nil && s.Log != nil {
				s.Log.Warn("on-air scheduler", "err", err)
			}
		}
	}
}
