package recorder

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/packager"
)

// Recorder writes the packager's segments to disk and serves what it has
// recorded. It implements packager.SegmentSink. Set the fields, call
// Initialize, then hand it to packager.Server.Sink.
type Recorder struct {
	// Dir is the root of the recordings (see the package doc for its
	// layout). Created if missing.
	Dir string
	// Retention deletes publishes that ended longer ago than this (never a
	// live one). 0 keeps them.
	Retention time.Duration
	// Budget is the most bytes the recordings may take: past it the oldest
	// publishes that are not live are deleted, and when only live ones are
	// left, recording stops until there is room. 0: no budget.
	Budget int64
	// MinFree stops recording while the file system holding Dir has less
	// free space than this, so recordings never fill the disk kast's
	// database lives on. 0 means DefaultMinFree; negative disables it.
	MinFree int64
	// Queue is how many segments a track may have waiting for its writer
	// before new ones are dropped. Default 16 (about 16 s of media).
	Queue int
	// Feed, when set, delivers the on-air switches that cut talks.
	Feed *conference.Feed
	// Conference, when set, is read when the recorder lost changes from
	// Feed (its buffer was full): it catches up with what is on air and
	// which talks are gone or opted out. nil: it logs the loss.
	Conference Conference
	// EventOf, when set, names the event a track belongs to; a publish
	// keeps the one its track had when it began (index "event_id").
	EventOf func(track string) int64
	// NoSync skips the fdatasyncs (tests and benchmarks of the write path).
	NoSync bool
	// FFmpeg is the ffmpeg binary posters are made with; "" looks it up
	// in PATH, and posters are skipped when there is none.
	FFmpeg string
	Logger *slog.Logger

	metrics Metrics

	mu        sync.Mutex
	publishes map[string]*Publish // by track + "/" + id
	talks     map[int64]*talk
	optOut    map[int64]*talk  // talks with DoNotRecord: their spans are not written
	onAir     map[string]int64 // track -> talk on air
	usage     int64            // bytes of every listed file
	// rev counts changes to the catalog; cached recordings of an older
	// revision are cut again.
	rev   uint64
	cache map[int64]*Recording // talk recordings of revision rev

	// wmu guards the writers alone, so that the muxer goroutines handing
	// over segments never wait for the catalog lock.
	wmu     sync.Mutex
	writers map[string]*trackWriter
	closed  bool

	full      atomic.Bool // recording stopped for want of space
	wg        sync.WaitGroup
	stop      chan struct{}
	endFeed   func()
	posterSem chan struct{}
}

// DefaultMinFree is the free space below which recording stops.
const DefaultMinFree = 256 << 20

// ErrNotFound: no such recording.
var ErrNotFound = errors.New("recording not found")

// ErrWithdrawn: the talk was deleted from the timetable, and its
// recording with it.
var ErrWithdrawn = errors.New("this talk was removed from the timetable: its recording is no longer available")

// ErrDoNotRecord: the speaker opted out of the recording.
var ErrDoNotRecord = errors.New("the speaker asked not to be recorded (do_not_record): this talk has no recording")

// ErrLive: the operation needs a publish or talk that is no longer being
// recorded.
var ErrLive = errors.New("recording is live")

// Initialize repairs and loads what is on disk, starts the retention
// janitor and follows the feed.
func (r *Recorder) Initialize() error {
	if r.Dir == "" {
		return errors.New("recorder: no directory")
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Queue <= 0 {
		r.Queue = 16
	}
	if r.MinFree == 0 {
		r.MinFree = DefaultMinFree
	}
	r.publishes = map[string]*Publish{}
	r.talks = map[int64]*talk{}
	r.optOut = map[int64]*talk{}
	r.cache = map[int64]*Recording{}
	r.onAir = map[string]int64{}
	r.writers = map[string]*trackWriter{}
	r.stop = make(chan struct{})
	r.posterSem = make(chan struct{}, 1)
	for _, d := range []string{r.tracksDir(), r.talksDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("recorder: %w", err)
		}
	}
	if err := r.load(); err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	if err := r.loadTalks(); err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	r.expire(time.Now())
	r.wg.Add(1)
	go r.janitor()
	if r.Feed != nil {
		sub := r.Feed.Follow(256)
		r.endFeed = sub.Close
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				select {
				case c, ok := <-sub.C:
					if !ok {
						return
					}
					r.onChange(c)
				case <-sub.Missed():
					r.resync(sub.Lost())
				}
			}
		}()
	}
	return nil
}

