package recorder

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// TalkSummary describes a talk's recording in a listing.
type TalkSummary struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title,omitempty"`
	Track     string    `json:"track"`
	Spans     []Span    `json:"spans"`
	OnAir     bool      `json:"on_air"`
	Live      bool      `json:"live"`
	Segments  int       `json:"segments"`
	DurationS float64   `json:"duration_s"`
	Bytes     int64     `json:"bytes"`
	CutStartS float64   `json:"cut_start_s"`
	CutEndS   float64   `json:"cut_end_s"`
	Start     time.Time `json:"start,omitzero"`
	// DoNotRecord and Withdrawn: the recording is not served (the
	// speaker opted out; the talk was deleted from the timetable).
	DoNotRecord bool `json:"do_not_record,omitempty"`
	Withdrawn   bool `json:"withdrawn,omitempty"`
}

// PublishSummary describes one publish in a listing.
type PublishSummary struct {
	Track     string    `json:"track"`
	ID        string    `json:"id"`
	Source    string    `json:"source,omitempty"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended,omitzero"`
	Live      bool      `json:"live"`
	Segments  int       `json:"segments"`
	DurationS float64   `json:"duration_s"`
	Bytes     int64     `json:"bytes"`
}

// Listing is every recording, newest first.
type Listing struct {
	Talks     []TalkSummary    `json:"talks"`
	Publishes []PublishSummary `json:"publishes"`
}

// List returns every talk recording and publish.
func (r *Recorder) List() Listing {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	l := Listing{Talks: []TalkSummary{}, Publishes: []PublishSummary{}}
	for _, t := range r.talks {
		l.Talks = append(l.Talks, r.summaryLocked(t, now))
	}
	for _, p := range r.publishes {
		l.Publishes = append(l.Publishes, PublishSummary{Track: p.Track, ID: p.ID, Source: p.Source, Started: p.Started,
			Ended: p.Ended, Live: p.Live(), Segments: len(p.Segments), DurationS: p.Duration().Seconds(), Bytes: p.Size})
	}
	sort.Slice(l.Talks, func(i, j int) bool { return l.Talks[i].Start.After(l.Talks[j].Start) })
	sort.Slice(l.Publishes, func(i, j int) bool { return l.Publishes[i].Started.After(l.Publishes[j].Started) })
	return l
}

// TalkSummary describes a talk's recording, also one that is not served
// (withdrawn, opted out): what the admin API shows.
func (r *Recorder) TalkSummary(id int64) (TalkSummary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.talks[id]
	if t == nil {
		return TalkSummary{}, ErrNotFound
	}
	return r.summaryLocked(t, time.Now()), nil
}

func (r *Recorder) summaryLocked(t *talk, now time.Time) TalkSummary {
	rec := r.talkRecordingLocked(t, now, true)
	s := TalkSummary{ID: t.ID, Title: t.Title, Track: t.Track, Spans: rec.Spans, OnAir: t.onAir(), Live: rec.Live,
		Segments: len(rec.Entries), DurationS: rec.Duration.Seconds(), Bytes: rec.Size,
		CutStartS: rec.CutStart.Seconds(), CutEndS: rec.CutEnd.Seconds(), DoNotRecord: t.DoNotRecord, Withdrawn: t.Withdrawn}
	if len(rec.Entries) > 0 {
		s.Start = rec.Entries[0].PDT
	} else if len(t.Spans) > 0 {
		s.Start = t.Spans[0].From
	}
	return s
}

// DeletePublish deletes a publish that is not being recorded.
func (r *Recorder) DeletePublish(track, id string) error {
	r.mu.Lock()
	p := r.publishes[key(track, id)]
	r.mu.Unlock()
	if p == nil {
		return ErrNotFound
	}
	return r.removePublish(p)
}

