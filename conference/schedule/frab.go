package schedule

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kastlive/kast/conference"
)

// frabEvent is what the JSON and XML forms of a frab event share, read
// from either; parsing it into a talk is common to both.
type frabEvent struct {
	GUID        string
	ID          string
	Date        string // ISO 8601 date-time with offset
	Start       string // "HH:MM", local time of the day
	Duration    string // "HH:MM" or "HH:MM:SS"
	Room        string
	Title       string
	Subtitle    string
	Type        string
	Language    string
	Abstract    string
	Description string
	Persons     []conference.Speaker
	// DoNotRecord: JSON do_not_record, XML <recording><optout>.
	DoNotRecord bool
}

// frabDay is the day an event is listed under: its date (YYYY-MM-DD) and,
// when the schedule gives them, when it starts and ends (a conference
// day often runs past midnight: 10:00 to 04:00 the next morning).
type frabDay struct {
	Date       string
	Start, End time.Time
}

// dayBounds reads a day's start and end ("" or unreadable: zero).
func dayBounds(start, end string, loc *time.Location) (time.Time, time.Time) {
	return parseDateTime(start, loc), parseDateTime(end, loc)
}

// parseDateTime reads an ISO 8601 date-time as frab and pretalx write it
// (with an offset, or local to loc); zero when it is none.
func parseDateTime(s string, loc *time.Location) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t
		}
	}
	return time.Time{}
}

// talk converts e, listed under day in loc, into a timetable talk.
func (e frabEvent) talk(field string, day frabDay, loc *time.Location) (conference.Talk, error) {
	guid := strings.TrimSpace(e.GUID)
	if guid == "" && strings.TrimSpace(e.ID) != "" {
		guid = "frab-id:" + strings.TrimSpace(e.ID)
	}
	if guid == "" {
		return conference.Talk{}, fieldErr(field+".guid", "is missing (and there is no id)")
	}
	start, err := e.startTime(day, loc)
	if err != nil {
		return conference.Talk{}, fieldErr(field+".date", "%v", err)
	}
	d, err := parseDuration(e.Duration)
	if err != nil {
		return conference.Talk{}, fieldErr(field+".duration", "%v", err)
	}
	abstract := strings.TrimSpace(e.Abstract)
	if abstract == "" {
		abstract = strings.TrimSpace(e.Description)
	}
	return conference.Talk{
		GUID:        guid,
		Title:       strings.TrimSpace(e.Title),
		Abstract:    abstract,
		Speakers:    e.Persons,
		Start:       start,
		End:         start.Add(d),
		Kind:        kindOf(e.Type, e.Title),
		Language:    strings.TrimSpace(e.Language),
		DoNotRecord: e.DoNotRecord,
	}, nil
}

// startTime is the event's date when it carries a full date-time (what
// pretalx and frab write), else the day's date at Start in loc. A day
// that runs past midnight lists its late events at times before its own
// start (01:00 on a day from 10:00 to 04:00): those are on the next
// calendar date.
func (e frabEvent) startTime(day frabDay, loc *time.Location) (time.Time, error) {
	date := day.Date
	if d := strings.TrimSpace(e.Date); d != "" {
		if t := parseDateTime(d, loc); !t.IsZero() {
			return t, nil
		}
		if _, err := time.Parse("2006-01-02", d); err != nil {
			return time.Time{}, &time.ParseError{Value: d, Message: ": not an ISO 8601 date-time"}
		}
		date = d
	}
	if date == "" || strings.TrimSpace(e.Start) == "" {
		return time.Time{}, &time.ParseError{Value: e.Date, Message: ": no date-time, and no day date and start time"}
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", date+" "+strings.TrimSpace(e.Start), loc)
	if err != nil {
		return time.Time{}, &time.ParseError{Value: date + " " + e.Start, Message: ": bad day date or start time (want YYYY-MM-DD and HH:MM)"}
	}
	if date == day.Date && !day.Start.IsZero() && t.Before(day.Start) {
		if next := t.AddDate(0, 0, 1); day.End.IsZero() || next.Before(day.End) {
			t = next
		}
	}
	return t, nil
}

// parseDuration reads "H:MM", "HH:MM" or "HH:MM:SS" (frab writes "00:45").
func parseDuration(s string) (time.Duration, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, &time.ParseError{Value: s, Message: ": want HH:MM"}
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || (i > 0 && v > 59) || len(p) > 3 {
			return 0, &time.ParseError{Value: s, Message: ": want HH:MM"}
		}
		n[i] = v
	}
	d := time.Duration(n[0])*time.Hour + time.Duration(n[1])*time.Minute + time.Duration(n[2])*time.Second
	if d <= 0 {
		return 0, &time.ParseError{Value: s, Message: ": a talk lasts more than no time"}
	}
	return d, nil
}

// kindOf maps a frab/pretalx type ("Talk", "Keynote", "Lightning talk",
// "Break") to a talk kind.
func kindOf(typ, title string) conference.TalkKind {
	t := strings.ToLower(typ)
	switch {
	case strings.Contains(t, "keynote"):
		return conference.KindKeynote
	case strings.Contains(t, "break"), strings.Contains(t, "pause"), strings.Contains(t, "lunch"):
		return conference.KindBreak
	case t == "" && strings.EqualFold(strings.TrimSpace(title), "break"):
		return conference.KindBreak
	}
	return conference.KindTalk
}

// frabLocation loads the schedule's time zone (UTC when absent).
func frabLocation(field, name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fieldErr(field, "unknown time zone %q", name)
	}
	return loc, nil
}

// roomList collects rooms: the declared ones in order, then any others in
// the order days mention them (names sorted within a day, as JSON maps
// have no order).
type roomList struct {
	rooms  []conference.Room
	byName map[string]string // name -> key
}

func (l *roomList) declare(name, guid string) {
	name = strings.TrimSpace(name)
	if name == "" {
		return
	}
	if l.byName == nil {
		l.byName = map[string]string{}
	}
	if _, ok := l.byName[name]; ok {
		return
	}
	key := strings.TrimSpace(guid)
	if key == "" {
		key = name
	}
	l.byName[name] = key
	l.rooms = append(l.rooms, conference.Room{Key: key, Name: name})
}

func (l *roomList) key(name string) string {
	l.declare(name, "")
	return l.byName[strings.TrimSpace(name)]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
