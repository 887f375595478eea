package recorder

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kastlive/kast/packager"
)

type jobKind int

const (
	jobStart jobKind = iota
	jobSegment
	jobEnd
)

// job is what the packager handed over, waiting for the track's writer.
type job struct {
	kind jobKind
	tl   packager.SinkTimeline
	seg  packager.SinkSegment
}

// trackWriter is the one goroutine that writes a track's recordings.
type trackWriter struct {
	r           *Recorder
	track       string
	ch          chan job
	done        chan struct{}
	lastDropLog atomic.Int64

	cur *pubWriter
	bw  *bufio.Writer
}

// pubWriter is the publish a track writer is appending to.
type pubWriter struct {
	pub    *Publish
	dir    string
	index  *os.File
	stream uint64
	epoch  string
	inits  map[int]bool
}

func (w *trackWriter) run() {
	defer close(w.done)
	for j := range w.ch {
		switch j.kind {
		case jobStart:
			if w.cur != nil && !w.cur.same(j.tl) {
				w.finish()
			}
		case jobSegment:
			w.segment(&j.seg)
		case jobEnd:
			if w.cur != nil && w.cur.same(j.tl) {
				w.end()
			}
		}
	}
	w.finish()
}

func (p *pubWriter) same(tl packager.SinkTimeline) bool {
	return p.stream == tl.Stream && p.epoch == tl.Epoch
}

// segment writes one segment (and its init section, the first time).
func (w *trackWriter) segment(s *packager.SinkSegment) {
	r := w.r
	tl := s.Timeline
	if w.cur != nil && (!w.cur.same(tl) || r.isRemoved(w.cur.pub)) {
		w.finish()
	}
	if r.optedOut(tl.Track, s.PDT.Add(s.Duration/2)) {
		r.metrics.optedOut.Add(1)
		return // the talk on air asked not to be recorded
	}
	need := int64(s.Size)
	if w.cur == nil || !w.cur.inits[tl.InitID] {
		need += int64(len(tl.Init))
	}
	if ok, why := r.makeRoom(need); !ok {
		r.dropped(w, s.MSN, why)
		return
	}
	if w.cur == nil {
		p, err := w.open(tl)
		if err != nil {
			w.failed(s.MSN, err)
			return
		}
		w.cur = p
	}
	p := w.cur
	if !p.inits[tl.InitID] {
		size, err := w.writeFile(filepath.Join(p.dir, initName(tl.InitID)), [][]byte{tl.Init})
		if err == nil {
			err = w.appendLine(p, indexLine{Kind: lineKindInit, Init: tl.InitID, File: initName(tl.InitID), Size: size}, size, func(pub *Publish) {
				pub.Inits[tl.InitID] = size
			})
		}
		if err != nil {
			w.failed(s.MSN, err)
			return
		}
		p.inits[tl.InitID] = true
	}
	start := time.Now()
	size, err := w.writeFile(filepath.Join(p.dir, segName(s.MSN)), s.Buffers)
	if err != nil {
		w.failed(s.MSN, err)
		return
	}
	seg := Segment{MSN: s.MSN, Init: tl.InitID, Start: s.Start, Duration: s.Duration, PDT: s.PDT, Disc: s.Discontinuity, Size: size}
	if err := w.appendLine(p, segLine(&seg), size, func(pub *Publish) {
		pub.Segments = append(pub.Segments, seg)
		pub.Ended = time.Time{} // a timeline of the same stream may follow an end
	}); err != nil {
		w.failed(s.MSN, err)
		return
	}
	r.metrics.segments.Add(1)
	r.metrics.bytes.Add(uint64(size))
	r.metrics.writeNanos.Add(uint64(time.Since(start)))
	r.setFull(false, "")
}

