package conference

import (
	"context"
	"sync"
)

// TrackAccess is who may watch a track: its event's access mode.
type TrackAccess struct {
	TrackID   int64
	Track     string // slug
	EventID   int64
	EventSlug string
	Access    Access
}

// AccessMap knows every track's access mode in memory, so a playback gate
// can decide on each HLS request without the database. Load it once, then
// feed it every Change from the Feed (Follow does both).
type AccessMap struct {
	mu      sync.RWMutex
	byTrack map[string]TrackAccess
}

// Load replaces the map's contents with the store's.
func (m *AccessMap) Load(ctx context.Context, s TrackStore) error {
	all, err := s.TrackAccess(ctx)
	if err != nil {
		return err
	}
	byTrack := make(map[string]TrackAccess, len(all))
	for _, a := range all {
		byTrack[a.Track] = a
	}
	m.mu.Lock()
	m.byTrack = byTrack
	m.mu.Unlock()
	return nil
}

// Lookup returns the access of the track with slug track.
func (m *AccessMap) Lookup(track string) (TrackAccess, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, ok := m.byTrack[track]
	return a, ok
}

// Apply updates the map with an event or track change; other kinds are
// ignored.
func (m *AccessMap) Apply(c Change) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byTrack == nil {
		m.byTrack = map[string]TrackAccess{}
	}
	switch c.Kind {
	case ChangeEvent:
		for slug, a := range m.byTrack {
			if a.EventID != c.EventID {
				continue
			}
			if c.Deleted {
				delete(m.byTrack, slug)
				continue
			}
			a.Access = c.Access
			if c.Event != nil {
				a.EventSlug = c.Event.Slug
			}
			m.byTrack[slug] = a
		}
	case ChangeTrack:
		if c.OldTrack != "" {
			delete(m.byTrack, c.OldTrack)
		}
		if c.Deleted {
			delete(m.byTrack, c.Track)
			return
		}
		a := TrackAccess{TrackID: c.TrackID, Track: c.Track, EventID: c.EventID, Access: c.Access}
		if c.Event != nil {
			a.EventSlug = c.Event.Slug
		}
		m.byTrack[c.Track] = a
	}
}

// Follow subscribes to feed, loads the map from s, and applies every
// change until ctx ends. Changes published while loading are applied
// after it, so none is missed. It returns once the map is loaded.
func (m *AccessMap) Follow(ctx context.Context, s TrackStore, feed *Feed) error {
	ch, cancel := feed.Subscribe(256)
	if err := m.Load(ctx, s); err != nil {
		cancel()
		return err
	}
	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case c, ok := <-ch:
				if !ok {
					return
				}
				m.Apply(c)
			}
		}
	}()
	return nil
}
