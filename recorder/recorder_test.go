package recorder

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestRecordsAPublish(t *testing.T) {
	g := newRig(t, "", nil)
	g.publish(t, "main", t0, 10*time.Second)
	g.waitEnded(t)
	l := g.rec.List()
	if len(l.Publishes) != 1 {
		t.Fatalf("publishes %+v", l.Publishes)
	}
	p := l.Publishes[0]
	if p.Segments < 9 || p.DurationS < 9 || p.DurationS > 10.1 || p.ID != "" && !strings.HasPrefix(p.ID, "2") {
		t.Fatalf("publish %+v", p)
	}
	rec, err := g.rec.Publish("main", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	pl := string(rec.Playlist(func(*Entry) string { return "" }))
	for _, want := range []string{"#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-ENDLIST", "#EXT-X-MAP:URI=\"init-1.mp4\"", "seg-0.m4s"} {
		if !strings.Contains(pl, want) {
			t.Fatalf("playlist lacks %q:\n%s", want, pl)
		}
	}
	// The files are the bytes the packager made: a segment is whole
	// fragments, and the MP4 is the init plus every segment.
	m, err := rec.MP4()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	all, err := io.ReadAll(m)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(all)) != m.Size() {
		t.Fatalf("read %d bytes of %d", len(all), m.Size())
	}
	if !bytes.Contains(all[:2000], []byte("mehd")) {
		t.Fatal("no mehd in the MP4's init")
	}
	// Any range reads the same bytes as the whole.
	for _, r := range [][2]int64{{0, 10}, {100, 5000}, {m.Size() / 2, 70000}, {m.Size() - 7, 7}} {
		if _, err := m.Seek(r[0], io.SeekStart); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, r[1])
		if _, err := io.ReadFull(m, b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, all[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %v differs", r)
		}
	}
}

func TestTalksCutFromOnAirSpans(t *testing.T) {
	g := newRig(t, "", nil)
	talks := []*conference.Talk{{ID: 1, Title: "One"}, {ID: 2, Title: "Two"}, {ID: 3, Title: "Three"}}
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(-time.Second), Track: "main", Talk: talks[0]})
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(6 * time.Second), Track: "main", Talk: talks[1]})
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(12 * time.Second), Track: "main", Talk: talks[2]})
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(20 * time.Second), Track: "main"})
	g.publish(t, "main", t0, 20*time.Second)
	g.waitEnded(t)
	want := map[int64]time.Duration{1: 6 * time.Second, 2: 6 * time.Second, 3: 8 * time.Second}
	for id, d := range want {
		rec, err := g.rec.Talk(id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Live || rec.Duration < d-time.Second || rec.Duration > d+time.Second {
			t.Errorf("talk %d: %v (live %v), want %v", id, rec.Duration, rec.Live, d)
		}
	}
}

func TestReconnectInsideATalkIsOneRecording(t *testing.T) {
	g := newRig(t, "", nil)
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0, Track: "main", Talk: &conference.Talk{ID: 7}})
	g.publish(t, "main", t0, 5*time.Second)
	g.waitEnded(t)
	g.publish(t, "main", t0.Add(7*time.Second), 5*time.Second)
	g.waitEnded(t)
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(20 * time.Second), Track: "main"})
	time.Sleep(50 * time.Millisecond)
	rec, err := g.rec.Talk(7)
	if err != nil {
		t.Fatal(err)
	}
	pl := string(rec.Playlist(func(e *Entry) string { return e.Publish + "/" }))
	if n := strings.Count(pl, "#EXT-X-DISCONTINUITY\n"); n != 1 || strings.Count(pl, "#EXT-X-MAP") != 2 || rec.Live {
		t.Fatalf("want one discontinuity and two maps:\n%s", pl)
	}
	if rec.Duration < 9*time.Second {
		t.Fatalf("duration %v", rec.Duration)
	}
}

