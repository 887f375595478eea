package storetest

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

func guids(refs []conference.TalkRef) []string {
	var g []string
	for _, r := range refs {
		g = append(g, r.GUID)
	}
	sort.Strings(g)
	return g
}

const guidPrefix = "5b8d1f3c-0000-4000-8000-0000000000"

func testImport(t *testing.T, s conference.Store) {
	ev := mustEvent(t, s, DemoCon())
	// A track made in kast stays whatever the timetable says.
	own, _ := mustTrack(t, s, conference.Track{EventID: ev.ID, Slug: "lobby", Title: "Lobby"})
	tt := Sample(t, "pretalx-schedule.json")

	dry, err := s.ImportTimetable(ctx, ev.ID, tt, true)
	if err != nil || !dry.DryRun || len(dry.Tracks.Added) != 2 || len(dry.Talks.Added) != 7 {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	if ts, _ := s.EventTracks(ctx, ev.ID); len(ts) != 1 {
		t.Fatalf("dry run stored tracks: %+v", ts)
	}
	r, err := s.ImportTimetable(ctx, ev.ID, tt, false)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Tracks.Added) != "[saal-1 saal-2]" || len(r.Talks.Added) != 7 || r.Talks.Added[0].ID == 0 || r.Unchanged != 0 {
		t.Fatalf("first import = %+v", r)
	}
	tracks, _ := s.EventTracks(ctx, ev.ID)
	if len(tracks) != 3 || tracks[0].ID != own.ID || tracks[1].Slug != "saal-1" || tracks[1].Room != "9a1c0000-0000-4000-8000-000000000001" {
		t.Fatalf("tracks = %+v", tracks)
	}
	before, _ := s.Talks(ctx, conference.TalkFilter{EventID: ev.ID})

	again, err := s.ImportTimetable(ctx, ev.ID, tt, false)
	if err != nil || again.Changed() || again.Unchanged != 7 {
		t.Fatalf("re-import = %+v, %v", again, err)
	}
	after, _ := s.Talks(ctx, conference.TalkFilter{EventID: ev.ID})
	if len(after) != len(before) {
		t.Fatalf("re-import changed the talks")
	}
	for i := range after {
		if after[i].ID != before[i].ID || !after[i].Same(before[i]) {
			t.Fatalf("re-import changed %+v into %+v", before[i], after[i])
		}
	}

	changed := Sample(t, "pretalx-schedule-changed.json")
	dry, err = s.ImportTimetable(ctx, ev.ID, changed, true)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.ImportTimetable(ctx, ev.ID, changed, false)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(guids(d.Talks.Added)) != "["+guidPrefix+"14]" ||
		fmt.Sprint(guids(d.Talks.Updated)) != "["+guidPrefix+"02 "+guidPrefix+"04]" ||
		fmt.Sprint(guids(d.Talks.Removed)) != "["+guidPrefix+"12]" || d.Unchanged != 4 || d.Tracks.Added != nil {
		t.Fatalf("changed import = %+v", d)
	}
	if fmt.Sprint(guids(dry.Talks.Updated), guids(dry.Talks.Removed)) != fmt.Sprint(guids(d.Talks.Updated), guids(d.Talks.Removed)) {
		t.Fatalf("dry run %+v differs from the import %+v", dry, d)
	}
	k, err := s.TalkByID(ctx, d.Talks.Updated[0].ID)
	if err != nil || k.Title != "Streaming <video> & 'SQL' (updated)" || k.Start.Minute() != 15 {
		t.Fatalf("updated talk = %+v, %v", k, err)
	}

	// A timetable that breaks the rules changes nothing at all.
	bad := Sample(t, "pretalx-schedule.json")
	bad.Talks[3].Start = ev.End.Add(time.Hour)
	bad.Talks[3].End = ev.End.Add(2 * time.Hour)
	if _, err := s.ImportTimetable(ctx, ev.ID, bad, false); err == nil {
		t.Fatal("talk outside the event imported")
	} else if fe := (*conference.FieldError)(nil); !errors.As(err, &fe) || fe.Field != "talks[3].start" {
		t.Fatalf("err = %v", err)
	}

	// A room gone from the timetable: its track goes, with its talks.
	one := Sample(t, "pretalx-schedule-changed.json")
	one.Rooms = one.Rooms[:1]
	var keep []conference.TimetableTalk
	for _, k := range one.Talks {
		if k.Room == one.Rooms[0].Key {
			keep = append(keep, k)
		}
	}
	one.Talks = keep
	r, err = s.ImportTimetable(ctx, ev.ID, one, false)
	if err != nil || fmt.Sprint(r.Tracks.Removed) != "[saal-2]" || len(r.Talks.Removed) != 3 {
		t.Fatalf("room removed: %+v, %v", r, err)
	}
	if ts, _ := s.EventTracks(ctx, ev.ID); len(ts) != 2 {
		t.Fatalf("tracks = %+v", ts)
	}
}

