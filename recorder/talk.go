package recorder

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kastlive/kast/conference"
)

// talk is what the recorder knows of a talk: when it was on air, on which
// track, and how its recording is trimmed. Persisted as talks/<id>.json.
type talk struct {
	ID      int64  `json:"id"`
	EventID int64  `json:"event_id,omitempty"`
	TrackID int64  `json:"track_id,omitempty"`
	Track   string `json:"track"`
	Title   string `json:"title,omitempty"`
	Spans   []span `json:"spans"`
	// CutStartMS and CutEndMS trim the recording: that much media is left
	// out at its start and at its end (cut at segment boundaries).
	CutStartMS int64 `json:"cut_start_ms,omitempty"`
	CutEndMS   int64 `json:"cut_end_ms,omitempty"`
	// DoNotRecord: the speaker opted out. Nothing is written while the
	// talk is on air, and its recording is not served (ErrDoNotRecord).
	DoNotRecord bool `json:"do_not_record,omitempty"`
	// Withdrawn: the talk was deleted from the timetable, by hand or by an
	// import. Its recording is not served (ErrWithdrawn); its segments stay
	// on disk until the retention or the budget deletes their publishes,
	// or an admin deletes the talk's recording.
	Withdrawn bool `json:"withdrawn,omitempty"`
}

// span is one time a talk was on air: From until To (zero: still on air).
type span struct {
	Track string    `json:"track"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to,omitzero"`
}

func (t *talk) onAir() bool {
	return len(t.Spans) > 0 && t.Spans[len(t.Spans)-1].To.IsZero()
}

func (r *Recorder) talkPath(id int64) string {
	return filepath.Join(r.talksDir(), strconv.FormatInt(id, 10)+".json")
}

// loadTalks reads talks/ and rebuilds which talk is on air on each track.
func (r *Recorder) loadTalks() error {
	entries, err := os.ReadDir(r.talksDir())
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(r.talksDir(), name))
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.talksDir(), name))
		if err != nil {
			return err
		}
		var t talk
		if err := json.Unmarshal(b, &t); err != nil || t.ID == 0 {
			r.Logger.Warn("recording: unreadable talk file, left alone", "file", name, "err", err)
			continue
		}
		r.talks[t.ID] = &t
		r.noteOptOutLocked(&t)
		if t.onAir() {
			r.onAir[t.Spans[len(t.Spans)-1].Track] = t.ID
		}
	}
	return nil
}

// saveTalkLocked persists t; r.mu is held (the file is small).
func (r *Recorder) saveTalkLocked(t *talk) error {
	r.rev++
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(r.talkPath(t.ID), append(b, '\n'), !r.NoSync)
}

// noteOptOutLocked keeps r.optOut, the talks whose spans are not
// written, in step with t; r.mu is held (or the recorder not started).
func (r *Recorder) noteOptOutLocked(t *talk) {
	if t.DoNotRecord {
		r.optOut[t.ID] = t
	} else {
		delete(r.optOut, t.ID)
	}
}

// optedOut reports whether the segment of track whose midpoint is at mid
// belongs to a talk whose speaker opted out of the recording.
func (r *Recorder) optedOut(track string, mid time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.optOut {
		for _, sp := range t.Spans {
			if sp.Track == track && !mid.Before(sp.From) && (sp.To.IsZero() || mid.Before(sp.To)) {
				return true
			}
		}
	}
	return false
}