// TestRepairAfterCrash leaves what a kill -9 leaves (a segment file the
// index does not list, a half-written index line, no end line) and
// checks that the next start repairs it.
func TestRepairAfterCrash(t *testing.T) {
	dir := t.TempDir()
	g := newRig(t, dir, nil)
	g.publish(t, "main", t0, 6*time.Second)
	g.waitEnded(t)
	g.hls.Close()
	g.rec.Close()
	pub := g.rec.List().Publishes[0]
	pdir := filepath.Join(dir, "tracks", "main", pub.ID)
	idx := filepath.Join(pdir, "index.jsonl")
	b, _ := os.ReadFile(idx)
	lines := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
	// Drop the end line, cut the last segment's line in half, and leave
	// a stray segment being written.
	lines = lines[:len(lines)-1]
	last := lines[len(lines)-1]
	lines[len(lines)-1] = last[:len(last)/2]
	os.WriteFile(idx, []byte(strings.Join(lines, "")), 0o640)
	os.WriteFile(filepath.Join(pdir, "seg-999.m4s"), []byte("half"), 0o640)

	r2 := &Recorder{Dir: dir, NoSync: true, MinFree: -1, Logger: testLog}
	if err := r2.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	p2 := r2.List().Publishes[0]
	if p2.Segments != pub.Segments-1 || p2.Live {
		t.Fatalf("after repair %+v, before %+v", p2, pub)
	}
	if _, err := os.Stat(filepath.Join(pdir, "seg-999.m4s")); !os.IsNotExist(err) {
		t.Fatal("stray segment left")
	}
	b, _ = os.ReadFile(idx)
	if !strings.HasSuffix(string(b), "\n") || !strings.Contains(string(b), `"k":"end"`) {
		t.Fatalf("index not rewritten:\n%s", b)
	}
	// And it loads again without change.
	r2.Close()
	r3 := &Recorder{Dir: dir, NoSync: true, MinFree: -1, Logger: testLog}
	if err := r3.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	if p3 := r3.List().Publishes[0]; p3.Segments != p2.Segments || p3.Bytes != p2.Bytes {
		t.Fatalf("second load %+v, first %+v", p3, p2)
	}
}

func TestBudgetStopsRecordingNotTheStream(t *testing.T) {
	g := newRig(t, "", func(r *Recorder) { r.Budget = 2 << 20 })
	g.publish(t, "main", t0, 12*time.Second)
	g.waitEnded(t)
	st := g.rec.Stats()
	if !st.Full || st.Dropped == 0 || st.Stops != 1 || st.UsageBytes > 2<<20 {
		t.Fatalf("stats %+v", st)
	}
	if segs := g.hls.Metrics().Stats().Segments; segs < 11 {
		t.Fatalf("packager made %d segments", segs)
	}
}

func TestBudgetDeletesOldestFirst(t *testing.T) {
	g := newRig(t, "", func(r *Recorder) { r.Budget = 6 << 20 })
	g.publish(t, "main", t0, 6*time.Second)
	g.waitEnded(t)
	first := g.rec.List().Publishes[0].ID
	g.publish(t, "main", t0.Add(time.Hour), 6*time.Second)
	g.waitEnded(t)
	g.publish(t, "main", t0.Add(2*time.Hour), 6*time.Second)
	g.waitEnded(t)
	l := g.rec.List()
	for _, p := range l.Publishes {
		if p.ID == first {
			t.Fatalf("oldest publish kept: %+v", l.Publishes)
		}
	}
	if st := g.rec.Stats(); st.Evicted == 0 || st.UsageBytes > 6<<20 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRetentionDeletesOldNeverLive(t *testing.T) {
	g := newRig(t, "", func(r *Recorder) { r.Retention = 24 * time.Hour })
	g.publish(t, "main", t0, 3*time.Second)
	g.waitEnded(t)
	g.rec.expire(t0.Add(23 * time.Hour))
	if n := len(g.rec.List().Publishes); n != 1 {
		t.Fatalf("%d publishes a day later", n)
	}
	// A publish still being recorded (no end) is never deleted.
	g.rec.mu.Lock()
	live := &Publish{Track: "other", ID: "x", Started: t0, Inits: map[int]int64{}}
	g.rec.publishes[key("other", "x")] = live
	g.rec.mu.Unlock()
	g.rec.expire(t0.Add(25 * time.Hour))
	l := g.rec.List()
	if len(l.Publishes) != 1 || l.Publishes[0].ID != "x" || g.rec.Stats().Expired != 1 {
		t.Fatalf("after the retention: %+v", l.Publishes)
	}
}
