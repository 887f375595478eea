package recorder

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

// waitFor polls cond (the feed is applied in the recorder's goroutine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDoNotRecordTalkIsNotWritten: while a talk whose speaker opted out
// (do_not_record) is on air, no segment reaches the disk; the talks
// before and after it are recorded, and its own recording is refused.
func TestDoNotRecordTalkIsNotWritten(t *testing.T) {
	g := newRig(t, "", nil)
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(-time.Second), Track: "main", Talk: &conference.Talk{ID: 1, Title: "One"}})
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(6 * time.Second), Track: "main", Talk: &conference.Talk{ID: 2, Title: "Private", DoNotRecord: true}})
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(12 * time.Second), Track: "main", Talk: &conference.Talk{ID: 3, Title: "Three"}})
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(18 * time.Second), Track: "main"})
	g.publish(t, "main", t0, 18*time.Second)
	g.waitEnded(t)
	if _, err := g.rec.Talk(2); !errors.Is(err, ErrDoNotRecord) {
		t.Fatalf("opted-out talk: %v, want ErrDoNotRecord", err)
	}
	for _, id := range []int64{1, 3} {
		rec, err := g.rec.Talk(id)
		if err != nil || rec.Duration < 5*time.Second || rec.Duration > 7*time.Second {
			t.Fatalf("talk %d: %+v, %v", id, rec, err)
		}
	}
	l := g.rec.List()
	pub := l.Publishes[0]
	st := g.rec.Stats()
	t.Logf("publish %.1f s in %d segments, %d segments not written (opted out)", pub.DurationS, pub.Segments, st.OptedOut)
	if st.OptedOut < 5 || st.OptedOut > 7 || pub.DurationS > 13 {
		t.Fatalf("%d segments opted out, publish %.1f s: the opted-out talk's media was written", st.OptedOut, pub.DurationS)
	}
	// Nothing of its time on air is on disk.
	rec, _ := g.rec.Publish("main", pub.ID)
	for _, e := range rec.Entries {
		if mid := e.PDT.Add(e.Duration / 2); !mid.Before(t0.Add(6*time.Second)) && mid.Before(t0.Add(12*time.Second)) {
			t.Errorf("segment %d (at %v) of the opted-out talk was written", e.MSN, mid.Sub(t0))
		}
	}
	for _, s := range l.Talks {
		if s.ID == 2 && !s.DoNotRecord {
			t.Errorf("listing does not say talk 2 opted out: %+v", s)
		}
	}
}

// TestOptOutLaterHidesTheRecording: a talk recorded before its speaker
// opted out is no longer served; the files stay until an admin deletes
// them.
func TestOptOutLaterHidesTheRecording(t *testing.T) {
	g := newRig(t, "", nil)
	talk := &conference.Talk{ID: 5, Title: "Five"}
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0, Track: "main", Talk: talk})
	g.publish(t, "main", t0, 4*time.Second)
	g.waitEnded(t)
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(5 * time.Second), Track: "main"})
	waitFor(t, "the talk's recording", func() bool { r, err := g.rec.Talk(5); return err == nil && !r.Live })
	g.feed.Publish(conference.Change{Kind: conference.ChangeTalk, Talk: &conference.Talk{ID: 5, Title: "Five", DoNotRecord: true}})
	waitFor(t, "the opt-out", func() bool { _, err := g.rec.Talk(5); return errors.Is(err, ErrDoNotRecord) })
	if s, err := g.rec.TalkSummary(5); err != nil || s.Segments == 0 || !s.DoNotRecord {
		t.Fatalf("admin summary %+v, %v", s, err)
	}
	if err := g.rec.DeleteTalk(5); err != nil {
		t.Fatal(err)
	}
	if st := g.rec.Stats(); st.UsageBytes != 0 {
		t.Fatalf("%d bytes left after the admin delete", st.UsageBytes)
	}
}

// TestDeletedTalkIsWithdrawn: a talk deleted from the timetable (by hand
// or by an import) is no longer served; its files stay on disk (for the
// retention, the budget or an admin delete), and survive a restart
// withdrawn.
func TestDeletedTalkIsWithdrawn(t *testing.T) {
	dir := t.TempDir()
	g := newRig(t, dir, nil)
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0, Track: "main", Talk: &conference.Talk{ID: 8, Title: "Gone"}})
	g.publish(t, "main", t0, 4*time.Second)
	g.waitEnded(t)
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(5 * time.Second), Track: "main"})
	waitFor(t, "the talk's recording", func() bool { r, err := g.rec.Talk(8); return err == nil && !r.Live })
	g.feed.Publish(conference.Change{Kind: conference.ChangeTalk, Deleted: true, Talk: &conference.Talk{ID: 8}})
	waitFor(t, "the withdrawal", func() bool { _, err := g.rec.Talk(8); return errors.Is(err, ErrWithdrawn) })
	pub := g.rec.List().Publishes[0]
	if _, err := os.Stat(filepath.Join(dir, "tracks", "main", pub.ID, "seg-0.m4s")); err != nil {
		t.Fatalf("the withdrawn talk's files are gone: %v", err)
	}
	g.rec.Close()
	again := &Recorder{Dir: dir, NoSync: true, MinFree: -1, Logger: testLog}
	if err := again.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.Talk(8); !errors.Is(err, ErrWithdrawn) {
		t.Fatalf("after a restart: %v, want ErrWithdrawn", err)
	}
}

// TestTrimRefusedWhileLive: a trim of a talk on air (its end would move
// with every segment) is refused with ErrLive, and taken once it ended.
func TestTrimRefusedWhileLive(t *testing.T) {
	g := newRig(t, "", nil)
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0, Track: "main", Talk: &conference.Talk{ID: 9, Title: "Nine"}})
	waitFor(t, "talk on air", func() bool { _, err := g.rec.TalkSummary(9); return err == nil })
	if err := g.rec.Trim(9, time.Second, 0); !errors.Is(err, ErrLive) {
		t.Fatalf("trim on air: %v, want ErrLive", err)
	}
	g.publish(t, "main", t0, 4*time.Second)
	g.waitEnded(t)
	g.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: t0.Add(5 * time.Second), Track: "main"})
	waitFor(t, "the talk's end", func() bool { r, err := g.rec.Talk(9); return err == nil && !r.Live })
	if err := g.rec.Trim(9, time.Second, 0); err != nil {
		t.Fatalf("trim after the talk: %v", err)
	}
}
