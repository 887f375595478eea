package pages

import (
	"fmt"
	"strings"
	"time"

	"github.com/kastlive/kast/conference"
)

// Template helpers for times and names.

// clock is t's wall-clock time in loc ("14:05").
func clock(t time.Time, loc *time.Location) string { return t.In(loc).Format("15:04") }

// epochMS is t in Unix milliseconds, for scripts (data attributes).
func epochMS(t time.Time) int64 { return t.UnixMilli() }

// isoTime is t as RFC 3339 in loc, for <time datetime>.
func isoTime(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.RFC3339) }

// dayName is a day as people read it ("Saturday 13 March").
func dayName(t time.Time, loc *time.Location) string { return t.In(loc).Format("Monday 2 January") }

// speakerNames joins a talk's speakers ("Ada, Grace").
func speakerNames(t conference.Talk) string {
	names := make([]string, 0, len(t.Speakers))
	for _, s := range t.Speakers {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// kbps formats a bitrate for people.
func kbps(bits int64) string {
	if bits >= 1_000_000 {
		return fmt.Sprintf("%.1f Mbit/s", float64(bits)/1e6)
	}
	return fmt.Sprintf("%d kbit/s", bits/1000)
}
