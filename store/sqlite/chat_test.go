package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

// chatFixture makes an event with two tracks and three accounts.
func chatFixture(t *testing.T) (*Store, conference.Track, conference.Track, []conference.Account) {
	t.Helper()
	s, _ := openTemp(t)
	ctx := context.Background()
	ev, err := s.CreateEvent(ctx, conference.Event{Slug: "conf", Title: "Conf", TimeZone: "UTC", Access: conference.AccessPublic, Status: conference.StatusScheduled})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := s.CreateTrack(ctx, conference.Track{EventID: ev.ID, Slug: "hall-a", Title: "Hall A"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := s.CreateTrack(ctx, conference.Track{EventID: ev.ID, Slug: "hall-b", Title: "Hall B"})
	if err != nil {
		t.Fatal(err)
	}
	var accts []conference.Account
	for _, email := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		acct, _, err := s.Register(ctx, conference.Account{Email: email, Name: email[:1], PasswordHash: "x", CreatedAt: time.Now()},
			conference.Registration{EventID: ev.ID, Participation: conference.ParticipationOnline, Ticket: conference.NewTicketCode(), CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		accts = append(accts, acct)
	}
	return s, a, b, accts
}

func TestChatMessages(t *testing.T) {
	s, a, b, accts := chatFixture(t)
	ctx := context.Background()
	for i := range 60 {
		tr := a
		if i%10 == 9 {
			tr = b
		}
		if _, err := s.AddMessage(ctx, conference.ChatMessage{TrackID: tr.ID, AccountID: accts[i%3].ID, Author: "x",
			Body: "<b>" + string(rune('A'+i%26)) + "</b>", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := s.Messages(ctx, a.ID, conference.ChatHistory, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 50 {
		t.Fatalf("got %d messages, want the newest 50 of 54", len(ms))
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].ID <= ms[i-1].ID || ms[i].TrackID != a.ID {
			t.Fatalf("messages not oldest first on one track: %+v", ms[i])
		}
	}
	if ms[0].Body != "<b>E</b>" { // verbatim: escaping is the renderer's job
		t.Errorf("first body %q", ms[0].Body)
	}
	last := ms[len(ms)-1]
	h, err := s.SetMessageHidden(ctx, last.ID, true)
	if err != nil || !h.Hidden {
		t.Fatalf("hide: %+v %v", h, err)
	}
	ms, _ = s.Messages(ctx, a.ID, 5, false)
	if ms[len(ms)-1].ID == last.ID {
		t.Error("hidden message still listed")
	}
	ms, _ = s.Messages(ctx, a.ID, 5, true)
	if ms[len(ms)-1].ID != last.ID || !ms[len(ms)-1].Hidden {
		t.Error("hidden message not listed for moderators")
	}
	if _, err := s.SetMessageHidden(ctx, 99999, true); !errors.Is(err, conference.ErrNotFound) {
		t.Errorf("hide unknown: %v", err)
	}
	r, err := s.AddMessage(ctx, conference.ChatMessage{TrackID: a.ID, AccountID: accts[0].ID, Author: "a", Body: "re", ReplyTo: ms[0].ID, CreatedAt: time.Now()})
	if err != nil || r.ReplyTo != ms[0].ID {
		t.Fatalf("reply: %+v %v", r, err)
	}
	if got, _ := s.MessageByID(ctx, r.ID); got.ReplyTo != ms[0].ID {
		t.Errorf("reply_to not stored: %+v", got)
	}
}

func TestQuestionVotes(t *testing.T) {
	s, a, _, accts := chatFixture(t)
	ctx := context.Background()
	q1, _ := s.AddQuestion(ctx, conference.Question{TrackID: a.ID, AccountID: accts[0].ID, Author: "a", Body: "first?", CreatedAt: time.Now()})
	q2, _ := s.AddQuestion(ctx, conference.Question{TrackID: a.ID, AccountID: accts[1].ID, Author: "b", Body: "second?", CreatedAt: time.Now()})
	// Every account votes for q2 several times at once: one vote each.
	var wg sync.WaitGroup
	for _, acct := range accts {
		for range 4 {
			wg.Go(func() {
				if _, err := s.Vote(ctx, q2.ID, acct.ID, true); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	qs, err := s.Questions(ctx, a.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].ID != q2.ID || qs[0].Votes != 3 || qs[1].ID != q1.ID {
		t.Fatalf("questions not by votes: %+v", qs)
	}
	q, err := s.Vote(ctx, q2.ID, accts[0].ID, false)
	if err != nil || q.Votes != 2 {
		t.Fatalf("unvote: %+v %v", q, err)
	}
	if q, _ := s.Vote(ctx, q2.ID, accts[0].ID, false); q.Votes != 2 {
		t.Errorf("second unvote changed the count: %d", q.Votes)
	}
	voted, _ := s.VotedQuestions(ctx, a.ID, accts[1].ID)
	if !voted[q2.ID] || voted[q1.ID] {
		t.Errorf("voted = %v", voted)
	}
	if _, err := s.Vote(ctx, 99999, accts[0].ID, true); !errors.Is(err, conference.ErrNotFound) {
		t.Errorf("vote on unknown question: %v", err)
	}
	yes := true
	q, err = s.SetQuestionState(ctx, q1.ID, &yes, nil)
	if err != nil || !q.Answered || q.Hidden {
		t.Fatalf("answered: %+v %v", q, err)
	}
	q, _ = s.SetQuestionState(ctx, q1.ID, nil, &yes)
	if !q.Answered || !q.Hidden {
		t.Fatalf("hidden kept answered: %+v", q)
	}
	if qs, _ := s.Questions(ctx, a.ID, false); len(qs) != 1 {
		t.Errorf("hidden question listed: %+v", qs)
	}
}

func TestOrganizers(t *testing.T) {
	s, _, _, accts := chatFixture(t)
	ctx := context.Background()
	if ok, _ := s.IsOrganizer(ctx, accts[0].ID); ok {
		t.Fatal("organizer before being made one")
	}
	if err := s.SetOrganizer(ctx, accts[0].ID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOrganizer(ctx, accts[0].ID, true); err != nil {
		t.Fatal("second grant:", err)
	}
	if ok, _ := s.IsOrganizer(ctx, accts[0].ID); !ok {
		t.Fatal("not an organizer")
	}
	if os, _ := s.Organizers(ctx); len(os) != 1 || os[0].ID != accts[0].ID {
		t.Fatalf("organizers = %+v", os)
	}
	if err := s.SetOrganizer(ctx, 99999, true); !errors.Is(err, conference.ErrNotFound) {
		t.Errorf("unknown account: %v", err)
	}
	s.SetOrganizer(ctx, accts[0].ID, false)
	if ok, _ := s.IsOrganizer(ctx, accts[0].ID); ok {
		t.Fatal("still an organizer")
	}
}
