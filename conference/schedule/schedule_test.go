package schedule

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func berlin(t testing.TB, s string) time.Time {
	t.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParsePretalxSchedule(t *testing.T) {
	tt, f, err := Parse(readFile(t, "pretalx-schedule.json"), "application/json; charset=utf-8")
	if err != nil || f != FrabJSON {
		t.Fatalf("Parse = %v, %v", f, err)
	}
	wantRooms := []conference.Room{
		{Key: "9a1c0000-0000-4000-8000-000000000001", Name: "Saal 1"},
		{Key: "9a1c0000-0000-4000-8000-000000000002", Name: "Saal 2"},
	}
	if !reflect.DeepEqual(tt.Rooms, wantRooms) {
		t.Fatalf("rooms = %+v", tt.Rooms)
	}
	if len(tt.Talks) != 7 {
		t.Fatalf("%d talks, want 7", len(tt.Talks))
	}
	byGUID := map[string]conference.TimetableTalk{}
	for _, x := range tt.Talks {
		byGUID[x.GUID] = x
	}
	k := byGUID["5b8d1f3c-0000-4000-8000-000000000002"]
	if k.Title != "Streaming <video> & 'SQL'; DROP TABLE talks;--" || k.Room != wantRooms[0].Key ||
		!k.Start.Equal(berlin(t, "2027-03-13 11:00")) || k.End.Sub(k.Start) != 30*time.Minute ||
		k.Kind != conference.KindTalk || k.Language != "en" ||
		!reflect.DeepEqual(k.Speakers, []conference.Speaker{{Name: "Bobby Tables", Bio: `<b>bold</b> bio & "quotes"`}}) ||
		!strings.Contains(k.Abstract, "Line two, with; punctuation\\") || !k.DoNotRecord {
		t.Fatalf("talk 2 = %+v", k)
	}
	if n := byGUID["5b8d1f3c-0000-4000-8000-000000000001"]; n.DoNotRecord {
		t.Errorf("talk 1 has do_not_record false: %+v", n)
	}
	kinds := map[string]conference.TalkKind{
		"5b8d1f3c-0000-4000-8000-000000000001": conference.KindKeynote,
		"5b8d1f3c-0000-4000-8000-000000000003": conference.KindBreak,
		"5b8d1f3c-0000-4000-8000-000000000011": conference.KindTalk, // a workshop
	}
	for g, want := range kinds {
		if byGUID[g].Kind != want {
			t.Errorf("%s kind = %s, want %s", g, byGUID[g].Kind, want)
		}
	}
	if z := byGUID["5b8d1f3c-0000-4000-8000-000000000004"]; z.Speakers[0].Name != "Zoë Müller" || z.Language != "de" {
		t.Errorf("talk 4 = %+v", z)
	}
	ev := conference.Event{Slug: "democon", Title: "DemoCon", TimeZone: "Europe/Berlin",
		Start: berlin(t, "2027-03-13 00:00"), End: berlin(t, "2027-03-15 00:00")}
	if err := tt.Validate(ev); err != nil {
		t.Fatalf("sample does not validate: %v", err)
	}
}

// The XML sample holds a subset of the JSON one: the same talks read
// the same from both formats.
func TestFrabXMLMatchesJSON(t *testing.T) {
	js, err := ParseFrabJSON(readFile(t, "pretalx-schedule.json"))
	if err != nil {
		t.Fatal(err)
	}
	xs, f, err := Parse(readFile(t, "frab-schedule.xml"), "text/xml")
	if err != nil || f != FrabXML {
		t.Fatalf("Parse xml = %v, %v", f, err)
	}
	if !reflect.DeepEqual(xs.Rooms, js.Rooms) {
		t.Fatalf("xml rooms %+v, json rooms %+v", xs.Rooms, js.Rooms)
	}
	byGUID := map[string]conference.TimetableTalk{}
	for _, x := range js.Talks {
		byGUID[x.GUID] = x
	}
	if len(xs.Talks) != 4 {
		t.Fatalf("%d xml talks", len(xs.Talks))
	}
	for _, x := range xs.Talks {
		j := byGUID[x.GUID]
		// frab XML has no speaker biographies.
		for i := range j.Speakers {
			j.Speakers[i].Bio = ""
		}
		if !x.Start.Equal(j.Start) || !x.End.Equal(j.End) || x.Title != j.Title || x.Room != j.Room ||
			x.Kind != j.Kind || x.Abstract != j.Abstract || !reflect.DeepEqual(x.Speakers, j.Speakers) || x.DoNotRecord != j.DoNotRecord {
			t.Errorf("xml %+v\njson %+v", x, j)
		}
	}
}

func TestKastRoundTrip(t *testing.T) {
	tt, f, err := Parse(readFile(t, "kast-timetable.json"), "")
	if err != nil || f != Kast {
		t.Fatalf("Parse = %v, %v", f, err)
	}
	if len(tt.Rooms) != 2 || tt.Rooms[0].Key != "Main stage" || tt.Rooms[1].Key != "side" || tt.Rooms[1].Slug != "side-room" {
		t.Fatalf("rooms = %+v", tt.Rooms)
	}
	if tt.Talks[0].Room != "Main stage" || tt.Talks[1].Room != "side" || tt.Talks[0].Kind != conference.KindKeynote ||
		tt.Talks[0].DoNotRecord || !tt.Talks[1].DoNotRecord {
		t.Fatalf("talks = %+v", tt.Talks)
	}
	b, err := Marshal(tt, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseKast(b)
	if err != nil {
		t.Fatal(err)
	}
	if !sameTimetable(tt, back) {
		t.Fatalf("round trip:\n%+v\n%+v", tt, back)
	}
}

func sameTimetable(a, b conference.Timetable) bool {
	if !reflect.DeepEqual(a.Rooms, b.Rooms) || len(a.Talks) != len(b.Talks) {
		return false
	}
	for i := range a.Talks {
		x, y := a.Talks[i], b.Talks[i]
		if x.Room != y.Room || !x.Talk.Same(y.Talk) {
			return false
		}
	}
	return true
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, ct, body, field string
	}{
		{"kast unknown field", "application/json", `{"rooms":[],"talks":[],"extra":1}`, ""},
		{"kast no guid", "application/json", `{"rooms":[{"name":"A"}],"talks":[{"room":"A","title":"x","start":"2027-01-01T10:00:00Z","end":"2027-01-01T11:00:00Z"}]}`, "talks[0].guid"},
		{"kast bad time", "application/json", `{"talks":[{"guid":"g","start":"tomorrow"}]}`, ""},
		{"frab bad duration", "application/json", `{"schedule":{"conference":{"days":[{"date":"2027-01-01","rooms":{"A":[{"guid":"g","start":"10:00","duration":"ninety"}]}}]}}}`,
			`schedule.conference.days[0].rooms["A"][0].duration`},
		{"frab no guid", "application/json", `{"schedule":{"conference":{"days":[{"date":"2027-01-01","rooms":{"A":[{"start":"10:00","duration":"00:30"}]}}]}}}`,
			`schedule.conference.days[0].rooms["A"][0].guid`},
		{"frab bad zone", "application/json", `{"schedule":{"conference":{"time_zone_name":"Mars/Olympus"}}}`, "schedule.conference.time_zone_name"},
		{"malformed json", "application/json", `{"schedule":`, ""},
		{"xml garbage", "application/xml", `<schedule><day>`, ""},
		{"not a timetable", "text/plain", `hello`, ""},
		{"json type for xml", "application/json", `<schedule/>`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Parse([]byte(c.body), c.ct)
			if err == nil {
				t.Fatal("no error")
			}
			if c.field != "" {
				fe, ok := err.(*conference.FieldError)
				if !ok || fe.Field != c.field {
					t.Fatalf("err = %#v, want field %q", err, c.field)
				}
			}
		})
	}
}

