package gate

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

// gatedSource is an access table whose reloads can be held, returning
// the table as it was when the reload began (as a database read would).
type gatedSource struct {
	mu    sync.Mutex
	table []conference.TrackAccess
	hold  chan struct{} // a reload waits for it while non-nil
	began chan struct{}
}

func (s *gatedSource) TrackAccess(ctx context.Context) ([]conference.TrackAccess, error) {
	s.mu.Lock()
	table, hold := append([]conference.TrackAccess(nil), s.table...), s.hold
	s.mu.Unlock()
	if hold != nil {
		s.began <- struct{}{}
		<-hold
	}
	return table, nil
}

func (s *gatedSource) set(table []conference.TrackAccess, hold chan struct{}) {
	s.mu.Lock()
	s.table, s.hold = table, hold
	s.mu.Unlock()
}

// TestDirectoryReloadsAfterLostChanges: while the directory is busy
// (a slow reload), the feed fills its buffer and later changes are lost,
// the event's switch to registered among them; the directory is told it
// missed changes and reloads, instead of serving the stale table until
// the next refresh.
func TestDirectoryReloadsAfterLostChanges(t *testing.T) {
	src := &gatedSource{table: []conference.TrackAccess{{Track: "main", TrackID: 1, EventID: 1, EventSlug: "e"}}, began: make(chan struct{}, 1)}
	feed := &conference.Feed{}
	d := &Directory{Source: src, Feed: feed, Refresh: time.Hour}
	if err := d.Initialize(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	hold := make(chan struct{})
	src.set(src.table, hold)
	feed.Publish(conference.Change{Kind: conference.ChangeTrack, Track: "main"})
	<-src.began // the directory is in a reload that reads the old table
	// The event becomes registered; its change is lost behind on-air
	// switches of a known track that fill the buffer.
	src.set([]conference.TrackAccess{{Track: "main", TrackID: 1, EventID: 1, EventSlug: "e", Access: conference.AccessRegistered}}, nil)
	for range 100 {
		feed.Publish(conference.Change{Kind: conference.ChangeOnAir, Track: "main"})
	}
	feed.Publish(conference.Change{Kind: conference.ChangeEvent, EventID: 1, Access: conference.AccessRegistered})
	if feed.Dropped() == 0 {
		t.Fatal("nothing was lost: the test shows nothing")
	}
	close(hold)
	for deadline := time.Now().Add(2 * time.Second); ; {
		if a, _ := d.Track("main"); a.Registered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the directory still serves the table from before the lost changes")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
