package testutil

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
)

// HLSReader plays an HLS URL with gohlslib's client (an LL-HLS reader
// nobody here wrote) and records when each video frame arrived and its
// presentation time, so a test can tell whether a player would have
// stalled. When the client stops (an error, a playlist gone) it starts
// over at once, as a player reloads; Restarts counts that.
type HLSReader struct {
	url string

	mu       sync.Mutex
	frames   []HLSFrame
	restarts int
	errs     []string
	client   *gohlslib.Client
	closed   bool
	done     chan struct{}
}

// HLSFrame is one video frame as the reader got it.
type HLSFrame struct {
	At  time.Time     // arrival
	PTS time.Duration // presentation time in the stream
	Run int           // the client run it came in (0, then 1 after a restart)
}

// StartHLSReader starts reading url; it stops at the end of the test.
func StartHLSReader(t testing.TB, url string) *HLSReader {
	r := &HLSReader{url: url, done: make(chan struct{})}
	go r.loop()
	t.Cleanup(r.Close)
	return r
}

func (r *HLSReader) loop() {
	defer close(r.done)
	for run := 0; ; run++ {
		err := r.play(run)
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		r.restarts++
		if err != nil && len(r.errs) < 20 {
			r.errs = append(r.errs, err.Error())
		}
		r.mu.Unlock()
		time.Sleep(200 * time.Millisecond)
	}
}

// play runs one client until it stops.
func (r *HLSReader) play(run int) error {
	c := &gohlslib.Client{
		URI:                       r.url,
		OnDownloadPart:            func(string) {},
		OnDownloadPrimaryPlaylist: func(string) {},
		OnDownloadStreamPlaylist:  func(string) {},
	}
	c.OnTracks = func(tracks []*gohlslib.Track) error {
		for _, tr := range tracks {
			if _, ok := tr.Codec.(*codecs.H264); !ok {
				continue
			}
			rate := time.Duration(tr.ClockRate)
			c.OnDataH26x(tr, func(pts, _ int64, _ [][]byte) {
				f := HLSFrame{At: time.Now(), PTS: time.Duration(pts) * time.Second / rate, Run: run}
				r.mu.Lock()
				r.frames = append(r.frames, f)
				r.mu.Unlock()
			})
			return nil
		}
		return errors.New("no H.264 track")
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.client = c
	r.mu.Unlock()
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait2()
}

// Frames returns the frames so far.
func (r *HLSReader) Frames() []HLSFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]HLSFrame(nil), r.frames...)
}

// Restarts returns how often the client stopped and started over, and
// why (the first errors).
func (r *HLSReader) Restarts() (int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.restarts, append([]string(nil), r.errs...)
}

// WaitFrames waits until the reader has n frames.
func (r *HLSReader) WaitFrames(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(r.Frames()) < n {
		if time.Now().After(deadline) {
			restarts, errs := r.Restarts()
			t.Fatalf("HLS reader: %d frames after %v, want %d (restarts %d: %v)", len(r.Frames()), timeout, n, restarts, errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops the reader.
func (r *HLSReader) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	c := r.client
	r.mu.Unlock()
	if c != nil {
		c.Close()
	}
	<-r.done
}

// Playout is what a player with a playout buffer of hold would have seen
// of frames: each frame is due at anchor + PTS + hold, where the anchor
// is the earliest arrival relative to its PTS so far (the live edge the
// player follows); a frame arriving after its due time is a stall, and
// the player re-anchors on it (it rebuffers). A jump of the PTS
// (a discontinuity, a new client run) re-anchors without a stall.
type Playout struct {
	Frames  int
	Stalls  []time.Time   // when each stall happened
	MaxLate time.Duration // worst arrival relative to the anchor (jitter the buffer absorbed)
}

// PlayoutOf judges frames with a buffer of hold.
func PlayoutOf(frames []HLSFrame, hold time.Duration) Playout {
	var p Playout
	var anchor time.Time
	for i, f := range frames {
		p.Frames++
		if i == 0 || f.Run != frames[i-1].Run || f.PTS < frames[i-1].PTS || f.PTS-frames[i-1].PTS > 2*time.Second {
			anchor = f.At.Add(-f.PTS)
			continue
		}
		if a := f.At.Add(-f.PTS); a.Before(anchor) {
			anchor = a
		}
		late := f.At.Sub(anchor.Add(f.PTS))
		p.MaxLate = max(p.MaxLate, late)
		if late > hold {
			p.Stalls = append(p.Stalls, f.At)
			anchor = f.At.Add(-f.PTS)
		}
	}
	return p
}
