package packager

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// timedWriter records when each body byte was written.
type timedWriter struct {
	mu    sync.Mutex
	h     http.Header
	start time.Time
	at    []time.Duration
}

func (w *timedWriter) Header() http.Header { return w.h }
func (w *timedWriter) WriteHeader(int)     {}
func (w *timedWriter) Flush()              {}
func (w *timedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for range p {
		w.at = append(w.at, time.Since(w.start))
	}
	return len(p), nil
}

// A frame held by StreamInterval goes out when the interval ends, even if
// the publisher pauses before the next frame.
func TestStreamIntervalBoundsHold(t *testing.T) {
	s := &Server{Config: Config{StreamInterval: 50 * time.Millisecond}}
	w := &timedWriter{h: http.Header{}, start: time.Now()}
	h := &handler{s: s, w: w, r: httptest.NewRequest("GET", "/main/part.m4s", nil)}
	ps := newPartStream(0, 4)
	ps.append([]byte{0})
	go func() {
		time.Sleep(10 * time.Millisecond)
		ps.append([]byte{1}) // held: 10 ms after the first write
		time.Sleep(390 * time.Millisecond)
		ps.append([]byte{2})
		time.Sleep(100 * time.Millisecond)
		ps.finish(true)
	}()
	h.stream(ps, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.at) != 3 {
		t.Fatalf("%d bytes written, want 3", len(w.at))
	}
	if w.at[1] < 40*time.Millisecond || w.at[1] > 300*time.Millisecond {
		t.Fatalf("frame packaged at 10 ms written at %v; StreamInterval is 50 ms (at most 100 ms)", w.at[1])
	}
}
