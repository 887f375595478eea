package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web/api"
)

type report struct {
	DryRun  bool `json:"dry_run"`
	Changed bool
	Format  string
	Tracks  struct{ Added, Updated, Removed []string }
	Talks   struct {
		Added, Updated, Removed []struct {
			ID          int64
			GUID, Title string
		}
	}
	Unchanged int
}

func guidsOf(refs []struct {
	ID          int64
	GUID, Title string
}) string {
	var g []string
	for _, r := range refs {
		g = append(g, strings.TrimPrefix(r.GUID, "5b8d1f3c-0000-4000-8000-0000000000"))
	}
	sort.Strings(g)
	return strings.Join(g, ",")
}

type trackJSON struct {
	ID      int64
	Event   string
	Slug    string
	Name    string
	Live    bool
	OnAir   *talkJSON `json:"on_air"`
	HLSURL  string    `json:"hls_url"`
	WHEPURL string    `json:"whep_url"`
	Viewers int
}

type talkJSON struct {
	ID       int64
	Track    string
	GUID     string
	Title    string
	Abstract string
	Speakers []struct{ Name, Bio string }
	Start    string
	End      string
	Kind     string
	OnAir    bool `json:"on_air"`
}

// TestOrganizerFlow is the organizer's day, with the requests docs/api.md
// shows as curl commands: create an event, import pretalx's
// schedule.json (two rooms), import it again (nothing changes), import a
// changed one (the diff), put a talk on air, read it back publicly,
// export the iCalendar and parse it.
func TestOrganizerFlow(t *testing.T) {
	s := newServer(t)
	changes, stop := s.feed.Subscribe(64)
	defer stop()

	// curl -X POST -H "Authorization: Bearer $TOKEN" -d @event.json /api/v1/events
	var ev struct {
		ID               int64
		Slug, Name       string
		Start, TimeZone  string
		OfflineSeatsLeft int `json:"offline_seats_left"`
	}
	s.must(201, req{method: "POST", path: "/api/v1/events", body: demoEvent, admin: true}).json(t, &ev)
	if ev.Slug != "democon" || ev.Start != "2027-03-13T00:00:00+01:00" || ev.OfflineSeatsLeft != 100 {
		t.Fatalf("event = %+v", ev)
	}
	// Without the token: refused.
	if r := s.do(req{method: "POST", path: "/api/v1/events", body: demoEvent}); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
	if r := s.do(req{method: "POST", path: "/api/v1/events", body: demoEvent, header: http.Header{"Authorization": {"Bearer wrong-token-xxxxxxxx"}}}); r.status != 401 {
		t.Fatalf("wrong token: %d", r.status)
	}

	// curl -X PUT -H "Content-Type: application/json" --data-binary @schedule.json .../timetable?dry_run=true
	var rep report
	s.must(200, req{method: "PUT", path: "/api/v1/events/democon/timetable?dry_run=true", body: sample(t, "pretalx-schedule.json"),
		contentType: "application/json", admin: true}).json(t, &rep)
	if !rep.DryRun || !rep.Changed || len(rep.Tracks.Added) != 2 || len(rep.Talks.Added) != 7 || rep.Format != "frab-json" {
		t.Fatalf("dry run = %+v", rep)
	}
	var tracks []trackJSON
	s.must(200, req{method: "GET", path: "/api/v1/events/democon/tracks"}).json(t, &tracks)
	if len(tracks) != 0 {
		t.Fatalf("dry run created tracks: %+v", tracks)
	}
	s.must(200, req{method: "PUT", path: "/api/v1/events/democon/timetable", body: sample(t, "pretalx-schedule.json"),
		contentType: "application/json", admin: true}).json(t, &rep)
	if rep.DryRun || fmt.Sprint(rep.Tracks.Added) != "[saal-1 saal-2]" || len(rep.Talks.Added) != 7 {
		t.Fatalf("import = %+v", rep)
	}
	// Re-import: nothing changes.
	s.must(200, req{method: "PUT", path: "/api/v1/events/democon/timetable", body: sample(t, "pretalx-schedule.json"),
		contentType: "application/json", admin: true}).json(t, &rep)
	if rep.Changed || rep.Unchanged != 7 || len(rep.Talks.Updated)+len(rep.Talks.Added)+len(rep.Talks.Removed) != 0 {
		t.Fatalf("re-import = %+v", rep)
	}
	// The changed version: the diff is reported.
	s.must(200, req{method: "PUT", path: "/api/v1/events/democon/timetable", body: sample(t, "pretalx-schedule-changed.json"),
		contentType: "application/json", admin: true}).json(t, &rep)
	if guidsOf(rep.Talks.Added) != "14" || guidsOf(rep.Talks.Updated) != "02,04" || guidsOf(rep.Talks.Removed) != "12" || rep.Unchanged != 4 {
		t.Fatalf("changed import = %+v", rep)
	}

	// Public reads: tracks with their URLs, talks by track and day.
	s.must(200, req{method: "GET", path: "/api/v1/events/democon/tracks"}).json(t, &tracks)
	if len(tracks) != 2 || tracks[0].Slug != "saal-1" || tracks[0].Name != "Saal 1" || tracks[0].HLSURL != "/hls/saal-1/index.m3u8" ||
		tracks[0].WHEPURL != "/whep/saal-1" || tracks[0].Live || tracks[0].OnAir != nil || tracks[0].Viewers != 0 {
		t.Fatalf("tracks = %+v", tracks)
	}
	var talks []talkJSON
	s.must(200, req{method: "GET", path: "/api/v1/events/democon/talks?track=saal-1&day=2027-03-13"}).json(t, &talks)
	if len(talks) != 3 || talks[1].Title != "Streaming <video> & 'SQL' (updated)" || talks[1].Start != "2027-03-13T11:15:00+01:00" {
		t.Fatalf("talks of saal-1 on day 1 = %+v", talks)
	}
	onAir := talks[1]

	// curl -X PUT -H "Authorization: Bearer $TOKEN" -d '{"talk_id": N}' /api/v1/tracks/saal-1/on-air
	s.must(200, req{method: "PUT", path: "/api/v1/tracks/saal-1/on-air", body: map[string]any{"talk_id": onAir.ID}, admin: true})
	select {
	case c := <-drainUntil(changes, conference.ChangeOnAir):
		if c.Track != "saal-1" || c.Talk == nil || c.Talk.ID != onAir.ID {
			t.Fatalf("on-air change = %+v", c)
		}
	case <-time.After(time.Second):
		t.Fatal("no on-air change on the feed")
	}
	var tr trackJSON
	s.must(200, req{method: "GET", path: "/api/v1/tracks/saal-1"}).json(t, &tr)
	if tr.OnAir == nil || tr.OnAir.ID != onAir.ID || !tr.OnAir.OnAir {
		t.Fatalf("track after on-air = %+v", tr)
	}
	var k talkJSON
	s.must(200, req{method: "GET", path: fmt.Sprintf("/api/v1/talks/%d", onAir.ID)}).json(t, &k)
	if !k.OnAir || k.Track != "saal-1" || k.Speakers[0].Bio != `<b>bold</b> bio & "quotes"` {
		t.Fatalf("talk = %+v", k)
	}
	// A talk of the other track cannot go on air here.
	var other []talkJSON
	s.must(200, req{method: "GET", path: "/api/v1/events/democon/talks?track=saal-2"}).json(t, &other)
	r := s.must(422, req{method: "PUT", path: "/api/v1/tracks/saal-1/on-air", body: map[string]any{"talk_id": other[0].ID}, admin: true})
	if _, f := r.apiErr(t); f != "talk_id" {
		t.Fatalf("field %q", f)
	}
	// Re-importing keeps the talk on air (same id).
	s.must(200, req{method: "PUT", path: "/api/v1/events/democon/timetable", body: sample(t, "pretalx-schedule-changed.json"),
		contentType: "application/json", admin: true})
	s.must(200, req{method: "GET", path: "/api/v1/tracks/saal-1"}).json(t, &tr)
	if tr.OnAir == nil || tr.OnAir.ID != onAir.ID {
		t.Fatalf("on air after re-import = %+v", tr)
	}

	// curl /api/v1/events/democon/timetable.ics
	res := s.must(200, req{method: "GET", path: "/api/v1/events/democon/timetable.ics"})
	if ct := res.header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	checkICalendar(t, res.body, 7)
}

