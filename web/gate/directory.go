package gate

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kastlive/kast/conference"
)

// TrackAccess is what the gate needs to know about a track: its event and
// whether that event is open only to registered attendees.
type TrackAccess struct {
	Track      string // slug, as in /hls/<track>/
	TrackID    int64
	EventID    int64
	Event      string // the event's slug
	Registered bool   // access "registered"; false: public
}

// EventAccess is an event as the gate and the live channel see it.
type EventAccess struct {
	ID         int64
	Slug       string
	Registered bool
	Tracks     []string // slugs, in the source's order
}

// Source lists every track with its event's access. It is read at start,
// after conference changes and every Directory.Refresh: never per request.
type Source interface {
	TrackAccess(ctx context.Context) ([]TrackAccess, error)
}

// Directory keeps the track -> event access table in memory for the
// request path: lookups take no lock and touch no database. It reloads
// the table from Source when the conference Feed reports a change (any
// change but an on-air switch between known tracks), when a lookup misses
// (at most once per second) and every Refresh as a safety net.
type Directory struct {
	Source  Source
	Feed    *conference.Feed // optional
	Refresh time.Duration    // default 30 s
	Logger  *slog.Logger

	cur    atomic.Pointer[dirTable]
	kick   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// lastMiss rate-limits reloads caused by lookups of unknown tracks
	// (anyone can ask for /hls/whatever/).
	lastMiss atomic.Int64
}

type dirTable struct {
	tracks map[string]TrackAccess
	events map[string]*EventAccess
}

// Initialize loads the table once (an error here is fatal: kast cannot
// decide who may watch) and starts following changes.
func (d *Directory) Initialize(ctx context.Context) error {
	if d.Source == nil {
		return errors.New("gate: Directory needs a Source")
	}
	if d.Refresh <= 0 {
		d.Refresh = 30 * time.Second
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if err := d.load(ctx); err != nil {
		return err
	}
	d.kick = make(chan struct{}, 1)
	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	var changes <-chan conference.Change
	unsubscribe := func() {}
	if d.Feed != nil {
		changes, unsubscribe = d.Feed.Subscribe(64)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer unsubscribe()
		d.run(runCtx, changes)
	}()
	return nil
}

// Close stops following changes.
func (d *Directory) Close() {
	if d.cancel != nil {
		d.cancel()
		d.wg.Wait()
	}
}

func (d *Directory) run(ctx context.Context, changes <-chan conference.Change) {
	tick := time.NewTicker(d.Refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case c, ok := <-changes:
			if !ok {
				changes = nil
				continue
			}
			if c.Kind == conference.ChangeOnAir {
				if _, known := d.Track(c.Track); known {
					continue
				}
			}
		case <-d.kick:
		case <-tick.C:
		}
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := d.load(lctx); err != nil && ctx.Err() == nil {
			// Keep the last table: refusing every viewer because the
			// database hiccuped would be worse than a stale table.
			d.Logger.Warn("playback access table not reloaded", "err", err)
		}
		cancel()
	}
}

func (d *Directory) load(ctx context.Context) error {
	list, err := d.Source.TrackAccess(ctx)
	if err != nil {
		return err
	}
	t := &dirTable{tracks: make(map[string]TrackAccess, len(list)), events: map[string]*EventAccess{}}
	for _, a := range list {
		t.tracks[a.Track] = a
		e := t.events[a.Event]
		if e == nil {
			e = &EventAccess{ID: a.EventID, Slug: a.Event, Registered: a.Registered}
			t.events[a.Event] = e
		}
		if a.Track != "" {
			e.Tracks = append(e.Tracks, a.Track)
		}
	}
	d.cur.Store(t)
	return nil
}

// Reload asks for the table to be reloaded soon (coalesced).
func (d *Directory) Reload() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Track returns the access of a track. A miss asks for a reload, at most
// once a second: a track created a moment ago becomes known without
// anyone probing random names making kast reload in a loop.
func (d *Directory) Track(slug string) (TrackAccess, bool) {
	t := d.cur.Load()
	if t == nil {
		return TrackAccess{}, false
	}
	a, ok := t.tracks[slug]
	if !ok && d.kick != nil {
		now := time.Now().UnixNano()
		if last := d.lastMiss.Load(); now-last > int64(time.Second) && d.lastMiss.CompareAndSwap(last, now) {
			d.Reload()
		}
	}
	return a, ok
}

// Event returns an event by slug. The returned value must not be modified.
func (d *Directory) Event(slug string) (*EventAccess, bool) {
	t := d.cur.Load()
	if t == nil {
		return nil, false
	}
	e, ok := t.events[slug]
	return e, ok
}

// EventByID returns an event by ID.
func (d *Directory) EventByID(id int64) (*EventAccess, bool) {
	t := d.cur.Load()
	if t == nil {
		return nil, false
	}
	for _, e := range t.events {
		if e.ID == id {
			return e, true
		}
	}
	return nil, false
}

// Tracks returns the access of every known track.
func (d *Directory) Tracks() []TrackAccess {
	t := d.cur.Load()
	if t == nil {
		return nil
	}
	out := make([]TrackAccess, 0, len(t.tracks))
	for _, a := range t.tracks {
		out = append(out, a)
	}
	return out
}
