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
// a subscriber whose buffer is full loses the change (and Dropped counts
// it), as a slow viewer must never hold up an on-air switch.
type Feed struct {
	mu      sync.Mutex
	subs    map[chan Change]struct{}
	dropped atomic.Uint64
}

// Subscribe returns a channel receiving every change published from now
// on, with room for buffer of them, and a function that ends the
// subscription and closes the channel.
func (f *Feed) Subscribe(buffer int) (<-chan Change, func()) {
	ch := make(chan Change, max(buffer, 1))
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[chan Change]struct{}{}
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, ch)
			f.mu.Unlock()
			close(ch)
		})
	}
}

// Publish hands c to every subscriber that has room.
func (f *Feed) Publish(c Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- c:
		default:
			f.dropped.Add(1)
		}
	}
}

// Dropped returns how many changes subscribers lost for want of room.
func (f *Feed) Dropped() uint64 { return f.dropped.Load() }
