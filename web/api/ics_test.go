package api

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kastlive/kast/conference"
)

func TestFoldingKeepsUTF8(t *testing.T) {
	var c calendar
	long := strings.Repeat("Zoë Müller – Ünïcödé ", 20)
	c.line("SUMMARY", escapeText(long))
	out := c.b.String()
	lines := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	if len(lines) < 3 {
		t.Fatalf("not folded: %q", out)
	}
	var joined strings.Builder
	for i, l := range lines {
		if len(l) > 75 {
			t.Fatalf("line %d has %d octets", i, len(l))
		}
		if !utf8.ValidString(l) {
			t.Fatalf("line %d splits a character: %q", i, l)
		}
		if i > 0 {
			if l[0] != ' ' {
				t.Fatalf("continuation line %d does not start with a space", i)
			}
			l = l[1:]
		}
		joined.WriteString(l)
	}
	if joined.String() != "SUMMARY:"+long {
		t.Fatalf("unfolded %q", joined.String())
	}
}

func TestEscapeText(t *testing.T) {
	got := escapeText("a,b;c\\d\ne\r\x01f")
	if want := `a\,b\;c\\d\nef`; got != want {
		t.Fatalf("escapeText = %q, want %q", got, want)
	}
}

// An event across the start of summer time gets both observances with
// the offsets and local times of the changes.
func TestVTimezoneAcrossDST(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	ev := conference.Event{Slug: "x", Title: "X", TimeZone: "Europe/Berlin",
		Start: time.Date(2027, 3, 27, 0, 0, 0, 0, loc), End: time.Date(2027, 3, 29, 0, 0, 0, 0, loc)}
	out := string(ICalendar(ev, nil, nil, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)))
	for _, want := range []string{
		// In effect at the start: CET since the end of summer time 2026.
		"BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD",
		"BEGIN:DAYLIGHT\r\nDTSTART:20270328T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing\n%s\nin\n%s", want, out)
		}
	}
	// A zone without changes: one fixed observance.
	ev.TimeZone = "Asia/Tokyo"
	out = string(ICalendar(ev, nil, nil, time.Now()))
	if !strings.Contains(out, "BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nTZNAME:JST") {
		t.Fatalf("Tokyo:\n%s", out)
	}
}

func TestUTCOffset(t *testing.T) {
	for sec, want := range map[int]string{0: "+0000", 3600: "+0100", -16200: "-0430", 20700: "+0545", 3601: "+010001"} {
		if got := utcOffset(sec); got != want {
			t.Errorf("utcOffset(%d) = %s, want %s", sec, got, want)
		}
	}
}
