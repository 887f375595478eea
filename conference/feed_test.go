package conference

import (
	"testing"
	"time"
)

func TestFeedNeverBlocks(t *testing.T) {
	var f Feed
	slow, endSlow := f.Subscribe(1)
	fast, endFast := f.Subscribe(10)
	done := make(chan struct{})
	go func() {
		for i := range 5 {
			f.Publish(Change{Kind: ChangeOnAir, TrackID: int64(i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Publish blocked on a full subscriber")
	}
	if len(fast) != 5 || len(slow) != 1 || f.Dropped() != 4 {
		t.Fatalf("fast %d, slow %d, dropped %d", len(fast), len(slow), f.Dropped())
	}
	endSlow()
	endSlow() // twice is harmless
	f.Publish(Change{Kind: ChangeOnAir})
	endFast()
	n := 0
	for range fast {
		n++
	}
	if n != 6 {
		t.Fatalf("fast got %d changes, want 6", n)
	}
}

// TestSubscriptionKnowsWhatItLost: a full subscription counts what it
// lost and is told, once per burst, so it can catch up from the store.
func TestSubscriptionKnowsWhatItLost(t *testing.T) {
	var f Feed
	slow := f.Follow(2)
	fast := f.Follow(10)
	defer fast.Close()
	for i := range 5 {
		f.Publish(Change{Kind: ChangeOnAir, TrackID: int64(i)})
	}
	if slow.Lost() != 3 || fast.Lost() != 0 || f.Dropped() != 3 {
		t.Fatalf("lost: slow %d, fast %d, feed %d", slow.Lost(), fast.Lost(), f.Dropped())
	}
	select {
	case <-slow.Missed():
	default:
		t.Fatal("the slow subscription was not told it missed changes")
	}
	select {
	case <-slow.Missed():
		t.Fatal("told twice for one burst")
	case <-fast.Missed():
		t.Fatal("the fast subscription was told it missed changes")
	default:
	}
	<-slow.C
	<-slow.C
	f.Publish(Change{Kind: ChangeOnAir})
	if c := <-slow.C; c.TrackID != 0 || slow.Lost() != 3 {
		t.Fatalf("after draining: %+v, lost %d", c, slow.Lost())
	}
	slow.Close()
	slow.Close()
	if _, ok := <-slow.C; ok {
		t.Fatal("C not closed")
	}
}
