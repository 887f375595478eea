package ladder

import (
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/transcode"
)

// Sink takes the renditions of a stream: the packager
// (packager.Server.AddRendition). It is called from the hub's OnStream
// handler, before the stream's first unit.
type Sink interface {
	AddRendition(src *ingest.Stream, name string, units <-chan *ingest.Unit) error
}

// Ladder runs a transcode.Ladder for every stream of Hub with H.264 video
// and gives its renditions to Sink. Register it (Initialize) after the
// packager, so that the stream's track is packaged when its renditions
// arrive.
type Ladder struct {
	Hub  *ingest.Hub
	Sink Sink
	// Rungs are the renditions (ParseRungs). A stream gets those lower
	// than its own picture; a stream no rung is below is served as is.
	Rungs []transcode.Rung
	// Preset is x264's (transcode.DefaultPreset when empty).
	Preset string
	// FFmpeg is the ffmpeg binary; empty: "ffmpeg" on PATH.
	FFmpeg string
	Logger *slog.Logger

	mu      sync.Mutex
	running map[uint64]*running
	closed  bool
	wg      sync.WaitGroup
	cpuDone time.Duration
	streams uint64
}

// running is the ladder of one stream.
type running struct {
	track string
	lad   *transcode.Ladder
}

// Initialize checks the rungs and ffmpeg and subscribes to the hub.
// Without ffmpeg or libx264 it returns an error wrapping
// transcode.ErrUnavailable.
func (l *Ladder) Initialize() error {
	if l.Hub == nil || l.Sink == nil {
		return errors.New("ladder: Hub and Sink are required")
	}
	if len(l.Rungs) == 0 {
		return errors.New("ladder: no rungs")
	}
	if l.Logger == nil {
		l.Logger = slog.New(slog.DiscardHandler)
	}
	if err := transcode.CheckLadder(l.FFmpeg); err != nil {
		return err
	}
	// Highest first: the order of the ffmpeg outputs and of the logs.
	l.Rungs = slices.Clone(l.Rungs)
	slices.SortFunc(l.Rungs, func(a, b transcode.Rung) int { return b.Height - a.Height })
	l.running = map[uint64]*running{}
	l.Hub.OnStream(l.onStream)
	return nil
}

// Close stops every ladder and waits for them.
func (l *Ladder) Close() {
	l.mu.Lock()
	l.closed = true
	rs := make([]*running, 0, len(l.running))
	for _, r := range l.running {
		rs = append(rs, r)
	}
	l.mu.Unlock()
	for _, r := range rs {
		r.lad.Close()
	}
	l.wg.Wait()
}

// Stats is what the ladders do.
type Stats struct {
	// Streams counts the streams a ladder was started for; Running the
	// ladders running now.
	Streams uint64
	Running int
	// CPU is the CPU time of every ladder's ffmpeg so far.
	CPU time.Duration
	// PerTrack is each running ladder's counters, by track.
	PerTrack map[string]transcode.Stats
}

// Stats returns the ladders' counters.
func (l *Ladder) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{Streams: l.streams, Running: len(l.running), CPU: l.cpuDone, PerTrack: map[string]transcode.Stats{}}
	for _, r := range l.running {
		st := r.lad.Stats()
		s.CPU += st.CPU
		s.PerTrack[r.track] = st
	}
	return s
}

// rungsFor returns the rungs below a picture of the given height.
func (l *Ladder) rungsFor(height int) []transcode.Rung {
	var out []transcode.Rung
	for _, r := range l.Rungs {
		if r.Height < height {
			out = append(out, r)
		}
	}
	return out
}

// onStream starts a stream's ladder; it runs in the publisher's goroutine
// before the stream's first unit.
func (l *Ladder) onStream(st *ingest.Stream) {
	v := st.Media.Video
	if v == nil || v.Codec != ingest.CodecH264 {
		return
	}
	log := l.Logger.With("track", st.Track)
	rungs := l.rungsFor(v.Height)
	if len(rungs) == 0 {
		log.Info("no rendition below the stream's picture; serving the source alone", "height", v.Height)
		return
	}
	lad := &transcode.Ladder{
		Input:  v,
		Rungs:  rungs,
		Preset: l.Preset,
		FFmpeg: l.FFmpeg,
		Logger: log,
		Name:   st.Track,
	}
	if err := lad.Initialize(); err != nil {
		log.Error("renditions unavailable for this stream", "err", err)
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		lad.Close()
		return
	}
	l.running[st.ID] = &running{track: st.Track, lad: lad}
	l.streams++
	l.wg.Add(1)
	l.mu.Unlock()

	for i, r := range rungs {
		if err := l.Sink.AddRendition(st, r.Name, lad.Output(i)); err != nil {
			log.Error("rendition not packaged", "rendition", r.Name, "err", err)
		}
	}
	reader := st.Subscribe(0)
	go func() {
		defer l.wg.Done()
		l.feed(reader, lad)
		lad.Close()
		l.mu.Lock()
		l.cpuDone += lad.Stats().CPU
		delete(l.running, st.ID)
		l.mu.Unlock()
		if err := lad.Err(); err != nil {
			log.Error("renditions stopped", "err", err)
		}
	}()
}

// feed writes the stream's pictures to the ladder until the stream ends
// or the ladder stops.
func (l *Ladder) feed(r *ingest.Reader, lad *transcode.Ladder) {
	defer r.Close()
	for u := range r.Units() {
		if u.Kind != ingest.KindVideo {
			continue
		}
		if err := lad.Write(u); errors.Is(err, transcode.ErrClosed) {
			return
		}
	}
}
