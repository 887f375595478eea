package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kastlive/kast/store/storetest"
)

// TestBadInput: malformed JSON, unknown fields, oversized bodies, wrong
// types and broken times get a clear JSON 4xx naming the field, and
// change nothing.
func TestBadInput(t *testing.T) {
	s := newServer(t, noLimits)
	s.createDemo()
	s.must(201, req{method: "POST", path: "/api/v1/events/democon/tracks", body: map[string]any{"slug": "saal-1", "name": "Saal 1"}, admin: true})
	talk := map[string]any{"track": "saal-1", "title": "T", "start": "2027-03-13T10:00:00+01:00", "end": "2027-03-13T10:30:00+01:00"}
	var created struct{ ID int64 }
	s.must(201, req{method: "POST", path: "/api/v1/events/democon/talks", body: talk, admin: true}).json(t, &created)
	with := func(m map[string]any, k string, v any) map[string]any {
		c := map[string]any{}
		for a, b := range m {
			c[a] = b
		}
		c[k] = v
		return c
	}
	huge := strings.Repeat("x", 70<<10)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"malformed", "POST", "/api/v1/events", `{"slug": "x",`, 400, ""},
		{"not an object", "POST", "/api/v1/events", `[1,2]`, 400, ""},
		{"trailing data", "POST", "/api/v1/events", `{"slug":"x"} {"slug":"y"}`, 400, ""},
		{"empty", "POST", "/api/v1/events", ``, 400, ""},
		{"unknown field", "POST", "/api/v1/events", with(demoEvent, "colour", "red"), 400, "colour"},
		{"wrong type", "POST", "/api/v1/events", with(demoEvent, "offline_capacity", "many"), 400, "offline_capacity"},
		{"oversized", "POST", "/api/v1/events", with(demoEvent, "name", huge), 413, ""},
		{"bad slug", "POST", "/api/v1/events", with(demoEvent, "slug", "Demo Con"), 422, "slug"},
		{"numeric slug", "POST", "/api/v1/events", with(demoEvent, "slug", "2027"), 422, "slug"},
		{"blank name", "POST", "/api/v1/events", with(demoEvent, "name", "   "), 422, "name"},
		{"control char", "POST", "/api/v1/events", with(with(demoEvent, "slug", "x"), "name", "a\x00b"), 422, "name"},
		{"bad zone", "POST", "/api/v1/events", with(with(demoEvent, "slug", "x"), "timezone", "Mars/Olympus"), 422, "timezone"},
		{"bad time", "POST", "/api/v1/events", with(with(demoEvent, "slug", "x"), "start", "13.03.2027"), 422, "start"},
		{"end before start", "POST", "/api/v1/events", with(with(demoEvent, "slug", "x"), "end", "2027-03-12T00:00:00+01:00"), 422, "end"},
		{"bad access", "POST", "/api/v1/events", with(with(demoEvent, "slug", "x"), "access", "secret"), 422, "access"},
		{"negative capacity", "POST", "/api/v1/events", with(with(demoEvent, "slug", "x"), "offline_capacity", -1), 422, "offline_capacity"},
		{"duplicate slug", "POST", "/api/v1/events", demoEvent, 409, ""},
		{"talk end before start", "POST", "/api/v1/events/democon/talks", with(talk, "end", "2027-03-13T09:00:00+01:00"), 422, "end"},
		{"talk outside event", "POST", "/api/v1/events/democon/talks", with(with(talk, "start", "2027-04-01T10:00:00+02:00"), "end", "2027-04-01T11:00:00+02:00"), 422, "start"},
		{"talk unknown track", "POST", "/api/v1/events/democon/talks", with(talk, "track", "nope"), 422, "track"},
		{"talk bad kind", "POST", "/api/v1/events/democon/talks", with(talk, "kind", "party"), 422, "kind"},
		{"talk blank speaker", "POST", "/api/v1/events/democon/talks", with(talk, "speakers", []map[string]string{{"name": ""}}), 422, "speakers[0].name"},
		{"talk patch bad time", "PATCH", fmt.Sprintf("/api/v1/talks/%d", created.ID), map[string]any{"end": "soon"}, 422, "end"},
		{"track bad slug", "POST", "/api/v1/events/democon/tracks", map[string]any{"slug": "-x", "name": "X"}, 422, "slug"},
		{"track slug taken", "POST", "/api/v1/events/democon/tracks", map[string]any{"slug": "main", "name": "X"}, 409, ""},
		{"on-air wrong type", "PUT", "/api/v1/tracks/saal-1/on-air", map[string]any{"talk_id": "one"}, 400, "talk_id"},
		{"registration bad email", "POST", "/api/v1/events/democon/registrations", with(registration("x@example.org", "online"), "email", "not-an-email"), 422, "email"},
		{"registration short password", "POST", "/api/v1/events/democon/registrations", with(registration("y@example.org", "online"), "password", "short"), 422, "password"},
		{"registration bad participation", "POST", "/api/v1/events/democon/registrations", registration("z@example.org", "hybrid"), 422, "participation"},
		{"registration unknown field", "POST", "/api/v1/events/democon/registrations", with(registration("w@example.org", "online"), "admin", true), 400, "admin"},
		{"login not json", "POST", "/api/v1/session", "email=a&password=b", 400, ""},
		{"timetable garbage", "PUT", "/api/v1/events/democon/timetable", `{"schedule": {"conference": {"days": "monday"}}}`, 422, "schedule.conference.days"},
		{"unknown event", "GET", "/api/v1/events/nope", nil, 404, "event"},
		{"unknown talk", "GET", "/api/v1/talks/999999", nil, 404, "id"},
		{"bad day", "GET", "/api/v1/events/democon/talks?day=tomorrow", nil, 400, "day"},
		{"unknown endpoint", "GET", "/api/v1/nothing", nil, 404, ""},
		{"wrong method", "POST", "/api/v1/talks/1", "{}", 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(req{method: c.method, path: c.path, body: c.body, admin: true, contentType: "application/json"})
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			msg, field := r.apiErr(t)
			if field != c.field {
				t.Fatalf("field %q, want %q (%s)", field, c.field, msg)
			}
		})
	}
	// Nothing was stored by the refused requests.
	var evs []struct{ Slug string }
	s.must(200, req{method: "GET", path: "/api/v1/events"}).json(t, &evs)
	if len(evs) != 2 {
		t.Fatalf("events = %+v", evs)
	}
}