func TestFrabStartFromDayAndTime(t *testing.T) {
	// No date-time on the event: the day's date and the start time, in
	// the schedule's zone.
	tt, err := ParseFrabJSON([]byte(`{"schedule":{"conference":{"time_zone_name":"Asia/Tokyo","days":[{"date":"2027-05-01",
		"rooms":{"Hall":[{"guid":"g1","start":"9:30","duration":"1:15:30","title":"T","type":"Lightning talk","id":7,"unknown":{"a":[1]}}]}}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Asia/Tokyo")
	k := tt.Talks[0]
	if !k.Start.Equal(time.Date(2027, 5, 1, 9, 30, 0, 0, loc)) || k.End.Sub(k.Start) != 75*time.Minute+30*time.Second {
		t.Fatalf("talk = %+v", k)
	}
	if tt.Rooms[0] != (conference.Room{Key: "Hall", Name: "Hall"}) {
		t.Fatalf("rooms = %+v", tt.Rooms)
	}
}

// TestDoNotRecordForms: the opt-out as exports write it (a boolean, and
// the looser forms some tools emit) and as frab XML's <recording><optout>.
func TestDoNotRecordForms(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{{`true`, true}, {`false`, false}, {`null`, false}, {`"true"`, true}, {`1`, true}, {`0`, false}} {
		doc := `{"schedule":{"conference":{"time_zone_name":"UTC","days":[{"date":"2027-03-13","rooms":{"A":[` +
			`{"guid":"g","date":"2027-03-13T10:00:00Z","duration":"00:30","title":"t","do_not_record":` + tc.value + `}]}}]}}}`
		tt, err := ParseFrabJSON([]byte(doc))
		if err != nil || tt.Talks[0].DoNotRecord != tc.want {
			t.Errorf("do_not_record %s: %+v, %v; want %v", tc.value, tt.Talks, err, tc.want)
		}
	}
	for _, tc := range []struct {
		recording string
		want      bool
	}{{`<recording><license/><optout>true</optout></recording>`, true}, {`<recording><optout>false</optout></recording>`, false}, {``, false}} {
		doc := `<schedule><day date="2027-03-13"><room name="A"><event guid="g"><date>2027-03-13T10:00:00Z</date>` +
			`<duration>00:30</duration><title>t</title>` + tc.recording + `</event></room></day></schedule>`
		tt, err := ParseFrabXML([]byte(doc))
		if err != nil || tt.Talks[0].DoNotRecord != tc.want {
			t.Errorf("%q: %+v, %v; want %v", tc.recording, tt.Talks, err, tc.want)
		}
	}
}

// TestEventsAfterMidnight: a frab day runs from 10:00 to 04:00 the next
// morning; its events at 01:00 and 03:30 without a date of their own are
// on the next calendar date, its 10:30 and 23:00 ones on the day's, in
// XML and JSON alike. A day without start and end keeps the day's date.
func TestEventsAfterMidnight(t *testing.T) {
	xmlDoc := `<schedule><conference><time_zone_name>Europe/Berlin</time_zone_name></conference>
<day index="1" date="2027-03-13" start="2027-03-13T10:00:00+01:00" end="2027-03-14T04:00:00+01:00">
<room name="Saal 1">
<event guid="a"><start>10:30</start><duration>00:30</duration><title>Morning</title></event>
<event guid="b"><start>23:00</start><duration>00:30</duration><title>Night</title></event>
<event guid="c"><start>01:00</start><duration>00:30</duration><title>Late night</title></event>
<event guid="d"><start>03:30</start><duration>00:20</duration><title>Very late</title></event>
</room></day>
<day index="2" date="2027-03-14"><room name="Saal 1">
<event guid="e"><start>01:00</start><duration>00:30</duration><title>No bounds</title></event>
</room></day></schedule>`
	jsonDoc := `{"schedule":{"conference":{"time_zone_name":"Europe/Berlin","days":[
{"date":"2027-03-13","day_start":"2027-03-13T10:00:00+01:00","day_end":"2027-03-14T04:00:00+01:00","rooms":{"Saal 1":[
{"guid":"a","start":"10:30","duration":"00:30","title":"Morning"},
{"guid":"b","start":"23:00","duration":"00:30","title":"Night"},
{"guid":"c","start":"01:00","duration":"00:30","title":"Late night"},
{"guid":"d","start":"03:30","duration":"00:20","title":"Very late"}]}},
{"date":"2027-03-14","rooms":{"Saal 1":[{"guid":"e","start":"01:00","duration":"00:30","title":"No bounds"}]}}]}}}`
	want := map[string]string{"a": "2027-03-13 10:30", "b": "2027-03-13 23:00", "c": "2027-03-14 01:00", "d": "2027-03-14 03:30", "e": "2027-03-14 01:00"}
	for name, parse := range map[string]func([]byte) (conference.Timetable, error){"xml": ParseFrabXML, "json": ParseFrabJSON} {
		doc := xmlDoc
		if name == "json" {
			doc = jsonDoc
		}
		tt, err := parse([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, k := range tt.Talks {
			if w := berlin(t, want[k.GUID]); !k.Start.Equal(w) {
				t.Errorf("%s: %q at %v, want %v", name, k.Title, k.Start, w)
			}
		}
	}
}