// drainUntil returns a channel with the first change of kind.
func drainUntil(ch <-chan conference.Change, kind conference.ChangeKind) <-chan conference.Change {
	out := make(chan conference.Change, 1)
	go func() {
		for c := range ch {
			if c.Kind == kind {
				out <- c
				return
			}
		}
	}()
	return out
}

// checkICalendar parses body with golang-ical and checks what RFC 5545
// asks of it.
func checkICalendar(t *testing.T, body []byte, talks int) {
	t.Helper()
	for i, line := range strings.Split(string(body), "\r\n") {
		if len(line) > 75 {
			t.Fatalf("line %d is %d octets (> 75): %q", i, len(line), line)
		}
	}
	if !bytes.HasSuffix(body, []byte("END:VCALENDAR\r\n")) || bytes.Contains(bytes.ReplaceAll(body, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatal("lines are not CRLF-terminated")
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("golang-ical: %v\n%s", err, body)
	}
	var tz *ics.VTimezone
	for _, c := range cal.Components {
		if v, ok := c.(*ics.VTimezone); ok {
			tz = v
		}
	}
	if tz == nil || tz.GetProperty(ics.ComponentPropertyTzid).Value != "Europe/Berlin" {
		t.Fatalf("no VTIMEZONE for Europe/Berlin:\n%s", body)
	}
	events := cal.Events()
	if len(events) != talks {
		t.Fatalf("%d VEVENTs, want %d", len(events), talks)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	found := false
	for _, e := range events {
		if e.GetProperty(ics.ComponentPropertyDtstamp) == nil {
			t.Fatalf("VEVENT %s without DTSTAMP", e.Id())
		}
		if e.GetProperty(ics.ComponentPropertyDtStart).ICalParameters["TZID"][0] != "Europe/Berlin" {
			t.Fatalf("DTSTART without TZID")
		}
		if e.Id() != "5b8d1f3c-0000-4000-8000-000000000002" {
			continue
		}
		found = true
		start, err := e.GetStartAt()
		if err != nil || !start.Equal(time.Date(2027, 3, 13, 11, 15, 0, 0, berlin)) {
			t.Fatalf("DTSTART = %v, %v", start, err)
		}
		end, _ := e.GetEndAt()
		if end.Sub(start) != 30*time.Minute {
			t.Fatalf("DTEND - DTSTART = %v", end.Sub(start))
		}
		if got := unescape(e.GetProperty(ics.ComponentPropertySummary).Value); got != "Streaming <video> & 'SQL' (updated)" {
			t.Fatalf("SUMMARY = %q", got)
		}
		desc := unescape(e.GetProperty(ics.ComponentPropertyDescription).Value)
		if desc != "Line one\nLine two, with; punctuation\\ and a backslash.\n\nSpeakers: Bobby Tables" {
			t.Fatalf("DESCRIPTION = %q", desc)
		}
		if loc := unescape(e.GetProperty(ics.ComponentPropertyLocation).Value); loc != "Saal 1" {
			t.Fatalf("LOCATION = %q", loc)
		}
	}
	if !found {
		t.Fatal("talk 02 missing from the calendar")
	}
}

// unescape undoes RFC 5545 TEXT escaping (golang-ical leaves values as
// written).
func unescape(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\;`, `;`, `\,`, `,`, `\n`, "\n", `\N`, "\n").Replace(s)
}

// TestTimetableSync fetches the timetable from a local HTTP server (as
// from pretalx), within the size limit and the timeout, and imports frab
// XML by Content-Type.
func TestTimetableSync(t *testing.T) {
	s := newServer(t, func(h *api.Handler) {
		h.MaxTimetableBytes, h.SyncTimeout = 64<<10, time.Second
		h.SyncAllowLoopback = true // the test's pretalx is on 127.0.0.1
	})
	s.createDemo()
	mux := http.NewServeMux()
	mux.HandleFunc("/schedule.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(sample(t, "pretalx-schedule.json"))
	})
	mux.HandleFunc("/schedule.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain") // loosely labelled: sniffed
		w.Write(sample(t, "frab-schedule.xml"))
	})
	mux.HandleFunc("/huge.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte(" "), 1<<20))
	})
	mux.HandleFunc("/slow.json", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/missing.json", http.NotFound)
	pretalx := httptest.NewServer(mux)
	defer pretalx.Close()

	var rep report
	s.must(200, req{method: "POST", path: "/api/v1/events/democon/timetable/sync", admin: true,
		body: map[string]any{"url": pretalx.URL + "/schedule.json", "dry_run": true}}).json(t, &rep)
	if !rep.DryRun || len(rep.Talks.Added) != 7 {
		t.Fatalf("sync dry run = %+v", rep)
	}
	s.must(200, req{method: "POST", path: "/api/v1/events/democon/timetable/sync", admin: true,
		body: map[string]any{"url": pretalx.URL + "/schedule.json"}}).json(t, &rep)
	if rep.DryRun || len(rep.Talks.Added) != 7 {
		t.Fatalf("sync = %+v", rep)
	}
	// The XML holds a subset: the rest is withdrawn.
	s.must(200, req{method: "POST", path: "/api/v1/events/democon/timetable/sync", admin: true,
		body: map[string]any{"url": pretalx.URL + "/schedule.xml"}}).json(t, &rep)
	if rep.Format != "frab-xml" || len(rep.Talks.Removed) != 3 || rep.Unchanged != 1 || len(rep.Talks.Updated) != 3 {
		// 01, 02 and 04 differ: frab XML has no speaker bios
		t.Fatalf("xml sync = %+v", rep)
	}
	start := time.Now()
	for path, want := range map[string]int{"/huge.json": 422, "/slow.json": 502, "/missing.json": 502} {
		r := s.do(req{method: "POST", path: "/api/v1/events/democon/timetable/sync", admin: true, body: map[string]any{"url": pretalx.URL + path}})
		if _, f := r.apiErr(t); r.status != want || f != "url" {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the timeout did not hold: %v", d)
	}
	for _, u := range []string{"file:///etc/passwd", "gopher://x", "not a url", ""} {
		if r := s.do(req{method: "POST", path: "/api/v1/events/democon/timetable/sync", admin: true, body: map[string]any{"url": u}}); r.status != 422 {
			t.Errorf("url %q: %d", u, r.status)
		}
	}
	// An upload over the limit: 413.
	if r := s.do(req{method: "PUT", path: "/api/v1/events/democon/timetable", admin: true, contentType: "application/json",
		body: bytes.Repeat([]byte(" "), 65<<10)}); r.status != 413 {
		t.Fatalf("oversized upload: %d %s", r.status, r.body)
	}
}

func checkVerbatimICS(t *testing.T, body []byte, v string) {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("golang-ical: %v\n%s", err, body)
	}
	e := cal.Events()[0]
	if got := unescape(e.GetProperty(ics.ComponentPropertySummary).Value); got != v {
		t.Fatalf("SUMMARY %q, want %q", got, v)
	}
	if e.Id() != v { // golang-ical unescapes the UID
		t.Fatalf("UID %q", e.Id())
	}
}
