package api

import (
	"fmt"
	"net/http"
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
	from, to := ev.Start, ev.End
	for _, t := range talks {
		if from.IsZero() || t.Start.Before(from) {
			from = t.Start
		}
		if to.IsZero() || t.End.After(to) {
			to = t.End
		}
	}
	if from.IsZero() {
		from, to = now, now
	}
	writeVTimezone(&c, tzid, loc, from, to)
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

// writeVTimezone describes loc over [from, to]: the observance in effect
// at from and every offset change up to to, each as its own STANDARD or
// DAYLIGHT sub-component (no recurrence rules needed for a bounded span).
func writeVTimezone(c *calendar, tzid string, loc *time.Location, from, to time.Time) {
	c.line("BEGIN", "VTIMEZONE")
	c.line("TZID", tzid)
	changes := transitions(loc, from.AddDate(-1, 0, 0), to.AddDate(0, 0, 1))
	// Keep the last change before from (the observance in effect then)
	// and those after it.
	first := 0
	for i, t := range changes {
		if !t.After(from) {
			first = i
		}
	}
	if len(changes) == 0 {
		name, off := from.In(loc).Zone()
		observance(c, "STANDARD", "19700101T000000", off, off, name)
	}
	for _, at := range changes[first:] {
		before := at.Add(-time.Second).In(loc)
		_, offFrom := before.Zone()
		after := at.In(loc)
		name, offTo := after.Zone()
		kind := "STANDARD"
		if after.IsDST() {
			kind = "DAYLIGHT"
		}
		// DTSTART is the local time of the change in the offset before it.
		dt := at.In(time.FixedZone("", offFrom)).Format("20060102T150405")
		observance(c, kind, dt, offFrom, offTo, name)
	}
	c.line("END", "VTIMEZONE")
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

// transitions returns the instants in [from, to] where loc's offset
// changes.
func transitions(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	const step = time.Hour
	_, prev := from.In(loc).Zone()
	for t := from.Add(step); !t.After(to.Add(step)); t = t.Add(step) {
		_, off := t.In(loc).Zone()
		if off == prev {
			continue
		}
		lo, hi := t.Add(-step), t // offset changes in (lo, hi]
		for hi.Sub(lo) > time.Nanosecond {
			mid := lo.Add(hi.Sub(lo) / 2)
			if _, o := mid.In(loc).Zone(); o == prev {
				lo = mid
			} else {
				hi = mid
			}
		}
		out = append(out, hi)
		prev = off
	}
	return out
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
