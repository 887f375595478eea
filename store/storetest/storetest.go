// Package storetest is the test suite every conference.Store passes: the
// SQLite store runs it, and a PostgreSQL store runs the same with its own
// constructor.
package storetest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/conference/schedule"
)

// Open returns a new, empty, migrated store; the test closes it.
type Open func(t *testing.T) conference.Store

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open Open) {
	for _, c := range []struct {
		name string
		f    func(*testing.T, conference.Store)
	}{
		{"Events", testEvents},
		{"Tracks", testTracks},
		{"Talks", testTalks},
		{"TalkReadsAreConsistent", testTalkReadsAreConsistent},
		{"OnAir", testOnAir},
		{"Import", testImport},
		{"ImportKeepsOnAir", testImportKeepsOnAir},
		{"ImportRenamesAndMoves", testImportRenamesAndMoves},
		{"Registrations", testRegistrations},
		{"CapacityUnderConcurrency", testCapacityUnderConcurrency},
		{"CheckIn", testCheckIn},
		{"Sessions", testSessions},
		{"Playback", testPlayback},
		{"Scheduler", testScheduler},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			c.f(t, s)
		})
	}
}

var ctx = context.Background()

// Verbatim is stored and read back unchanged in every text field: SQL
// and HTML metacharacters are data.
const Verbatim = `Robert'); DROP TABLE events;-- <script>alert("x")</script> & \ % _ ü`

func berlin() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}

// DemoCon returns the event the sample timetables are for.
func DemoCon() conference.Event {
	return conference.Event{Slug: "democon", Title: "DemoCon 2027", TimeZone: "Europe/Berlin",
		Start:  time.Date(2027, 3, 13, 0, 0, 0, 0, berlin()),
		End:    time.Date(2027, 3, 15, 0, 0, 0, 0, berlin()),
		Access: conference.AccessRegistered, Status: conference.StatusScheduled, OfflineCapacity: 100}
}

func mustEvent(t *testing.T, s conference.Store, ev conference.Event) conference.Event {
	t.Helper()
	ev.Normalize()
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	ev, err := s.CreateEvent(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func mustTrack(t *testing.T, s conference.Store, tr conference.Track) (conference.Track, string) {
	t.Helper()
	tr, key, err := s.CreateTrack(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	return tr, key
}

func mustTalk(t *testing.T, s conference.Store, k conference.Talk) conference.Talk {
	t.Helper()
	k.Normalize()
	k, err := s.CreateTalk(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Sample reads a timetable from conference/schedule/testdata.
func Sample(t testing.TB, name string) conference.Timetable {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, "conference", "schedule", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	tt, _, err := schedule.Parse(b, "")
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func isNotFound(err error) bool { return errors.Is(err, conference.ErrNotFound) }
