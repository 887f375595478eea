package api

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kastlive/kast/conference"
)

// Timetable answers GET /events/{event}/timetable.ics: the timetable as
// an RFC 5545 iCalendar in the event's time zone (a VTIMEZONE built from
// Go's zone data for the event's dates), one VEVENT per talk, breaks
// included.
func (h *Handler) Timetable(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	tracks, err := h.Store.EventTracks(r.Context(), ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	talks, err := h.Store.Talks(r.Context(), conference.TalkFilter{EventID: ev.ID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := map[int64]string{}
	for _, t := range tracks {
		names[t.ID] = t.Title
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+ev.Slug+`.ics"`)
	publicCache(w)
	w.Write(ICalendar(ev, talks, names, h.now()))
}

// ICalendar renders the talks of ev (on tracks named by trackNames) as an
// iCalendar stream stamped at now.
func ICalendar(ev conference.Event, talks []conference.Talk, trackNames map[int64]string, now time.Time) []byte {
	loc := ev.Location()
	tzid := ev.TimeZone
	if tzid == "" {
		tzid = "UTC"
	}
	var c calendar
	c.line("BEGIN", "VCALENDAR")
	c.line("VERSION", "2.0")
	c.line("PRODID", "-//kast//timetable//EN")
	c.line("CALSCALE", "GREGORIAN")
	c.line("METHOD", "PUBLISH")
	c.line("X-WR-CALNAME", escapeText(ev.Title))
	c.line("X-WR-TIMEZONE", tzid)
	writeVTimezone(&c, tzid, loc, ev, talks, now)
	stamp := now.UTC().Format("20060102T150405Z")
	local := func(t time.Time) string { return t.In(loc).Format("20060102T150405") }
	for _, t := range talks {
		c.line("BEGIN", "VEVENT")
		uid := t.GUID
		if uid == "" {
			uid = "kast-talk-" + strconv.FormatInt(t.ID, 10) + "@" + ev.Slug
		}
		c.line("UID", escapeText(uid))
		c.line("DTSTAMP", stamp)
		c.line("DTSTART;TZID="+tzid, local(t.Start))
		c.line("DTEND;TZID="+tzid, local(t.End))
		c.line("SUMMARY", escapeText(t.Title))
		desc := t.Abstract
		if len(t.Speakers) > 0 {
			var names []string
			for _, s := range t.Speakers {
				names = append(names, s.Name)
			}
			if desc != "" {
				desc += "\n\n"
			}
			desc += "Speakers: " + strings.Join(names, ", ")
		}
		if desc != "" {
			c.line("DESCRIPTION", escapeText(desc))
		}
		if n := trackNames[t.TrackID]; n != "" {
			c.line("LOCATION", escapeText(n))
		}
		c.line("CATEGORIES", strings.ToUpper(string(t.Kind)))
		if t.Kind == conference.KindBreak {
			c.line("TRANSP", "TRANSPARENT")
		}
		c.line("END", "VEVENT")
	}
	c.line("END", "VCALENDAR")
	return []byte(c.b.String())
}

// calendar accumulates content lines, folded at 75 octets (RFC 5545
// 3.1) without splitting a UTF-8 sequence, ended by CRLF.
type calendar struct{ b strings.Builder }

func (c *calendar) line(name, value string) {
	s := name + ":" + value
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		c.b.WriteString(s[:cut])
		c.b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	c.b.WriteString(s)
	c.b.WriteString("\r\n")
}

// escapeText escapes an iCalendar TEXT value (RFC 5545 3.3.11).
func escapeText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case ';':
			b.WriteString(`\;`)
		case ',':
			b.WriteString(`\,`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			if r < 0x20 && r != '\t' {
				continue // control characters are not allowed in TEXT
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeVTimezone describes loc where the calendar needs it: every
// observance (zone period) in effect during the event's dates, from the
// one at its start, or for an event without dates the ones in effect at
// its talks' starts and ends. Each is its own STANDARD or DAYLIGHT
// sub-component with its onset (RFC 5545 3.6.5; no recurrence rules for
// a bounded set). The periods come from Go's zone data (ZoneBounds), so
// the cost is the number of periods, not the span: talks years apart
// cost nothing more than talks a day apart.
func writeVTimezone(c *calendar, tzid string, loc *time.Location, ev conference.Event, talks []conference.Talk, now time.Time) {
	c.line("BEGIN", "VTIMEZONE")
	c.line("TZID", tzid)
	for _, p := range zonePeriods(loc, ev, talks, now) {
		writePeriod(c, loc, p)
	}
	c.line("END", "VTIMEZONE")
}

// zonePeriod is one stretch of a zone with one offset and name: from
// start (zero: the zone's first) to the next change. first is the
// earliest instant the calendar uses it for.
type zonePeriod struct {
	start time.Time
	first time.Time
}

// zonePeriods returns the periods the calendar needs, by start.
func zonePeriods(loc *time.Location, ev conference.Event, talks []conference.Talk, now time.Time) []zonePeriod {
	byStart := map[int64]*zonePeriod{}
	add := func(at time.Time) time.Time {
		start, end := at.In(loc).ZoneBounds()
		k := int64(-1 << 63)
		if !start.IsZero() {
			k = start.Unix()
		}
		if p := byStart[k]; p == nil {
			byStart[k] = &zonePeriod{start: start, first: at}
		} else if at.Before(p.first) {
			p.first = at
		}
		return end
	}
	if ev.HasDates() {
		// The event's span: at most a year, so a handful of periods.
		for at := ev.Start; ; {
			end := add(at)
			if end.IsZero() || !end.Before(ev.End) {
				break
			}
			at = end
		}
	}
	for _, t := range talks {
		add(t.Start)
		add(t.End)
	}
	if len(byStart) == 0 {
		add(now)
	}
	out := make([]zonePeriod, 0, len(byStart))
	for _, p := range byStart {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// epoch is where an observance that began long before the calendar's
// times is said to begin (the usual 19700101T000000).
var epoch = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// writePeriod writes one observance: its onset is the local time of the
// change in the offset before it. A period that began before 1970 (or
// never: a zone's first) is written as beginning at 1970-01-01, or at the
// first instant it is used for when that is earlier, from and to its own
// offset.
func writePeriod(c *calendar, loc *time.Location, p zonePeriod) {
	in := p.first.In(loc)
	name, off := in.Zone()
	kind := "STANDARD"
	if in.IsDST() {
		kind = "DAYLIGHT"
	}
	if p.start.IsZero() || p.start.Before(epoch) {
		onset := "19700101T000000"
		if p.first.Before(epoch.Add(-time.Duration(off) * time.Second)) { // 1970-01-01 00:00 local
			onset = p.first.In(time.FixedZone("", off)).Format("20060102T150405")
		}
		observance(c, kind, onset, off, off, name)
		return
	}
	_, offFrom := p.start.Add(-time.Second).In(loc).Zone()
	// DTSTART is the local time of the change in the offset before it.
	dt := p.start.In(time.FixedZone("", offFrom)).Format("20060102T150405")
	observance(c, kind, dt, offFrom, off, name)
}

func observance(c *calendar, kind, dtstart string, from, to int, name string) {
	c.line("BEGIN", kind)
	c.line("DTSTART", dtstart)
	c.line("TZOFFSETFROM", utcOffset(from))
	c.line("TZOFFSETTO", utcOffset(to))
	if name != "" {
		c.line("TZNAME", escapeText(name))
	}
	c.line("END", kind)
}

// utcOffset formats seconds east of UTC as +HHMM (or +HHMMSS).
func utcOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	s := fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf("%02d", sec%60)
	}
	return s
}