// DeleteTalk deletes a talk's recording: its segments that no other
// talk's recording uses are deleted from disk (publishes left empty go
// entirely), and the talk is forgotten. A talk on air, or one whose
// segments are in a publish still being recorded, is refused (ErrLive).
func (r *Recorder) DeleteTalk(id int64) error {
	r.mu.Lock()
	t := r.talks[id]
	if t == nil {
		r.mu.Unlock()
		return ErrNotFound
	}
	now := time.Now()
	rec := r.talkRecordingLocked(t, now, false)
	if rec.Live {
		r.mu.Unlock()
		return ErrLive
	}
	// Segments other talks use stay.
	used := map[string]bool{}
	for oid, o := range r.talks {
		if oid == id {
			continue
		}
		for _, e := range r.talkRecordingLocked(o, now, true).Entries {
			used[key(e.Track, e.Publish)+"/"+segName(e.MSN)] = true
		}
	}
	drop := map[string]map[int]bool{} // publish key -> msns
	for _, e := range rec.Entries {
		k := key(e.Track, e.Publish)
		if used[k+"/"+segName(e.MSN)] {
			continue
		}
		if p := r.publishes[k]; p == nil || p.Live() {
			r.mu.Unlock()
			return ErrLive
		}
		if drop[k] == nil {
			drop[k] = map[int]bool{}
		}
		drop[k][e.MSN] = true
	}
	delete(r.talks, id)
	delete(r.optOut, id)
	r.rev++
	r.mu.Unlock()
	if err := os.Remove(r.talkPath(id)); err != nil && !os.IsNotExist(err) {
		return err
	}
	for k, msns := range drop {
		r.mu.Lock()
		p := r.publishes[k]
		r.mu.Unlock()
		if p == nil {
			continue
		}
		if err := r.dropSegments(p, msns); err != nil {
			return err
		}
	}
	r.Logger.Info("recording deleted", "talk", id)
	return nil
}

// dropSegments deletes some segments of a publish that is not live: the
// index is rewritten without them first, then their files go.
func (r *Recorder) dropSegments(p *Publish, msns map[int]bool) error {
	r.mu.Lock()
	var keep []Segment
	for _, s := range p.Segments {
		if !msns[s.MSN] {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		r.mu.Unlock()
		return r.removePublish(p)
	}
	inits := map[int]bool{}
	for _, s := range keep {
		inits[s.Init] = true
	}
	var buf bytes.Buffer
	buf.Write(marshalLine(indexLine{Kind: lineKindPublish, Track: p.Track, ID: p.ID, Started: p.Started.UTC(), Source: p.Source, Epoch: p.Epoch, EventID: p.EventID}))
	written := map[int]bool{}
	var size int64
	for i := range keep {
		s := &keep[i]
		if !written[s.Init] {
			written[s.Init] = true
			buf.Write(marshalLine(indexLine{Kind: lineKindInit, Init: s.Init, File: initName(s.Init), Size: p.Inits[s.Init]}))
			size += p.Inits[s.Init]
		}
		buf.Write(marshalLine(segLine(s)))
		size += s.Size
	}
	buf.Write(marshalLine(indexLine{Kind: lineKindEnd, At: p.Ended.UTC()}))
	dir := r.publishDir(p.Track, p.ID)
	r.mu.Unlock()

	if err := writeAtomic(filepath.Join(dir, "index.jsonl"), buf.Bytes(), !r.NoSync); err != nil {
		return err
	}
	r.mu.Lock()
	var gone []string
	for _, s := range p.Segments {
		if msns[s.MSN] {
			gone = append(gone, segName(s.MSN), posterName(s.MSN))
		}
	}
	for id := range p.Inits {
		if !inits[id] {
			gone = append(gone, initName(id))
			delete(p.Inits, id)
		}
	}
	size += int64(buf.Len())
	if !p.removed {
		r.usage += size - p.Size
	}
	p.Size = size
	p.Segments = keep // a new slice: readers holding the old one are unaffected
	r.rev++
	r.mu.Unlock()
	for _, name := range gone {
		os.Remove(filepath.Join(dir, name))
	}
	return nil
}
