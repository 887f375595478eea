package recorder

import (
	"context"
	"errors"
	"time"

	"github.com/kastlive/kast/conference"
)

// Conference is what the recorder reads back from the conference's store
// after it lost changes from the Feed (conference.Store implements it).
type Conference interface {
	Tracks(ctx context.Context) ([]conference.Track, error)
	OnAir(ctx context.Context, trackID int64) (conference.OnAir, error)
	TalkByID(ctx context.Context, id int64) (conference.Talk, error)
}

// resync catches up with the conference after the feed lost changes:
// every track's talk on air (a switch it missed starts at the store's
// ChangedAt), tracks that are gone (their talk's span ends now), and the
// talks it recorded that were deleted or opted out since. It runs in the
// feed's goroutine, so no change is applied while it reads.
func (r *Recorder) resync(lost uint64) {
	if r.Conference == nil {
		r.Logger.Warn("recording: conference changes lost; talks may be cut wrongly until the next switch", "lost_total", lost)
		return
	}
	r.Logger.Warn("recording: conference changes lost, catching up from the store", "lost_total", lost)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tracks, err := r.Conference.Tracks(ctx)
	if err != nil {
		r.Logger.Warn("recording: cannot catch up", "err", err)
		return
	}
	now := time.Now()
	live := map[string]bool{}
	for _, tr := range tracks {
		live[tr.Slug] = true
		o, err := r.Conference.OnAir(ctx, tr.ID)
		if err != nil {
			r.Logger.Warn("recording: cannot catch up", "track", tr.Slug, "err", err)
			continue
		}
		c := conference.Change{Kind: conference.ChangeOnAir, At: o.ChangedAt, EventID: tr.EventID, TrackID: tr.ID, Track: tr.Slug}
		if o.TalkID != 0 {
			t, err := r.Conference.TalkByID(ctx, o.TalkID)
			if err != nil {
				r.Logger.Warn("recording: cannot catch up", "talk", o.TalkID, "err", err)
				continue
			}
			c.Talk = &t
		}
		r.mu.Lock()
		cur, onAir := r.onAir[tr.Slug]
		var from time.Time
		if t := r.talks[cur]; onAir && t != nil && t.onAir() {
			from = t.Spans[len(t.Spans)-1].From
		}
		r.mu.Unlock()
		if (c.Talk == nil && !onAir) || (c.Talk != nil && onAir && cur == c.Talk.ID) {
			continue // as the recorder has it
		}
		if c.At.IsZero() || c.At.Before(from) {
			c.At = now // the store's time is not usable: cut now
		}
		r.onChange(c)
	}
	// Tracks gone: what they had on air ends now.
	r.mu.Lock()
	var gone []string
	for track := range r.onAir {
		if !live[track] {
			gone = append(gone, track)
		}
	}
	ids := make([]int64, 0, len(r.talks))
	for id, t := range r.talks {
		if !t.Withdrawn {
			ids = append(ids, id)
		}
	}
	r.mu.Unlock()
	for _, track := range gone {
		r.onChange(conference.Change{Kind: conference.ChangeOnAir, At: now, Track: track})
	}
	// Talks deleted or opted out meanwhile.
	for _, id := range ids {
		t, err := r.Conference.TalkByID(ctx, id)
		switch {
		case errors.Is(err, conference.ErrNotFound):
			r.onTalkChange(conference.Change{Kind: conference.ChangeTalk, Deleted: true, Talk: &conference.Talk{ID: id}})
		case err == nil:
			r.onTalkChange(conference.Change{Kind: conference.ChangeTalk, Talk: &t})
		default:
			r.Logger.Warn("recording: cannot catch up", "talk", id, "err", err)
		}
	}
}
