package recorder

import (
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Recording is a run of recorded segments that plays as one: a talk's
// (cut from its on-air spans and trim) or one publish's.
type Recording struct {
	// TalkID is the talk's id, 0 for a publish's recording.
	TalkID int64
	// EventID is the talk's event (or the publish's): whose access
	// gates the recording; 0 when not known.
	EventID int64
	Title   string
	// Track is the talk's track (of its last span) or the publish's.
	Track string
	// Publish names the publish of a publish's recording.
	Publish string
	Entries []Entry
	// Live is true while more segments may still join the recording.
	Live     bool
	Duration time.Duration
	Size     int64
	// Spans are a talk's on-air spans; CutStart and CutEnd its trim.
	Spans    []Span
	CutStart time.Duration
	CutEnd   time.Duration

	root string
	rev  uint64

	filesOnce sync.Once
	files     map[string]string // publish/name -> path
	plOnce    sync.Once
	playlist  []byte
}

// Entry is one segment of a recording.
type Entry struct {
	Track   string
	Publish string
	Epoch   string
	Segment
	// Disc: an EXT-X-DISCONTINUITY comes before it (another publish,
	// another init section, or a gap).
	Disc bool
	// Cont: its timestamps continue those of the entry before it.
	Cont bool
}

// Span is one time a talk was on air (To zero: it still is).
type Span struct {
	Track string
	From  time.Time
	To    time.Time
}

// Path returns the file of the entry's segment.
func (rec *Recording) Path(e *Entry) string {
	return filepath.Join(rec.root, e.Track, e.Publish, segName(e.MSN))
}

// InitPath returns the file of the entry's init section.
func (rec *Recording) InitPath(e *Entry) string {
	return filepath.Join(rec.root, e.Track, e.Publish, initName(e.Init))
}

// File returns the path of a file of the recording named by its track,
// publish and file name (seg-N.m4s or init-N.mp4), and whether the
// recording has it. Only files the recording lists are found. Publishes
// are named by their start second, so two tracks' publishes can share a
// name: the track tells them apart. track "" finds a publish of any
// track when only one has that name (URIs of playlists rendered before
// they named the track).
func (rec *Recording) File(track, publish, name string) (string, bool) {
	rec.filesOnce.Do(func() {
		rec.files = make(map[string]string, 2*len(rec.Entries)+8)
		add := func(tp, file, path string) {
			rec.files[tp+"/"+file] = path
			anyTrack := "/" + strings.SplitN(tp, "/", 2)[1] + "/" + file
			if old, ok := rec.files[anyTrack]; ok && old != path {
				path = "" // two tracks: ambiguous
			}
			rec.files[anyTrack] = path
		}
		for i := range rec.Entries {
			e := &rec.Entries[i]
			tp := e.Track + "/" + e.Publish
			add(tp, segName(e.MSN), rec.Path(e))
			add(tp, initName(e.Init), rec.InitPath(e))
		}
	})
	p, ok := rec.files[track+"/"+publish+"/"+name]
	return p, ok && p != ""
}

// Talk returns the recording of a talk: ErrNotFound for a talk never on
// air, ErrWithdrawn for one deleted from the timetable, ErrDoNotRecord
// when its speaker opted out. It is cut again only when the
// catalog changed since the last call (a segment, a switch, a trim): a
// viewer's segment requests reuse it. Treat it as read-only.
func (r *Recorder) Talk(id int64) (*Recording, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.talks[id]
	switch {
	case t == nil:
		return nil, ErrNotFound
	case t.Withdrawn:
		return nil, ErrWithdrawn
	case t.DoNotRecord:
		return nil, ErrDoNotRecord
	}
	if rec := r.cache[id]; rec != nil && rec.rev == r.rev {
		return rec, nil
	}
	rec := r.talkRecordingLocked(t, time.Now(), true)
	rec.rev = r.rev
	if len(r.cache) > 1000 {
		clear(r.cache)
	}
	r.cache[id] = rec
	return rec, nil
}

// Publish returns the recording of one publish.
func (r *Recorder) Publish(track, id string) (*Recording, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.publishes[key(track, id)]
	if p == nil {
		return nil, ErrNotFound
	}
	rec := &Recording{Track: track, Publish: id, EventID: p.EventID, Live: p.Live(), root: r.tracksDir()}
	for _, s := range p.Segments {
		rec.Entries = append(rec.Entries, Entry{Track: track, Publish: id, Epoch: p.Epoch, Segment: s})
	}
	rec.finish()
	return rec, nil
}

// talkRecordingLocked cuts a talk's recording; trim false ignores its
// trim (what deleting it deletes). r.mu is held.
func (r *Recorder) talkRecordingLocked(t *talk, now time.Time, trim bool) *Recording {
	rec := &Recording{TalkID: t.ID, EventID: t.EventID, Title: t.Title, Track: t.Track, root: r.tracksDir(),
		CutStart: time.Duration(t.CutStartMS) * time.Millisecond, CutEnd: time.Duration(t.CutEndMS) * time.Millisecond,
		Live: t.onAir()}
	pubs := make([]*Publish, 0, len(r.publishes))
	for _, p := range r.publishes {
		pubs = append(pubs, p)
	}
	sort.Slice(pubs, func(i, j int) bool { return pubs[i].firstPDT().Before(pubs[j].firstPDT()) })
	farFuture := now.Add(100 * 365 * 24 * time.Hour)
	for _, sp := range t.Spans {
		rec.Spans = append(rec.Spans, Span(sp))
		to := sp.To
		if to.IsZero() {
			to = farFuture
		}
		for _, p := range pubs {
			if p.Track != sp.Track || len(p.Segments) == 0 && !p.Live() || !p.firstPDT().Before(to) || p.endOrNow(now).Before(sp.From) {
				continue
			}
			if p.Live() && p.lastEnd().Before(to) {
				rec.Live = true // segments of this span are still coming
			}
			for _, s := range p.Segments {
				mid := s.PDT.Add(s.Duration / 2)
				if !mid.Before(sp.From) && mid.Before(to) {
					rec.Entries = append(rec.Entries, Entry{Track: p.Track, Publish: p.ID, Epoch: p.Epoch, Segment: s})
				}
			}
		}
	}
	sort.SliceStable(rec.Entries, func(i, j int) bool { return rec.Entries[i].PDT.Before(rec.Entries[j].PDT) })
	if trim && (rec.CutStart > 0 || rec.CutEnd > 0) {
		var total time.Duration
		for i := range rec.Entries {
			total += rec.Entries[i].Duration
		}
		kept := rec.Entries[:0]
		var off time.Duration
		for _, e := range rec.Entries {
			mid := off + e.Duration/2
			off += e.Duration
			if mid >= rec.CutStart && mid < total-rec.CutEnd {
				kept = append(kept, e)
			}
		}
		rec.Entries = kept
	}
	rec.finish()
	return rec
}

// finish sets the entries' flags and the totals.
func (rec *Recording) finish() {
	for i := range rec.Entries {
		e := &rec.Entries[i]
		rec.Duration += e.Duration
		rec.Size += e.Size
		if i == 0 {
			continue
		}
		prev := &rec.Entries[i-1]
		gap := e.Start - (prev.Start + prev.Duration)
		e.Cont = e.Track == prev.Track && e.Epoch == prev.Epoch && gap > -time.Millisecond && gap < time.Millisecond
		e.Disc = !e.Cont || e.Segment.Disc || e.Publish != prev.Publish || e.Init != prev.Init
	}
}