// Close stops following the feed, lets every writer finish its queue
// and closes the live publishes' indexes.
func (r *Recorder) Close() {
	r.wmu.Lock()
	if r.closed {
		r.wmu.Unlock()
		return
	}
	r.closed = true
	ws := r.writers
	r.wmu.Unlock()
	close(r.stop)
	if r.endFeed != nil {
		r.endFeed()
	}
	for _, w := range ws {
		close(w.ch)
	}
	for _, w := range ws {
		<-w.done
	}
	r.wg.Wait()
}

func (r *Recorder) tracksDir() string { return filepath.Join(r.Dir, "tracks") }
func (r *Recorder) talksDir() string  { return filepath.Join(r.Dir, "talks") }

func (r *Recorder) publishDir(track, id string) string {
	return filepath.Join(r.tracksDir(), track, id)
}

func key(track, id string) string { return track + "/" + id }

// TimelineStarted implements packager.SegmentSink.
func (r *Recorder) TimelineStarted(tl packager.SinkTimeline) {
	r.enqueue(tl.Track, job{kind: jobStart, tl: tl}, false)
}

// SegmentCompleted implements packager.SegmentSink. It never blocks: a
// segment its track's writer has no room for is dropped and counted.
func (r *Recorder) SegmentCompleted(s packager.SinkSegment) {
	r.enqueue(s.Timeline.Track, job{kind: jobSegment, tl: s.Timeline, seg: s}, true)
}

// TimelineEnded implements packager.SegmentSink.
func (r *Recorder) TimelineEnded(tl packager.SinkTimeline) {
	r.enqueue(tl.Track, job{kind: jobEnd, tl: tl}, false)
}

// enqueue hands a job to the track's writer without blocking. Segments
// may fill Queue places; the few places above it are kept for the small
// start and end jobs, so those are not lost behind a backlog. The send
// happens under r.wmu so that Close cannot close the channel under it; it
// never waits.
func (r *Recorder) enqueue(track string, j job, segment bool) {
	r.wmu.Lock()
	w := r.writerLocked(track)
	ok := false
	if w != nil && (!segment || len(w.ch) < r.Queue) {
		select {
		case w.ch <- j:
			ok = true
		default:
		}
	}
	r.wmu.Unlock()
	switch {
	case w == nil || ok:
	case segment:
		r.dropped(w, j.seg.MSN, "queue full: the disk is not keeping up")
	default:
		r.Logger.Warn("recording: queue full, timeline event lost", "track", track)
	}
}

// dropped counts and logs a lost segment (the log at most every 10 s per
// track, so a stuck disk does not flood it).
func (r *Recorder) dropped(w *trackWriter, msn int, why string) {
	n := r.metrics.dropped.Add(1)
	now := time.Now().UnixNano()
	last := w.lastDropLog.Load()
	if now-last < int64(10*time.Second) || !w.lastDropLog.CompareAndSwap(last, now) {
		return
	}
	r.Logger.Warn("recording: segment dropped", "track", w.track, "msn", msn, "reason", why, "dropped_total", n)
}

// writerLocked returns the track's writer, starting it on first use; nil
// after Close. r.wmu is held.
func (r *Recorder) writerLocked(track string) *trackWriter {
	if r.closed {
		return nil
	}
	w := r.writers[track]
	if w == nil {
		w = &trackWriter{r: r, track: track, ch: make(chan job, r.Queue+8), done: make(chan struct{})}
		r.writers[track] = w
		go w.run()
	}
	return w
}

// janitor applies the retention once a minute.
func (r *Recorder) janitor() {
	defer r.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			r.expire(now)
		}
	}
}