func testImportKeepsOnAir(t *testing.T, s conference.Store) {
	ev := mustEvent(t, s, DemoCon())
	if _, err := s.ImportTimetable(ctx, ev.ID, Sample(t, "pretalx-schedule.json"), false); err != nil {
		t.Fatal(err)
	}
	saal1, _ := s.TrackBySlug(ctx, "saal-1")
	saal2, _ := s.TrackBySlug(ctx, "saal-2")
	talks1, _ := s.Talks(ctx, conference.TalkFilter{TrackID: saal1.ID})
	talks2, _ := s.Talks(ctx, conference.TalkFilter{TrackID: saal2.ID})
	updated, withdrawn := talks1[1], talks2[1] // guid 02 changes, guid 12 is withdrawn
	if updated.GUID != guidPrefix+"02" || withdrawn.GUID != guidPrefix+"12" {
		t.Fatalf("samples changed: %s %s", updated.GUID, withdrawn.GUID)
	}
	now := time.Now()
	s.SetOnAir(ctx, conference.OnAir{TrackID: saal1.ID, TalkID: updated.ID, ChangedAt: now})
	s.SetOnAir(ctx, conference.OnAir{TrackID: saal2.ID, TalkID: withdrawn.ID, ChangedAt: now})
	if _, err := s.ImportTimetable(ctx, ev.ID, Sample(t, "pretalx-schedule-changed.json"), false); err != nil {
		t.Fatal(err)
	}
	if o, _ := s.OnAir(ctx, saal1.ID); o.TalkID != updated.ID {
		t.Fatalf("on air after the update = %+v, want talk %d", o, updated.ID)
	}
	if o, _ := s.OnAir(ctx, saal2.ID); o.TalkID != 0 {
		t.Fatalf("withdrawn talk still on air: %+v", o)
	}
}

// testImportRenamesAndMoves: a room renamed in pretalx (same guid) stays
// the same track; a talk moved to a room that is new keeps its id.
func testImportRenamesAndMoves(t *testing.T, s conference.Store) {
	ev := mustEvent(t, s, DemoCon())
	tt := Sample(t, "pretalx-schedule.json")
	if _, err := s.ImportTimetable(ctx, ev.ID, tt, false); err != nil {
		t.Fatal(err)
	}
	saal1, _ := s.TrackBySlug(ctx, "saal-1")
	moved := tt.Talks[0]
	before, _ := s.Talks(ctx, conference.TalkFilter{TrackID: saal1.ID})
	tt.Rooms[0].Name = "Großer Saal"
	tt.Rooms = append(tt.Rooms, conference.Room{Key: "new-room", Name: "Foyer"})
	for i := range tt.Talks {
		if tt.Talks[i].GUID == moved.GUID {
			tt.Talks[i].Room = "new-room"
		}
	}
	r, err := s.ImportTimetable(ctx, ev.ID, tt, false)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Tracks.Added, r.Tracks.Updated, r.Tracks.Removed) != "[foyer] [saal-1] []" ||
		len(r.Talks.Updated) != 1 || r.Talks.Updated[0].GUID != moved.GUID {
		t.Fatalf("report = %+v", r)
	}
	renamed, _ := s.TrackByID(ctx, saal1.ID)
	if renamed.Title != "Großer Saal" || renamed.Slug != "saal-1" {
		t.Fatalf("renamed track = %+v", renamed)
	}
	foyer, _ := s.TrackBySlug(ctx, "foyer")
	k, err := s.TalkByID(ctx, before[0].ID)
	if err != nil || k.GUID != moved.GUID || k.TrackID != foyer.ID {
		t.Fatalf("moved talk = %+v, %v (want id %d on track %d)", k, err, before[0].ID, foyer.ID)
	}
}