// open creates the directory and index of a new publish.
func (w *trackWriter) open(tl packager.SinkTimeline) (*pubWriter, error) {
	r := w.r
	if !validName(w.track) {
		return nil, fmt.Errorf("track name %q cannot be a directory name", w.track)
	}
	started := tl.StreamStarted
	if started.IsZero() {
		started = time.Now()
	}
	parent := filepath.Join(r.tracksDir(), w.track)
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return nil, err
	}
	base := started.UTC().Format("20060102T150405Z")
	var id, dir string
	for n := 1; ; n++ {
		id = base
		if n > 1 {
			id = fmt.Sprintf("%s-%d", base, n)
		}
		dir = filepath.Join(parent, id)
		err := os.Mkdir(dir, 0o750)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || n > 1000 {
			return nil, err
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "index.jsonl"), os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o640)
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	var event int64
	if r.EventOf != nil {
		event = r.EventOf(w.track)
	}
	pub := &Publish{Track: w.track, ID: id, Epoch: tl.Epoch, Source: tl.Source, Started: started, EventID: event, Inits: map[int]int64{}}
	p := &pubWriter{pub: pub, dir: dir, index: f, stream: tl.Stream, epoch: tl.Epoch, inits: map[int]bool{}}
	line := marshalLine(indexLine{Kind: lineKindPublish, Track: w.track, ID: id, Started: started.UTC(), Source: tl.Source, Epoch: tl.Epoch, EventID: event})
	if _, err := f.Write(line); err != nil {
		f.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	w.sync(f)
	if !r.NoSync {
		syncDir(parent) // the new directory survives a power cut
	}
	r.mu.Lock()
	pub.Size = int64(len(line))
	r.publishes[key(w.track, id)] = pub
	r.rev++
	r.usage += pub.Size
	r.mu.Unlock()
	r.Logger.Info("recording", "track", w.track, "publish", id, "dir", dir)
	return p, nil
}

// writeFile writes bufs as a new file, fdatasync'd, and returns its size.
// A file that could not be written whole is removed.
func (w *trackWriter) writeFile(path string, bufs [][]byte) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return 0, err
	}
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, 128<<10)
	} else {
		w.bw.Reset(f)
	}
	var n int64
	for _, b := range bufs {
		if _, err = w.bw.Write(b); err != nil {
			break
		}
		n += int64(len(b))
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil && !w.r.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	w.bw.Reset(nil)
	if err != nil {
		os.Remove(path)
		return 0, err
	}
	return n, nil
}

// appendLine appends l to the publish's index and then applies update to
// the catalog entry, counting size more bytes of files plus the line.
func (w *trackWriter) appendLine(p *pubWriter, l indexLine, size int64, update func(*Publish)) error {
	b := marshalLine(l)
	if _, err := p.index.Write(b); err != nil {
		return err
	}
	w.sync(p.index)
	r := w.r
	r.mu.Lock()
	update(p.pub)
	r.rev++
	p.pub.Size += size + int64(len(b))
	if !p.pub.removed {
		r.usage += size + int64(len(b))
	}
	r.mu.Unlock()
	return nil
}

func (w *trackWriter) sync(f *os.File) {
	if !w.r.NoSync {
		f.Sync()
	}
}

// end writes the end line of the current publish; it stays open in case
// a timeline of the same stream follows (after a clock jump).
func (w *trackWriter) end() {
	p := w.cur
	r := w.r
	r.mu.Lock()
	at := p.pub.lastEnd()
	r.mu.Unlock()
	if err := w.appendLine(p, indexLine{Kind: lineKindEnd, At: at.UTC()}, 0, func(pub *Publish) {
		pub.Ended = at
		r.metrics.ends.Add(1)
	}); err != nil {
		r.metrics.ends.Add(1)
		r.Logger.Warn("recording: cannot write the end of the index", "track", w.track, "publish", p.pub.ID, "err", err)
		r.mu.Lock()
		p.pub.Ended = at
		r.rev++
		r.mu.Unlock()
	}
}

// finish ends the current publish for good.
func (w *trackWriter) finish() {
	p := w.cur
	if p == nil {
		return
	}
	r := w.r
	r.mu.Lock()
	live := p.pub.Live() && !p.pub.removed
	r.mu.Unlock()
	if live {
		w.end()
	}
	p.index.Close()
	w.cur = nil
	r.Logger.Info("recording ended", "track", w.track, "publish", p.pub.ID)
}

// failed handles a write error: a full disk stops recording until there
// is room, anything else loses this segment only.
func (w *trackWriter) failed(msn int, err error) {
	r := w.r
	r.metrics.writeErrors.Add(1)
	if isNoSpace(err) {
		r.setFull(true, err.Error())
		r.dropped(w, msn, "disk full")
		return
	}
	r.dropped(w, msn, err.Error())
	// A publish whose files cannot be written is given up; the next
	// segment starts a new one.
	if w.cur != nil {
		w.finish()
	}
}

// isNoSpace reports whether err says the disk (or a quota, or a file
// size limit) is full.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG)
}

// validName reports whether s can be one path element.
func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 200 {
		return false
	}
	for _, c := range s {
		if c == '/' || c == '\\' || c == 0 {
			return false
		}
	}
	return s[0] != '.'
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
