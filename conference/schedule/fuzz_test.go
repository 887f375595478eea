package schedule

import (
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

// checkInvariants holds for every timetable a parser returns without
// error: every talk is in a listed room and ends after it starts.
func checkInvariants(t *testing.T, tt conference.Timetable) {
	keys := map[string]bool{}
	for _, r := range tt.Rooms {
		keys[r.Key] = true
	}
	for _, k := range tt.Talks {
		if !keys[k.Room] {
			t.Fatalf("talk %q in unlisted room %q", k.GUID, k.Room)
		}
		if k.GUID == "" {
			t.Fatalf("talk without guid: %+v", k)
		}
	}
}

func FuzzParseFrabJSON(f *testing.F) {
	f.Add(readFile(f, "pretalx-schedule.json"))
	f.Add(readFile(f, "pretalx-schedule-changed.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tt, err := ParseFrabJSON(data)
		if err != nil {
			return
		}
		checkInvariants(t, tt)
		for _, k := range tt.Talks {
			if !k.End.After(k.Start) {
				t.Fatalf("talk %q ends before it starts", k.GUID)
			}
		}
	})
}

func FuzzParseFrabXML(f *testing.F) {
	f.Add(readFile(f, "frab-schedule.xml"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tt, err := ParseFrabXML(data)
		if err != nil {
			return
		}
		checkInvariants(t, tt)
		for _, k := range tt.Talks {
			if !k.End.After(k.Start) {
				t.Fatalf("talk %q ends before it starts", k.GUID)
			}
		}
	})
}

// FuzzParseKast also checks that what kast reads, kast writes back the
// same.
func FuzzParseKast(f *testing.F) {
	f.Add(readFile(f, "kast-timetable.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tt, err := ParseKast(data)
		if err != nil {
			return
		}
		b, err := Marshal(tt, time.UTC)
		if err != nil {
			return // e.g. a year past 9999 parses but does not marshal
		}
		back, err := ParseKast(b)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", b, err)
		}
		if !sameTimetable(tt, back) {
			t.Fatalf("round trip differs:\n%+v\n%+v", tt, back)
		}
	})
}