func newAccount(email string) conference.Account {
	return conference.Account{Email: email, Name: "N " + email, PasswordHash: "$argon2id$test", CreatedAt: time.Now().Truncate(time.Millisecond)}
}

func newReg(ev conference.Event, p conference.Participation) conference.Registration {
	return conference.Registration{EventID: ev.ID, Participation: p, Ticket: conference.NewTicketCode(), Affiliation: Verbatim,
		ConsentTerms: true, CreatedAt: time.Now().Truncate(time.Millisecond)}
}

func testRegistrations(t *testing.T, s conference.Store) {
	ev := DemoCon()
	ev.OfflineCapacity = 1
	ev = mustEvent(t, s, ev)
	other := mustEvent(t, s, conference.Event{Slug: "other", Title: "Other"})
	a, r, err := s.Register(ctx, newAccount("a@example.org"), newReg(ev, conference.ParticipationOffline))
	if err != nil || a.ID == 0 || r.ID == 0 || r.AccountID != a.ID {
		t.Fatalf("Register = %+v %+v %v", a, r, err)
	}
	if got, err := s.AccountByEmail(ctx, "a@example.org"); err != nil || got.ID != a.ID || got.PasswordHash != a.PasswordHash {
		t.Fatalf("AccountByEmail = %+v, %v", got, err)
	}
	if _, _, err := s.Register(ctx, a, newReg(ev, conference.ParticipationOnline)); !errors.Is(err, conference.ErrConflict) {
		t.Fatalf("second registration: %v", err)
	}
	if _, _, err := s.Register(ctx, newAccount("a@example.org"), newReg(other, "online")); !errors.Is(err, conference.ErrConflict) {
		t.Fatalf("email in use: %v", err)
	}
	// The venue is full: nothing is stored, not even the account.
	if _, _, err := s.Register(ctx, newAccount("b@example.org"), newReg(ev, conference.ParticipationOffline)); !errors.Is(err, conference.ErrVenueFull) {
		t.Fatalf("101st seat: %v", err)
	}
	if _, err := s.AccountByEmail(ctx, "b@example.org"); !isNotFound(err) {
		t.Fatalf("account of a refused registration: %v", err)
	}
	b, _, err := s.Register(ctx, newAccount("b@example.org"), newReg(ev, conference.ParticipationOnline))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Register(ctx, a, newReg(other, conference.ParticipationOnline)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RegistrationFor(ctx, ev.ID, a.ID); err != nil || got.Ticket != r.Ticket || got.Affiliation != Verbatim {
		t.Fatalf("RegistrationFor = %+v, %v", got, err)
	}
	if _, err := s.RegistrationFor(ctx, other.ID, b.ID); !isNotFound(err) {
		t.Fatalf("not registered: %v", err)
	}
	if regs, err := s.AccountRegistrations(ctx, a.ID); err != nil || len(regs) != 2 {
		t.Fatalf("AccountRegistrations = %+v, %v", regs, err)
	}
	regs, accts, err := s.EventRegistrations(ctx, ev.ID)
	if err != nil || len(regs) != 2 || accts[0].Email != "a@example.org" || accts[1].ID != b.ID {
		t.Fatalf("EventRegistrations = %+v %+v %v", regs, accts, err)
	}
	if n, err := s.OfflineCount(ctx, ev.ID); err != nil || n != 1 {
		t.Fatalf("OfflineCount = %d, %v", n, err)
	}
	if _, _, err := s.Register(ctx, newAccount("c@example.org"), newReg(conference.Event{ID: 9999}, "online")); !isNotFound(err) {
		t.Fatalf("missing event: %v", err)
	}
}

// testCapacityUnderConcurrency: 60 registrations at once for 25 seats.
func testCapacityUnderConcurrency(t *testing.T, s conference.Store) {
	ev := DemoCon()
	ev.OfflineCapacity = 25
	ev = mustEvent(t, s, ev)
	var wg sync.WaitGroup
	errs := make([]error, 60)
	for i := range errs {
		wg.Go(func() {
			_, _, errs[i] = s.Register(ctx, newAccount(fmt.Sprintf("p%d@example.org", i)), newReg(ev, conference.ParticipationOffline))
		})
	}
	wg.Wait()
	ok, full := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, conference.ErrVenueFull):
			full++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	n, _ := s.OfflineCount(ctx, ev.ID)
	if ok != 25 || full != 35 || n != 25 {
		t.Fatalf("%d registered, %d told full, %d seats taken; want 25, 35, 25", ok, full, n)
	}
}