// TestVerbatimStrings: SQL metacharacters and HTML in every string field
// are stored and returned as sent (JSON escapes them on the way out; the
// iCalendar and the CSV escape them their own way).
func TestVerbatimStrings(t *testing.T) {
	s := newServer(t, noLimits)
	v := storetest.Verbatim
	ev := map[string]any{"slug": "democon", "name": v, "timezone": "Europe/Berlin",
		"start": "2027-03-13T00:00:00+01:00", "end": "2027-03-15T00:00:00+01:00", "offline_capacity": 10}
	var gotEv struct{ Name string }
	s.must(201, req{method: "POST", path: "/api/v1/events", body: ev, admin: true}).json(t, &gotEv)
	var gotTr struct{ Name string }
	s.must(201, req{method: "POST", path: "/api/v1/events/democon/tracks", body: map[string]any{"slug": "saal-1", "name": v}, admin: true}).json(t, &gotTr)
	talk := map[string]any{"track": "saal-1", "guid": v, "title": v, "abstract": v + "\n" + v, "language": "de-x-';--",
		"speakers": []map[string]string{{"name": v, "bio": v}},
		"start":    "2027-03-13T10:00:00+01:00", "end": "2027-03-13T10:30:00+01:00"}
	var gotTalk talkJSON
	s.must(201, req{method: "POST", path: "/api/v1/events/democon/talks", body: talk, admin: true}).json(t, &gotTalk)
	var reg struct {
		Account      struct{ Name string }
		Registration struct{ Affiliation string }
	}
	s.must(201, req{method: "POST", path: "/api/v1/events/democon/registrations", body: map[string]any{
		"name": v, "email": "v@example.org", "password": v, "affiliation": "=HYPERLINK(\"x\") " + v, "participation": "offline"}}).json(t, &reg)

	// Read back from the database through the public API.
	s.must(200, req{method: "GET", path: "/api/v1/events/democon"}).json(t, &gotEv)
	var talks []talkJSON
	s.must(200, req{method: "GET", path: "/api/v1/events/democon/talks"}).json(t, &talks)
	if gotEv.Name != v || gotTr.Name != v || len(talks) != 1 || talks[0].Title != v || talks[0].GUID != v ||
		talks[0].Abstract != v+"\n"+v || talks[0].Speakers[0].Name != v || talks[0].Speakers[0].Bio != v ||
		reg.Account.Name != v || !strings.HasSuffix(reg.Registration.Affiliation, v) {
		t.Fatalf("not verbatim: event %q track %q talk %+v reg %+v", gotEv.Name, gotTr.Name, talks, reg)
	}
	// JSON answers escape HTML, so a page that drops them in unescaped
	// still gets no markup.
	res := s.must(200, req{method: "GET", path: "/api/v1/events/democon/talks"})
	if strings.Contains(string(res.body), "<script>") {
		t.Fatalf("raw HTML in a JSON answer: %s", res.body)
	}
	// The CSV defuses the formula and keeps the text.
	csvBody := string(s.must(200, req{method: "GET", path: "/api/v1/events/democon/registrations.csv", admin: true}).body)
	if !strings.Contains(csvBody, `'=HYPERLINK(""x"") Robert'); DROP TABLE events;--`) {
		t.Fatalf("CSV:\n%s", csvBody)
	}
	// The iCalendar escapes TEXT and still parses.
	checkVerbatimICS(t, s.must(200, req{method: "GET", path: "/api/v1/events/democon/timetable.ics"}).body, v)
}
