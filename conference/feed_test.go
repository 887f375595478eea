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
