package api

import (
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

// observances reads a VTIMEZONE's observances back: each onset as an
// instant (its local DTSTART in its TZOFFSETFROM) and its TZOFFSETTO.
func observances(t *testing.T, cal string) (onsets []time.Time, offsets []int) {
	t.Helper()
	vtz := cal[strings.Index(cal, "BEGIN:VTIMEZONE"):strings.Index(cal, "END:VTIMEZONE")]
	re := regexp.MustCompile(`DTSTART:(\d{8}T\d{6})\r\nTZOFFSETFROM:([+-]\d{4,6})\r\nTZOFFSETTO:([+-]\d{4,6})`)
	for _, m := range re.FindAllStringSubmatch(vtz, -1) {
		from, to := parseOffset(t, m[2]), parseOffset(t, m[3])
		at, err := time.ParseInLocation("20060102T150405", m[1], time.FixedZone("", from))
		if err != nil {
			t.Fatal(err)
		}
		onsets, offsets = append(onsets, at), append(offsets, to)
	}
	return onsets, offsets
}

func parseOffset(t *testing.T, s string) int {
	t.Helper()
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[3:5])
	sec := 0
	if len(s) == 7 {
		sec, _ = strconv.Atoi(s[5:7])
	}
	v := h*3600 + m*60 + sec
	if s[0] == '-' {
		v = -v
	}
	return v
}

// offsetAt is what a calendar client computes for a local DTSTART: the
// offset of the latest observance whose onset is not after it.
func offsetAt(onsets []time.Time, offsets []int, at time.Time) (int, bool) {
	best := -1
	for i, o := range onsets {
		if !o.After(at) && (best < 0 || o.After(onsets[best])) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	return offsets[best], true
}

// TestVTimezoneCoversEveryTalk: for events with and without dates, in
// zones with DST, half-hour DST, odd offsets, a one-off change during the
// event (Europe/Volgograd went from +04 to +03 on 2020-12-27) and none,
// every talk's start and end resolve through the VTIMEZONE to Go's offset
// for them: the observance in effect at the window's start is always
// there.
func TestVTimezoneCoversEveryTalk(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, zone := range []string{"Europe/Volgograd", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Asia/Tokyo", "UTC"} {
		loc, _ := time.LoadLocation(zone)
		for _, dated := range []bool{true, false} {
			ev := conference.Event{Slug: "x", Title: "X", TimeZone: zone}
			start := time.Date(2020, 12, 20, 0, 0, 0, 0, loc)
			if dated {
				ev.Start, ev.End = start, start.Add(300*24*time.Hour)
			}
			var talks []conference.Talk
			for i := range 40 {
				at := start.Add(time.Duration(rng.Int64N(int64(299 * 24 * time.Hour))))
				if !dated && i%4 == 0 {
					at = at.AddDate(-rng.IntN(60), 0, 0) // years apart
				}
				talks = append(talks, conference.Talk{ID: int64(i + 1), Title: "t", Start: at, End: at.Add(45 * time.Minute), Kind: "talk"})
			}
			talks = append(talks, conference.Talk{ID: 99, Title: "Before the change", Kind: "talk",
				Start: time.Date(2020, 12, 21, 10, 0, 0, 0, loc), End: time.Date(2020, 12, 21, 11, 0, 0, 0, loc)})
			out := string(ICalendar(ev, talks, nil, time.Now()))
			onsets, offsets := observances(t, out)
			for _, k := range talks {
				for _, at := range []time.Time{k.Start, k.End} {
					_, want := at.In(loc).Zone()
					if got, ok := offsetAt(onsets, offsets, at); !ok || got != want {
						t.Fatalf("%s (dates %v): %v resolves to %d (found %v), Go says %d\n%s", zone, dated, at, got, ok, want,
							out[strings.Index(out, "BEGIN:VTIMEZONE"):strings.Index(out, "END:VTIMEZONE")])
					}
				}
			}
		}
	}
	// The reviewer's case: the observance giving +04:00 for 2020-12-21.
	loc, _ := time.LoadLocation("Europe/Volgograd")
	ev := conference.Event{Slug: "x", Title: "X", TimeZone: "Europe/Volgograd",
		Start: time.Date(2020, 12, 20, 0, 0, 0, 0, loc), End: time.Date(2021, 1, 5, 0, 0, 0, 0, loc)}
	out := string(ICalendar(ev, nil, nil, time.Now()))
	if !strings.Contains(out, "TZOFFSETTO:+0400") || !strings.Contains(out, "TZOFFSETTO:+0300") {
		t.Fatalf("Volgograd:\n%s", out)
	}
}

// TestVTimezoneOfTalksYearsApart: an event without dates (the bootstrap
// default) with talks 1,000 years apart needs the observances of its
// talks, not of the millennium between them (the hour-by-hour scan wrote
// 2,000 and took seconds; BenchmarkICalendarTalksYearsApart times it).
func TestVTimezoneOfTalksYearsApart(t *testing.T) {
	ev := conference.Event{Slug: "meetup", Title: "Meetup", TimeZone: "Europe/Berlin"}
	talks := yearsApart()
	out := string(ICalendar(ev, talks, nil, time.Now()))
	if n := strings.Count(out, "TZOFFSETTO"); n < 1 || n > 2*len(talks) {
		t.Fatalf("%d observances for %d talks:\n%s", n, len(talks), out)
	}
}

func yearsApart() []conference.Talk {
	return []conference.Talk{
		{ID: 1, Title: "a", Start: time.Date(1000, 1, 1, 10, 0, 0, 0, time.UTC), End: time.Date(1000, 1, 1, 11, 0, 0, 0, time.UTC), Kind: "talk"},
		{ID: 2, Title: "b", Start: time.Date(2000, 7, 1, 10, 0, 0, 0, time.UTC), End: time.Date(2000, 7, 1, 11, 0, 0, 0, time.UTC), Kind: "talk"},
		{ID: 3, Title: "c", Start: time.Date(2900, 1, 1, 10, 0, 0, 0, time.UTC), End: time.Date(2900, 1, 1, 11, 0, 0, 0, time.UTC), Kind: "talk"},
	}
}

// BenchmarkICalendarTalksYearsApart: timetable.ics of a dateless event
// whose talks lie centuries apart.
func BenchmarkICalendarTalksYearsApart(b *testing.B) {
	ev := conference.Event{Slug: "meetup", Title: "Meetup", TimeZone: "Europe/Berlin"}
	talks := yearsApart()
	for b.Loop() {
		ICalendar(ev, talks, nil, time.Now())
	}
}