func testCheckIn(t *testing.T, s conference.Store) {
	ev := mustEvent(t, s, DemoCon())
	_, off, _ := s.Register(ctx, newAccount("off@example.org"), newReg(ev, conference.ParticipationOffline))
	_, on, _ := s.Register(ctx, newAccount("on@example.org"), newReg(ev, conference.ParticipationOnline))
	at := time.Now().Truncate(time.Millisecond)
	r, a, err := s.CheckIn(ctx, ev.ID, off.Ticket, at)
	if err != nil || !r.CheckedInAt.Equal(at) || a.Email != "off@example.org" {
		t.Fatalf("CheckIn = %+v %+v %v", r, a, err)
	}
	_, _, err = s.CheckIn(ctx, ev.ID, off.Ticket, at.Add(time.Minute))
	var already *conference.AlreadyCheckedInError
	if !errors.As(err, &already) || !already.At.Equal(at) {
		t.Fatalf("second check-in: %v", err)
	}
	var fe *conference.FieldError
	if _, _, err := s.CheckIn(ctx, ev.ID, on.Ticket, at); !errors.As(err, &fe) {
		t.Fatalf("online ticket: %v", err)
	}
	if _, _, err := s.CheckIn(ctx, ev.ID, "NOPE", at); !isNotFound(err) {
		t.Fatalf("unknown ticket: %v", err)
	}
}

func testSessions(t *testing.T, s conference.Store) {
	ev := mustEvent(t, s, DemoCon())
	a, _, _ := s.Register(ctx, newAccount("s@example.org"), newReg(ev, conference.ParticipationOnline))
	now := time.Now()
	sessions := &conference.Sessions{Store: s, TTL: time.Hour, Now: func() time.Time { return now }}
	token, sess, err := sessions.Create(ctx, a.ID)
	if err != nil || sess.ID == 0 {
		t.Fatal(err)
	}
	got, gs, err := sessions.Authenticate(ctx, token)
	if err != nil || got.ID != a.ID || gs.ID != sess.ID || got.Email != "s@example.org" {
		t.Fatalf("Authenticate = %+v %+v %v", got, gs, err)
	}
	for _, bad := range []string{"", "x", token + "x"} {
		if _, _, err := sessions.Authenticate(ctx, bad); !errors.Is(err, conference.ErrUnauthenticated) {
			t.Fatalf("Authenticate(%q) = %v", bad, err)
		}
	}
	now = now.Add(2 * time.Hour)
	if _, _, err := sessions.Authenticate(ctx, token); !errors.Is(err, conference.ErrUnauthenticated) {
		t.Fatalf("expired session: %v", err)
	}
	if n, err := s.DeleteExpiredSessions(ctx, now); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v", n, err)
	}
	token, _, _ = sessions.Create(ctx, a.ID)
	if err := sessions.End(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sessions.Authenticate(ctx, token); !errors.Is(err, conference.ErrUnauthenticated) {
		t.Fatalf("ended session: %v", err)
	}
}

