package main

import (
	"testing"

	"github.com/kastlive/kast/conference"
)

// TestFeedDroppedMetric: changes a listener of the conference feed lost
// are counted in kast_feed_dropped_total.
func TestFeedDroppedMetric(t *testing.T) {
	a, _ := startApp(t, map[string]string{"KAST_ADMIN_TOKEN": testAdminToken})
	stuck := a.feed.Follow(1) // a listener that never reads
	defer stuck.Close()
	for range 3 {
		a.feed.Publish(conference.Change{Kind: conference.ChangeTimetable})
	}
	if got := metricLines(a, "kast_feed_dropped_total"); got != "kast_feed_dropped_total 2" {
		t.Fatalf("metrics: %q, want kast_feed_dropped_total 2", got)
	}
}
