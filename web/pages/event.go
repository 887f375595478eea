package pages

import (
	"net/http"
	"time"

	"github.com/kastlive/kast/conference"
)

// slot is the timetable grid's row height.
const slot = 5 * time.Minute

// trackCard is a track on the event home: its live state and its talk.
type trackCard struct {
	Track   conference.Track
	Live    bool
	OnAir   *conference.Talk
	Next    *conference.Talk
	Viewers int
}

// gridTalk is a talk placed in the timetable grid.
type gridTalk struct {
	Talk      conference.Talk
	Track     conference.Track
	Col       int // grid column, 2 = first track
	Row, End  int // grid rows, 2 = first slot
	Now, Next bool
	// Recording: the talk ended and has a recording.
	Recording bool
}

// gridLabel is a time label in the first column.
type gridLabel struct {
	At  time.Time
	Row int
}

// eventData is what event.html renders.
type eventData struct {
	Event      conference.Event
	Loc        *time.Location
	Tracks     []trackCard
	Days       []time.Time // midnight of each day with talks, in Loc
	Day        time.Time
	Talks      []gridTalk
	Labels     []gridLabel
	Rows       int
	Registered bool
}

// EventHome renders /e/{event}: the tracks with what they show now and the
// day's timetable as a grid by track.
func (h *Handler) EventHome(w http.ResponseWriter, r *http.Request) {
	if !h.enabled(w, r) {
		return
	}
	ev, ok := h.loadEvent(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	tracks, err := h.Store.EventTracks(ctx, ev.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	onAir, err := h.Store.EventOnAir(ctx, ev.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	talks, err := h.Store.Talks(ctx, conference.TalkFilter{EventID: ev.ID})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	loc, now := ev.Location(), h.now()
	d := eventData{Event: ev, Loc: loc}
	byID := map[int64]*conference.Talk{}
	for i := range talks {
		byID[talks[i].ID] = &talks[i]
	}
	col := map[int64]int{}
	for i, t := range tracks {
		col[t.ID] = i + 2
		c := trackCard{Track: t, Live: h.isLive(t.Slug), Viewers: h.viewerCount(t.Slug)}
		if o, ok := onAir[t.ID]; ok && o.TalkID != 0 {
			c.OnAir = byID[o.TalkID]
		}
		c.Next = nextTalk(talks, t.ID, now)
		if c.Next != nil && c.OnAir != nil && c.Next.ID == c.OnAir.ID {
			c.Next = nextTalk(talks, t.ID, c.Next.Start) // started early: the one after
		}
		d.Tracks = append(d.Tracks, c)
	}
	d.Days = talkDays(talks, loc)
	d.Day = pickDay(d.Days, r.URL.Query().Get("day"), now, loc)
	h.layoutGrid(&d, talks, tracks, col, now)
	v := h.viewer(r)
	_, d.Registered = h.registered(ctx, v, ev)
	h.render(w, r, http.StatusOK, "event.html", page{Title: ev.Title, Data: d, Viewer: v, Event: &ev, Scripts: []string{"timetable.js"}})
}

// nextTalk is the first talk of the track starting after now.
func nextTalk(talks []conference.Talk, trackID int64, now time.Time) *conference.Talk {
	for i := range talks {
		if talks[i].TrackID == trackID && talks[i].Start.After(now) {
			return &talks[i]
		}
	}
	return nil
}

// talkDays returns the days (midnight in loc) that have talks, in order.
func talkDays(talks []conference.Talk, loc *time.Location) []time.Time {
	var days []time.Time
	for _, t := range talks {
		s := t.Start.In(loc)
		d := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, loc)
		if len(days) == 0 || !days[len(days)-1].Equal(d) {
			days = append(days, d)
		}
	}
	return days
}

// pickDay is the day asked for (?day=2006-01-02), else today when it has
// talks, else the next day with talks, else the last one.
func pickDay(days []time.Time, want string, now time.Time, loc *time.Location) time.Time {
	if len(days) == 0 {
		n := now.In(loc)
		return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	}
	for _, d := range days {
		if d.Format("2006-01-02") == want {
			return d
		}
	}
	n := now.In(loc)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	for _, d := range days {
		if !d.Before(today) {
			return d
		}
	}
	return days[len(days)-1]
}

// layoutGrid places the day's talks: a column per track, a row per slot
// from the first talk's hour to the last talk's end.
func (h *Handler) layoutGrid(d *eventData, talks []conference.Talk, tracks []conference.Track, col map[int64]int, now time.Time) {
	dayEnd := d.Day.AddDate(0, 0, 1)
	var first, last time.Time
	for _, t := range talks {
		if t.Start.Before(d.Day) || !t.Start.Before(dayEnd) || col[t.TrackID] == 0 {
			continue
		}
		if first.IsZero() || t.Start.Before(first) {
			first = t.Start
		}
		if t.End.After(last) {
			last = t.End
		}
	}
	if first.IsZero() {
		return
	}
	f := first.In(d.Loc)
	origin := time.Date(f.Year(), f.Month(), f.Day(), f.Hour(), 0, 0, 0, d.Loc)
	row := func(t time.Time) int { return int(t.Sub(origin)/slot) + 2 }
	d.Rows = row(last) - 1
	if last.Sub(origin)%slot != 0 {
		d.Rows++
	}
	nexts := map[int64]bool{}
	for _, tr := range tracks {
		if n := nextTalk(talks, tr.ID, now); n != nil {
			nexts[n.ID] = true
		}
	}
	trackByID := map[int64]conference.Track{}
	for _, tr := range tracks {
		trackByID[tr.ID] = tr
	}
	for _, t := range talks {
		if t.Start.Before(d.Day) || !t.Start.Before(dayEnd) || col[t.TrackID] == 0 {
			continue
		}
		end := row(t.End)
		if t.End.Sub(origin)%slot != 0 {
			end++
		}
		if end <= row(t.Start) {
			end = row(t.Start) + 1
		}
		d.Talks = append(d.Talks, gridTalk{Talk: t, Track: trackByID[t.TrackID], Col: col[t.TrackID], Row: row(t.Start), End: end,
			Now: !now.Before(t.Start) && now.Before(t.End), Next: nexts[t.ID],
			Recording: !t.End.After(now) && h.Recorded != nil && h.Recorded(t.ID)})
	}
	for at := origin; at.Before(last); at = at.Add(30 * time.Minute) {
		d.Labels = append(d.Labels, gridLabel{At: at, Row: row(at)})
	}
}
