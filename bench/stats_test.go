package main

import (
	"math"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want float64
	}{{0.5, 500}, {0.95, 950}, {0.99, 990}, {1, 1000}} {
		got := ms(h.Quantile(c.q))
		if math.Abs(got-c.want)/c.want > 0.02 {
			t.Errorf("q%.2f = %.1f ms, want %.0f ±2%%", c.q, got, c.want)
		}
	}
	if h.Max() != time.Second || h.Count() != 1000 {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
	s := h.Summary()
	if s.P50 > s.P95 || s.P95 > s.P99 || s.P99 > s.Max {
		t.Errorf("not monotonic: %+v", s)
	}
}

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<30; us = us*11/10 + 1 {
		i := histIndex(us)
		if i < prev {
			t.Fatalf("index not monotonic at %d", us)
		}
		prev = i
		if lo, hi := histLow(i), histHigh(i); us < lo || us > hi {
			t.Fatalf("%d µs in bucket %d [%d, %d]", us, i, lo, hi)
		}
	}
	var h histogram
	if h.Quantile(0.5) != 0 {
		t.Fatal("empty histogram")
	}
	h.Record(-time.Second)
	if h.Max() != 0 {
		t.Fatal("negative not clamped")
	}
}

func TestFrameTracker(t *testing.T) {
	s := newSink()
	tr := newFrameTracker(s, 400*time.Millisecond)
	now := time.Now()
	send := now.Add(-100 * time.Millisecond).UnixNano()
	tr.frame(send, now, true)                       // catch-up: ttff only
	tr.frame(send, now, false)                      // duplicate
	tr.frame(send+1e6, now.Add(time.Second), false) // gap > 400 ms: stall
	if s.frames.Load() != 2 || s.stalls.Load() != 1 || s.latency.Count() != 1 || s.ttff.Count() != 1 {
		t.Fatalf("frames %d stalls %d latency %d ttff %d", s.frames.Load(), s.stalls.Load(), s.latency.Count(), s.ttff.Count())
	}
	tr.finish(now.Add(time.Second + 100*time.Millisecond))
	if s.stalls.Load() != 1 {
		t.Fatal("finish counted a stall")
	}
	tr2 := newFrameTracker(s, time.Second)
	tr2.finish(now)
	if n, m := s.errorCounts(); n != 1 || m["no_frame"] != 1 {
		t.Fatalf("errors %d %v", n, m)
	}
}

func TestParseBitrate(t *testing.T) {
	for in, want := range map[string]int{"2500k": 2_500_000, "2.5M": 2_500_000, "600000": 600_000} {
		if got, err := parseBitrate(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	if _, err := parseBitrate("fast"); err == nil {
		t.Error("accepted junk")
	}
}