// testPlayback: conference.Playback names the viewer of a session at an
// event, refuses the others, and names sessions by a reference a later
// session never gets (even one that gets the same row id).
func testPlayback(t *testing.T, s conference.Store) {
	ev := mustEvent(t, s, DemoCon())
	other := mustEvent(t, s, conference.Event{Slug: "other", Title: "Other", TimeZone: "UTC"})
	a, _, _ := s.Register(ctx, newAccount("p@example.org"), newReg(ev, conference.ParticipationOnline))
	sessions := &conference.Sessions{Store: s}
	p := &conference.Playback{Sessions: sessions, Store: s}
	token, sess, err := sessions.Create(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.Viewer(ctx, token, ev.Slug)
	if err != nil || v.EventID != ev.ID || v.AccountID != a.ID || v.SessionRef != conference.SessionRef(sess) || v.SessionRef == "" {
		t.Fatalf("Viewer = %+v, %v", v, err)
	}
	if _, err := p.Viewer(ctx, token, other.Slug); !errors.Is(err, conference.ErrNotRegistered) {
		t.Fatalf("another event: %v", err)
	}
	if _, err := p.Viewer(ctx, token, "nope"); !errors.Is(err, conference.ErrNotFound) {
		t.Fatalf("unknown event: %v", err)
	}
	if _, err := p.Viewer(ctx, "", ev.Slug); !errors.Is(err, conference.ErrUnauthenticated) {
		t.Fatalf("no session: %v", err)
	}
	if err := sessions.End(ctx, token); err != nil {
		t.Fatal(err)
	}
	token2, sess2, _ := sessions.Create(ctx, a.ID)
	v2, err := p.Viewer(ctx, token2, ev.Slug)
	if err != nil || v2.SessionRef == v.SessionRef {
		t.Fatalf("the next session (row %d, the ended one's %d) is named %q like the ended one: %v", sess2.ID, sess.ID, v2.SessionRef, err)
	}
}

// testTalkReadsAreConsistent: a talk is read in one snapshot (its row and
// its speakers are two queries): while a writer switches a talk between
// two consistent states, readers never see one's title with the other's
// speakers.
func testTalkReadsAreConsistent(t *testing.T, s conference.Store) {
	ev := mustEvent(t, s, DemoCon())
	tr, _ := mustTrack(t, s, conference.Track{EventID: ev.ID, Slug: "saal-1", Title: "Saal 1"})
	at := time.Date(2027, 3, 13, 10, 0, 0, 0, berlin())
	state := func(name string, n int) conference.Talk {
		k := conference.Talk{EventID: ev.ID, TrackID: tr.ID, Title: name, Start: at, End: at.Add(time.Hour), Kind: conference.KindTalk}
		for range n {
			k.Speakers = append(k.Speakers, conference.Speaker{Name: name})
		}
		return k
	}
	k := mustTalk(t, s, state("A", 1))
	done := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, read := range []func() (conference.Talk, error){
					func() (conference.Talk, error) { return s.TalkByID(ctx, k.ID) },
					func() (conference.Talk, error) {
						ts, err := s.Talks(ctx, conference.TalkFilter{EventID: ev.ID})
						if err != nil || len(ts) != 1 {
							return conference.Talk{}, fmt.Errorf("talks: %v, %v", ts, err)
						}
						return ts[0], nil
					},
				} {
					got, err := read()
					if err == nil && (len(got.Speakers) != map[string]int{"A": 1, "B": 3}[got.Title] || got.Speakers[0].Name != got.Title) {
						err = fmt.Errorf("read %q with speakers %+v", got.Title, got.Speakers)
					}
					if err != nil {
						select {
						case errs <- err:
						default:
						}
						return
					}
				}
			}
		}()
	}
	for i := range 200 {
		next := state("A", 1)
		if i%2 == 0 {
			next = state("B", 3)
		}
		next.ID = k.ID
		if _, err := s.UpdateTalk(ctx, next); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}