// onChange applies a conference change: an on-air switch (the talk that
// was on air on the track stops being so at c.At, and c.Talk, if any,
// starts), or a talk's update or deletion.
func (r *Recorder) onChange(c conference.Change) {
	if c.Kind == conference.ChangeTalk {
		r.onTalkChange(c)
		return
	}
	if c.Kind != conference.ChangeOnAir || c.Track == "" {
		return
	}
	at := c.At
	if at.IsZero() {
		at = time.Now()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.onAir[c.Track]; ok {
		if c.Talk != nil && c.Talk.ID == id {
			return // already on air
		}
		if t := r.talks[id]; t != nil && t.onAir() {
			t.Spans[len(t.Spans)-1].To = at
			if err := r.saveTalkLocked(t); err != nil {
				r.Logger.Warn("recording: cannot save talk", "talk", id, "err", err)
			}
		}
		delete(r.onAir, c.Track)
	}
	if c.Talk == nil {
		return
	}
	t := r.talks[c.Talk.ID]
	if t == nil {
		t = &talk{ID: c.Talk.ID}
		r.talks[t.ID] = t
	}
	t.EventID, t.TrackID, t.Track, t.Title = c.EventID, c.TrackID, c.Track, c.Talk.Title
	if t.EventID == 0 {
		t.EventID = c.Talk.EventID
	}
	t.DoNotRecord = c.Talk.DoNotRecord
	r.noteOptOutLocked(t)
	if t.onAir() { // on air on another track until now
		last := &t.Spans[len(t.Spans)-1]
		last.To = at
		if r.onAir[last.Track] == t.ID {
			delete(r.onAir, last.Track)
		}
	}
	t.Spans = append(t.Spans, span{Track: c.Track, From: at})
	r.onAir[c.Track] = t.ID
	if err := r.saveTalkLocked(t); err != nil {
		r.Logger.Warn("recording: cannot save talk", "talk", t.ID, "err", err)
	}
	if t.DoNotRecord {
		r.Logger.Info("recording: talk on air, not recorded (do_not_record)", "talk", t.ID, "track", c.Track, "title", t.Title)
		return
	}
	r.Logger.Info("recording: talk on air", "talk", t.ID, "track", c.Track, "title", t.Title)
}

// onTalkChange follows a talk's update (title, do_not_record) and
// deletion (its recording is withdrawn) for the talks the recorder knows.
func (r *Recorder) onTalkChange(c conference.Change) {
	if c.Talk == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.talks[c.Talk.ID]
	if t == nil {
		return // never on air: nothing recorded
	}
	before := *t
	if c.Deleted {
		t.Withdrawn = true
	} else {
		t.DoNotRecord = c.Talk.DoNotRecord
		if c.Talk.Title != "" {
			t.Title = c.Talk.Title
		}
	}
	r.noteOptOutLocked(t)
	if t.Withdrawn == before.Withdrawn && t.DoNotRecord == before.DoNotRecord && t.Title == before.Title {
		return
	}
	if err := r.saveTalkLocked(t); err != nil {
		r.Logger.Warn("recording: cannot save talk", "talk", t.ID, "err", err)
	}
	switch {
	case t.Withdrawn && !before.Withdrawn:
		r.Logger.Info("recording withdrawn: the talk was deleted from the timetable (files kept until the retention, the budget or an admin delete)", "talk", t.ID)
	case t.DoNotRecord && !before.DoNotRecord:
		r.Logger.Info("recording withdrawn: the speaker opted out (do_not_record)", "talk", t.ID)
	}
}

// Trim sets how much of a talk's recording is left out at its start and
// its end (the recording is cut again at segment boundaries; nothing is
// re-encoded). Zero values undo a trim. A talk on air, or whose segments
// are still being recorded, is refused with ErrLive.
func (r *Recorder) Trim(id int64, cutStart, cutEnd time.Duration) error {
	if cutStart < 0 || cutEnd < 0 {
		return fmt.Errorf("trim amounts must not be negative")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.talks[id]
	if t == nil {
		return ErrNotFound
	}
	// Cut at the end of a recording that is still growing would move with
	// every segment: trim once it is complete.
	if t.onAir() || r.talkRecordingLocked(t, time.Now(), false).Live {
		return ErrLive
	}
	t.CutStartMS, t.CutEndMS = cutStart.Milliseconds(), cutEnd.Milliseconds()
	return r.saveTalkLocked(t)
}
