package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// hostileSize is the largest timetable kast takes (web/api's
// DefaultTimetableSize).
const hostileSize = 8 << 20

// fill returns head, then item(i) for i = 0, 1, ... joined by sep up to
// about hostileSize bytes, then tail. (item may close and open lists.)
func fill(head string, item func(i int) string, sep, tail string) []byte {
	var b bytes.Buffer
	b.WriteString(head)
	for i := 0; b.Len() < hostileSize-len(tail)-200; i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(item(i))
	}
	b.WriteString(tail)
	return b.Bytes()
}

const (
	frabHead      = `{"schedule":{"conference":{"time_zone_name":"UTC",`
	frabEventJSON = `{"guid":"g%d","date":"2027-03-13T10:00:00Z","duration":"00:30","title":"t"}`
	xmlEvent      = `<event guid="g%d"><date>2027-03-13T10:00:00Z</date><duration>00:30</duration><title>t</title></event>`
)

// TestHostileTimetablesRefusedInBoundedMemory: 8 MB documents made of
// the smallest elements a list can hold (2.8 million persons of one
// event, 100,000 events, 400,000 days, rooms) are refused at the first
// element past the limit, with the field named, and parsing them
// allocates a few times the document, not the 1.3 GB that decoding 2.8
// million persons took.
func TestHostileTimetablesRefusedInBoundedMemory(t *testing.T) {
	cases := []struct {
		name  string
		parse func([]byte) (any, error)
		doc   []byte
		field string
	}{
		{"frab JSON persons", frab, fill(frabHead+`"days":[{"date":"2027-03-13","rooms":{"A":[{"guid":"g","date":"2027-03-13T10:00:00Z","duration":"00:30","title":"t","persons":[`,
			func(int) string { return "{}" }, ",", `]}]}}]}}}`), `schedule.conference.days[0].rooms["A"][0].persons`},
		{"frab JSON events", frab, fill(frabHead+`"days":[{"date":"2027-03-13","rooms":{"A":[`,
			func(i int) string { return fmt.Sprintf(frabEventJSON, i) }, ",", `]}}]}}}`), "schedule.conference.days"},
		{"frab JSON events over rooms", frab, eventsOverRooms(), "schedule.conference.days"},
		{"frab JSON days", frab, fill(frabHead+`"days":[`, func(int) string { return `{"date":"2027-03-13"}` }, ",", `]}}}`), "schedule.conference.days"},
		{"frab JSON rooms", frab, fill(frabHead+`"rooms":[`, func(i int) string { return `{"name":"r"}` }, ",", `]}}}`), "schedule.conference.rooms"},
		{"frab JSON rooms of a day", frab, fill(frabHead+`"days":[{"date":"2027-03-13","rooms":{`,
			func(i int) string { return fmt.Sprintf(`"r%d":[]`, i) }, ",", `}}]}}}`), "schedule.conference.days[0].rooms"},
		{"frab XML persons", frabXML, fill(`<schedule><day date="2027-03-13"><room name="A"><event guid="g"><date>2027-03-13T10:00:00Z</date><duration>00:30</duration><title>t</title><persons>`,
			func(int) string { return "<person/>" }, "", `</persons></event></room></day></schedule>`), `schedule.day[0].room["A"].event[0].persons`},
		{"frab XML events", frabXML, fill(`<schedule><day date="2027-03-13"><room name="A">`,
			func(i int) string { return fmt.Sprintf(xmlEvent, i) }, "", `</room></day></schedule>`), "schedule"},
		{"frab XML days", frabXML, fill(`<schedule>`, func(int) string { return `<day date="2027-03-13"/>` }, "", `</schedule>`), "schedule"},
		{"frab XML rooms", frabXML, fill(`<schedule><day date="2027-03-13">`, func(i int) string { return fmt.Sprintf(`<room name="r%d"/>`, i) }, "", `</day></schedule>`), "schedule"},
		{"kast talks", kast, fill(`{"rooms":[{"name":"A"}],"talks":[`,
			func(i int) string { return fmt.Sprintf(`{"guid":"g%d","room":"A","title":"t"}`, i) }, ",", `]}`), "talks"},
		{"kast speakers", kast, fill(`{"rooms":[{"name":"A"}],"talks":[{"guid":"g","room":"A","title":"t","speakers":[`,
			func(int) string { return "{}" }, ",", `]}]}`), "talks[0].speakers"},
		{"kast rooms", kast, fill(`{"rooms":[`, func(int) string { return `{}` }, ",", `]}`), "rooms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := c.parse(c.doc)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes: allocated %d MB: %v", len(c.doc), alloc>>20, err)
			fe, ok := err.(interface{ Error() string })
			if !ok || err == nil || !strings.Contains(err.Error(), "more than") || !strings.HasPrefix(fe.Error(), c.field+":") {
				t.Fatalf("err = %v, want a limit on %s", err, c.field)
			}
			// Loose: a few copies of the document and the limit's worth
			// of talks; before the caps, persons alone took 1.3 GB.
			if alloc > 64<<20 {
				t.Errorf("allocated %d MB for an %d MB document", alloc>>20, len(c.doc)>>20)
			}
		})
	}
}

// eventsOverRooms is a day of rooms of 1,000 valid events each, up to
// hostileSize: each room is below every limit, their sum is not.
func eventsOverRooms() []byte {
	var b bytes.Buffer
	b.WriteString(frabHead + `"days":[{"date":"2027-03-13","rooms":{`)
	for r := 0; b.Len() < hostileSize-100_000; r++ {
		if r > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"r%d":[`, r)
		for i := range 1000 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, frabEventJSON, r*1000+i)
		}
		b.WriteString("]")
	}
	b.WriteString(`}}]}}}`)
	return b.Bytes()
}

func frab(b []byte) (any, error)    { return ParseFrabJSON(b) }
func frabXML(b []byte) (any, error) { return ParseFrabXML(b) }
func kast(b []byte) (any, error)    { return ParseKast(b) }

// FuzzElements: on any valid JSON array or object, elements splits out
// exactly the members encoding/json sees, and never panics on the rest.
func FuzzElements(f *testing.F) {
	for _, s := range []string{`[]`, `[1, "a]", {"b": [2, {"c": "}"}]}, null, true, -1.5e3]`, `{"x": [1], "y\"z": {"a": "\\"}}`,
		`[ "\u005d", [[[]]] , {} ]`, `[1,`, `{"a" 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got [][2]string
		err := elements(data, func(k, v []byte) error {
			got = append(got, [2]string{string(k), string(v)})
			return nil
		})
		if !json.Valid(data) {
			return // no panic is all that is asked
		}
		var arr []json.RawMessage
		if json.Unmarshal(data, &arr) == nil && arr != nil {
			if err != nil || len(got) != len(arr) {
				t.Fatalf("%q: %d elements (%v), encoding/json %d", data, len(got), err, len(arr))
			}
			for i := range arr {
				if got[i][1] != string(bytes.TrimSpace(arr[i])) {
					t.Fatalf("%q: element %d %q, encoding/json %q", data, i, got[i][1], arr[i])
				}
			}
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) == nil && obj != nil {
			if err != nil {
				t.Fatalf("%q: %v", data, err)
			}
			for _, kv := range got {
				var k string
				if json.Unmarshal([]byte(kv[0]), &k) != nil {
					t.Fatalf("%q: key %q", data, kv[0])
				}
				if _, ok := obj[k]; !ok {
					t.Fatalf("%q: key %q not in the object", data, k)
				}
			}
		}
	})
}
