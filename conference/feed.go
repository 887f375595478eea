package conference

import (
	"sync"
	"sync/atomic"
	"time"
)

// ChangeKind says what a Change reports.
type ChangeKind string

// Kinds of changes.
const (
	// ChangeOnAir: the talk on air on a track changed (Talk nil: nothing).
	ChangeOnAir ChangeKind = "on_air"
	// ChangeEvent: an event was created, updated (Event set; Access is
	// its access mode, which holds for all its tracks) or deleted
	// (Deleted, Event the last state).
	ChangeEvent ChangeKind = "event"
	// ChangeTrack: a track was created, updated (renamed, moved) or
	// deleted (Deleted). TrackID, Track (the slug; on a rename the new
	// one, with OldTrack the old), EventID and Access are set.
	ChangeTrack ChangeKind = "track"
	// ChangeTimetable: talks of EventID were added, changed or removed.
	ChangeTimetable ChangeKind = "timetable"
	// ChangeTalk: one talk was created or updated (Talk its new state) or
	// deleted (Deleted, Talk its last state), by hand or by an import;
	// published besides ChangeTimetable for the listeners that follow
	// single talks (the recorder hides a deleted talk's recording and
	// honours do_not_record).
	ChangeTalk ChangeKind = "talk"
)

// Change is something that happened in the conference that in-process
// listeners act on: the live channel pushes it to viewers, the recorder
// cuts a talk's recording at it.
type Change struct {
	Kind    ChangeKind
	At      time.Time
	EventID int64
	TrackID int64
	// Track is the track's slug, the name the hub and the packager know it by.
	Track string
	// Talk on air after the change; nil when nothing is.
	Talk *Talk
	// Event, on event changes.
	Event *Event
	// Access of the event, on event and track changes.
	Access Access
	// OldTrack is a renamed track's previous slug.
	OldTrack string
	// Deleted: the event, track or talk is gone.
	Deleted bool
}

// Feed fans Changes out to subscribers without ever blocking the writer:
// a subscriber whose buffer is full loses the change, as a slow viewer
// must never hold up an on-air switch. Dropped counts the losses; each
// Subscription counts its own and signals them (Missed), so that a
// subscriber that keeps state from the changes catches up from the
// store instead of drifting.
type Feed struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	dropped atomic.Uint64
}

// Subscription is one subscriber of a Feed.
type Subscription struct {
	// C receives every change published from the subscription on, while
	// it has room; it is closed by Close.
	C <-chan Change

	ch     chan Change
	lost   atomic.Uint64
	missed chan struct{}
	feed   *Feed
	once   sync.Once
}

// Follow subscribes with room for buffer changes.
func (f *Feed) Follow(buffer int) *Subscription {
	ch := make(chan Change, max(buffer, 1))
	s := &Subscription{C: ch, ch: ch, missed: make(chan struct{}, 1), feed: f}
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[*Subscription]struct{}{}
	}
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	return s
}

// Lost returns how many changes the subscription lost for want of room.
func (s *Subscription) Lost() uint64 { return s.lost.Load() }

// Missed is signalled (once for any number of losses until it is
// received) when the subscription lost a change: what was built from the
// changes is stale, and should be read again from the store.
func (s *Subscription) Missed() <-chan struct{} { return s.missed }

// Close ends the subscription and closes C; calling it again is harmless.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.feed.mu.Lock()
		delete(s.feed.subs, s)
		s.feed.mu.Unlock()
		close(s.ch)
	})
}

// Subscribe returns a channel receiving every change published from now
// on, with room for buffer of them, and a function that ends the
// subscription and closes the channel. (Follow also says what was lost.)
func (f *Feed) Subscribe(buffer int) (<-chan Change, func()) {
	s := f.Follow(buffer)
	return s.C, s.Close
}

// Publish hands c to every subscriber that has room.
func (f *Feed) Publish(c Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		select {
		case s.ch <- c:
		default:
			f.dropped.Add(1)
			s.lost.Add(1)
			select {
			case s.missed <- struct{}{}:
			default:
			}
		}
	}
}

// Dropped returns how many changes subscribers lost for want of room.
func (f *Feed) Dropped() uint64 { return f.dropped.Load() }
