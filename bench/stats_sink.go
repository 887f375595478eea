package main

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// sink gathers what every viewer observes. All methods are safe for
// concurrent use; the hot paths (frames, requests) are atomic adds.
type sink struct {
	latency histogram // delivery latency of frames received at the live edge
	ttff    histogram // viewer start -> first frame
	gap     histogram // time between two new frames at one viewer

	cur atomic.Pointer[histogram] // latency during the current second

	frames   atomic.Uint64
	requests atomic.Uint64
	stalls   atomic.Uint64
	active   atomic.Int64 // viewers running
	joined   atomic.Int64 // viewers started so far
	gotFrame atomic.Int64 // viewers that received at least one frame

	// WHEP viewers
	sampled    atomic.Int64  // viewers that decrypt their media and read SEIs
	rtpPackets atomic.Uint64 // RTP packets received
	rtpLost    atomic.Uint64 // sequence numbers never received

	errMu   sync.Mutex
	errs    map[string]uint64
	errsAll uint64
}

func newSink() *sink {
	s := &sink{errs: map[string]uint64{}}
	s.cur.Store(new(histogram))
	return s
}

// recordLatency adds one frame's delivery latency.
func (s *sink) recordLatency(d time.Duration) {
	s.latency.Record(d)
	s.cur.Load().Record(d)
}

// rotate returns the histogram of the second that just ended and starts a new one.
func (s *sink) rotate() *histogram {
	return s.cur.Swap(new(histogram))
}

// addError counts one error of the given kind (e.g. "http_404", "timeout").
func (s *sink) addError(kind string) {
	s.errMu.Lock()
	s.errs[kind]++
	s.errsAll++
	s.errMu.Unlock()
}

// errorCounts returns the total and a copy of the per-kind counts.
func (s *sink) errorCounts() (uint64, map[string]uint64) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	m := make(map[string]uint64, len(s.errs))
	for k, v := range s.errs {
		m[k] = v
	}
	return s.errsAll, m
}

// sortedKinds returns the keys of m in a stable order.
func sortedKinds(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// frameTracker is the per-viewer side of the sink: it drops frames already
// seen, and turns new ones into latency, time-to-first-frame, gap and stall
// observations. It belongs to one viewer goroutine.
type frameTracker struct {
	sink       *sink
	started    time.Time
	stallAfter time.Duration
	lastNew    time.Time
	maxSend    int64
	gotFirst   bool
}

func newFrameTracker(s *sink, stallAfter time.Duration) frameTracker {
	return frameTracker{sink: s, started: time.Now(), stallAfter: stallAfter}
}

// frame records a frame whose SEI said it was sent at sendNanos and whose
// last byte arrived at now. catchUp marks frames that were already old when
// the viewer joined (they count for time to first frame, not for latency).
func (t *frameTracker) frame(sendNanos int64, now time.Time, catchUp bool) {
	if sendNanos <= t.maxSend {
		return
	}
	t.maxSend = sendNanos
	s := t.sink
	s.frames.Add(1)
	if !t.gotFirst {
		t.gotFirst = true
		s.gotFrame.Add(1)
		s.ttff.Record(now.Sub(t.started))
	} else {
		g := now.Sub(t.lastNew)
		s.gap.Record(g)
		if t.stallAfter > 0 && g > t.stallAfter {
			s.stalls.Add(1)
		}
	}
	t.lastNew = now
	if !catchUp {
		s.recordLatency(now.Sub(time.Unix(0, sendNanos)))
	}
}

// finish is called when the viewer stops: a viewer stuck at the end counts
// as a stall, one that never got a frame as an error.
func (t *frameTracker) finish(now time.Time) {
	if !t.gotFirst {
		t.sink.addError("no_frame")
		return
	}
	if t.stallAfter > 0 && now.Sub(t.lastNew) > t.stallAfter {
		t.sink.stalls.Add(1)
	}
}
