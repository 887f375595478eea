package api_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

// talkChanges drains the ChangeTalk changes published so far: "+id" for
// a created or updated talk ("+id!" with do_not_record), "-id" deleted.
func talkChanges(ch <-chan conference.Change) string {
	var out []string
	for {
		select {
		case c := <-ch:
			if c.Kind != conference.ChangeTalk || c.Talk == nil {
				continue
			}
			s := fmt.Sprintf("+%d", c.Talk.ID)
			if c.Deleted {
				s = fmt.Sprintf("-%d", c.Talk.ID)
			} else if c.Talk.DoNotRecord {
				s += "!"
			}
			out = append(out, s)
		case <-time.After(50 * time.Millisecond):
			sort.Strings(out)
			return strings.Join(out, " ")
		}
	}
}

// TestTalkChangesReachTheRecorder: every way a talk is created, changed,
// withdrawn by an import or deleted (alone, with its track, with its
// event) publishes a ChangeTalk, which the recorder acts on; do_not_record
// goes in and out of the API and kast's JSON.
func TestTalkChangesReachTheRecorder(t *testing.T) {
	s := newServer(t)
	ch, stop := s.feed.Subscribe(1024)
	defer stop()
	s.createDemo()
	s.must(200, req{method: "PUT", path: "/api/v1/events/democon/timetable", body: sample(t, "pretalx-schedule.json"),
		contentType: "application/json", admin: true})
	var talks []struct {
		ID          int64
		GUID        string
		DoNotRecord bool `json:"do_not_record"`
	}
	s.must(200, req{method: "GET", path: "/api/v1/events/democon/talks"}).json(t, &talks)
	byGUID := map[string]int64{}
	var want []string
	for _, k := range talks {
		byGUID[k.GUID[len(k.GUID)-2:]] = k.ID
		w := fmt.Sprintf("+%d", k.ID)
		if k.DoNotRecord {
			w += "!"
		}
		want = append(want, w)
		if (k.GUID[len(k.GUID)-2:] == "02") != k.DoNotRecord {
			t.Errorf("talk %s: do_not_record %v", k.GUID, k.DoNotRecord)
		}
	}
	sort.Strings(want)
	if got := talkChanges(ch); got != strings.Join(want, " ") {
		t.Fatalf("import: changes %q, want %q", got, strings.Join(want, " "))
	}
	// The changed schedule withdraws talk 12, updates 02 and 04, adds 14.
	s.must(200, req{method: "PUT", path: "/api/v1/events/democon/timetable", body: sample(t, "pretalx-schedule-changed.json"),
		contentType: "application/json", admin: true})
	got := talkChanges(ch)
	for _, w := range []string{fmt.Sprintf("-%d", byGUID["12"]), fmt.Sprintf("+%d!", byGUID["02"]), fmt.Sprintf("+%d", byGUID["04"])} {
		if !strings.Contains(" "+got+" ", " "+w+" ") {
			t.Errorf("changed import: changes %q lack %q", got, w)
		}
	}
	// By hand: opt a talk out, then delete it.
	id := byGUID["04"]
	s.must(200, req{method: "PATCH", path: fmt.Sprintf("/api/v1/talks/%d", id), body: map[string]any{"do_not_record": true}, admin: true})
	if got := talkChanges(ch); got != fmt.Sprintf("+%d!", id) {
		t.Errorf("PATCH do_not_record: %q", got)
	}
	exp := string(s.must(200, req{method: "GET", path: "/api/v1/events/democon/timetable"}).body)
	if strings.Count(exp, `"do_not_record": true`) != 2 {
		t.Errorf("kast JSON export does not carry do_not_record:\n%s", exp)
	}
	s.must(204, req{method: "DELETE", path: fmt.Sprintf("/api/v1/talks/%d", id), admin: true})
	if got := talkChanges(ch); got != fmt.Sprintf("-%d", id) {
		t.Errorf("DELETE talk: %q", got)
	}
	// A track's talks go with it, and the rest with the event.
	s.must(200, req{method: "GET", path: "/api/v1/events/democon/talks?track=saal-2"}).json(t, &talks)
	s.must(204, req{method: "DELETE", path: "/api/v1/tracks/saal-2", admin: true})
	if got := talkChanges(ch); strings.Count(got, "-") != len(talks) || strings.Contains(got, "+") {
		t.Errorf("DELETE track with %d talks: %q", len(talks), got)
	}
	s.must(200, req{method: "GET", path: "/api/v1/events/democon/talks"}).json(t, &talks)
	s.must(204, req{method: "DELETE", path: "/api/v1/events/democon", admin: true})
	if got := talkChanges(ch); strings.Count(got, "-") != len(talks) || len(talks) == 0 {
		t.Errorf("DELETE event with %d talks: %q", len(talks), got)
	}
}

// TestKastSampleImports: the kast JSON sample shipped in
// conference/schedule/testdata (a talk without "kind", which kast's own
// export leaves out when empty) imports, and its kind-less talk is a talk.
func TestKastSampleImports(t *testing.T) {
	s := newServer(t)
	s.createDemo()
	r := s.must(200, req{method: "PUT", path: "/api/v1/events/democon/timetable", admin: true,
		body: sample(t, "kast-timetable.json"), contentType: "application/json"})
	var rep struct {
		Talks struct{ Added []struct{ ID int64 } }
	}
	r.json(t, &rep)
	if len(rep.Talks.Added) != 2 {
		t.Fatalf("import: %s", r.body)
	}
	var talk struct{ Kind string }
	s.must(200, req{method: "GET", path: fmt.Sprintf("/api/v1/talks/%d", rep.Talks.Added[1].ID)}).json(t, &talk)
	if talk.Kind != "talk" {
		t.Fatalf("kind-less talk imported as %q", talk.Kind)
	}
}

// TestEventDatesKeepTheTalksInside: new dates that would leave a talk
// outside the event are refused (422, field start), by the store in the
// write itself.
func TestEventDatesKeepTheTalksInside(t *testing.T) {
	s := newServer(t)
	s.createDemo()
	s.must(200, req{method: "PUT", path: "/api/v1/events/democon/timetable", body: sample(t, "pretalx-schedule.json"),
		contentType: "application/json", admin: true})
	r := s.must(422, req{method: "PATCH", path: "/api/v1/events/democon", admin: true, body: map[string]any{"end": "2027-03-14T00:00:00+01:00"}})
	if msg, field := r.apiErr(t); field != "start" || !strings.Contains(msg, "outside the event") {
		t.Fatalf("%s", r.body)
	}
	s.must(200, req{method: "PATCH", path: "/api/v1/events/democon", admin: true, body: map[string]any{"end": "2027-03-16T00:00:00+01:00"}})
}
