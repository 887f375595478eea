package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web/api"
)

// chatServer is an API with chat and organizer accounts on a public
// event "conf" with a track "hall".
func chatServer(t *testing.T) (*testServer, *conference.ChatFeed) {
	t.Helper()
	feed := &conference.ChatFeed{}
	s := newServer(t, func(h *api.Handler) {
		h.Chat = &conference.Chat{Messages: h.Store.(conference.ChatStore), Questions: h.Store.(conference.QuestionStore), Feed: feed,
			MessageLimit: conference.Limit{Burst: 3, Every: time.Hour}}
		h.Organizers = h.Store.(conference.OrganizerAccountStore)
	})
	s.must(201, req{method: "POST", path: "/api/v1/events", admin: true, body: map[string]any{"slug": "conf", "name": "Conf", "timezone": "UTC"}})
	s.must(201, req{method: "POST", path: "/api/v1/events/conf/tracks", admin: true, body: map[string]any{"slug": "hall", "name": "Hall"}})
	return s, feed
}

// attendee registers a new account for conf and returns its cookie client.
func (s *testServer) attendee(name string) *http.Client {
	s.t.Helper()
	c := s.client()
	s.must(201, req{method: "POST", path: "/api/v1/events/conf/registrations", client: c, body: map[string]any{
		"name": name, "email": strings.ToLower(strings.ReplaceAll(name, " ", "")) + "@example.org", "password": "long enough password", "consent_terms": true}})
	return c
}

func TestChatPostAndRead(t *testing.T) {
	s, feed := chatServer(t)
	events, stop := feed.Subscribe(16)
	defer stop()
	ada := s.attendee("Ada")
	// Anonymous readers read a public event's chat, but cannot post.
	s.must(200, req{method: "GET", path: "/api/v1/tracks/hall/messages"})
	r := s.must(401, req{method: "POST", path: "/api/v1/tracks/hall/messages", body: map[string]any{"body": "hi"}})
	if msg, _ := r.apiErr(t); !strings.Contains(msg, "log in") {
		t.Errorf("anonymous post: %q", msg)
	}
	body := `<script>alert(1)</script> & "quotes"`
	r = s.must(201, req{method: "POST", path: "/api/v1/tracks/hall/messages", client: ada, body: map[string]any{"body": "  " + body + "  "}})
	var m struct {
		ID     int64
		Author string
		Body   string
		Track  string
	}
	r.json(t, &m)
	if m.Body != body || m.Author != "Ada" || m.Track != "hall" {
		t.Fatalf("posted %+v", m)
	}
	if !strings.Contains(string(r.body), `\u003cscript\u003e`) {
		t.Errorf("JSON does not escape HTML: %s", r.body)
	}
	select {
	case e := <-events:
		if e.Message == nil || e.Message.ID != m.ID || e.Track != "hall" {
			t.Errorf("feed event %+v", e)
		}
	case <-time.After(time.Second):
		t.Fatal("no chat event on the feed")
	}
	// Replies, bounds, rate limit.
	s.must(201, req{method: "POST", path: "/api/v1/tracks/hall/messages", client: ada, body: map[string]any{"body": "re", "reply_to": m.ID}})
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"body": "   "}, "body"},
		{map[string]any{"body": strings.Repeat("x", conference.MaxChatLen+1)}, "body"},
		{map[string]any{"body": "line\nbreak"}, "body"},
		{map[string]any{"body": "x", "reply_to": 99999}, "reply_to"},
	} {
		r := s.must(422, req{method: "POST", path: "/api/v1/tracks/hall/messages", client: ada, body: tc.body})
		if _, f := r.apiErr(t); f != tc.field {
			t.Errorf("%v: field %q", tc.body, f)
		}
	}
	r = s.must(201, req{method: "POST", path: "/api/v1/tracks/hall/messages", client: ada, body: map[string]any{"body": "third"}})
	r = s.do(req{method: "POST", path: "/api/v1/tracks/hall/messages", client: ada, body: map[string]any{"body": "fourth"}})
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("rate limit: %d %s", r.status, r.body)
	}
	var list struct{ Messages []struct{ Body string } }
	s.must(200, req{method: "GET", path: "/api/v1/tracks/hall/messages"}).json(t, &list)
	if len(list.Messages) != 3 || list.Messages[0].Body != body || list.Messages[2].Body != "third" {
		t.Fatalf("history %+v", list.Messages)
	}
	// Cross-site posts are refused.
	s.must(403, req{method: "POST", path: "/api/v1/tracks/hall/messages", client: ada, body: map[string]any{"body": "x"},
		header: http.Header{"Sec-Fetch-Site": {"cross-site"}}})
}

func TestChatNeedsRegistration(t *testing.T) {
	s, _ := chatServer(t)
	s.must(201, req{method: "POST", path: "/api/v1/events", admin: true, body: map[string]any{"slug": "other", "name": "Other", "timezone": "UTC", "access": "registered"}})
	s.must(201, req{method: "POST", path: "/api/v1/events/other/tracks", admin: true, body: map[string]any{"slug": "private", "name": "Private"}})
	ada := s.attendee("Ada") // registered for conf only
	s.must(401, req{method: "GET", path: "/api/v1/tracks/private/messages"})
	s.must(403, req{method: "GET", path: "/api/v1/tracks/private/messages", client: ada})
	s.must(403, req{method: "POST", path: "/api/v1/tracks/private/messages", client: ada, body: map[string]any{"body": "hi"}})
	s.must(403, req{method: "POST", path: "/api/v1/tracks/private/questions", client: ada, body: map[string]any{"body": "hi?"}})
	s.must(404, req{method: "GET", path: "/api/v1/tracks/nope/messages"})
}

func TestQuestionsVotesAndModeration(t *testing.T) {
	s, _ := chatServer(t)
	ada, bob, cy := s.attendee("Ada"), s.attendee("Bob"), s.attendee("Cy")
	ask := func(c *http.Client, q string) int64 {
		var v struct{ ID int64 }
		s.must(201, req{method: "POST", path: "/api/v1/tracks/hall/questions", client: c, body: map[string]any{"body": q}}).json(t, &v)
		return v.ID
	}
	q1, q2 := ask(ada, "first?"), ask(bob, "second?")
	vote := func(c *http.Client, id int64, method string) int {
		var v struct{ Votes int }
		s.must(200, req{method: method, path: fmt.Sprintf("/api/v1/tracks/hall/questions/%d/vote", id), client: c}).json(t, &v)
		return v.Votes
	}
	vote(bob, q2, "PUT")
	if n := vote(cy, q2, "PUT"); n != 2 {
		t.Fatalf("votes = %d", n)
	}
	if n := vote(cy, q2, "PUT"); n != 2 {
		t.Fatalf("a second vote by the same attendee counted: %d", n)
	}
	type qv struct {
		ID    int64
		Votes int
		Voted bool
	}
	var list struct{ Questions []qv }
	s.must(200, req{method: "GET", path: "/api/v1/tracks/hall/questions", client: cy}).json(t, &list)
	if len(list.Questions) != 2 || list.Questions[0].ID != q2 || !list.Questions[0].Voted || list.Questions[1].Voted {
		t.Fatalf("questions %+v", list.Questions)
	}
	if n := vote(cy, q2, "DELETE"); n != 1 {
		t.Fatalf("after unvote: %d", n)
	}
	s.must(404, req{method: "PUT", path: "/api/v1/tracks/hall/questions/999/vote", client: cy})
	s.must(401, req{method: "PUT", path: fmt.Sprintf("/api/v1/tracks/hall/questions/%d/vote", q1)})

	// Moderation needs an organizer: attendees are refused.
	path := fmt.Sprintf("/api/v1/tracks/hall/questions/%d", q1)
	s.must(403, req{method: "PATCH", path: path, client: ada, body: map[string]any{"answered": true}})
	s.must(200, req{method: "PATCH", path: path, admin: true, body: map[string]any{"answered": true}})
	s.must(422, req{method: "PUT", path: path + "/vote", client: cy})
	s.must(200, req{method: "PATCH", path: fmt.Sprintf("/api/v1/tracks/hall/questions/%d", q2), admin: true, body: map[string]any{"hidden": true}})
	s.must(200, req{method: "GET", path: "/api/v1/tracks/hall/questions"}).json(t, &list)
	if len(list.Questions) != 1 || list.Questions[0].ID != q1 {
		t.Fatalf("hidden question listed: %+v", list.Questions)
	}
	// An organizer account (made by the admin) moderates with its cookie.
	org := s.client()
	s.must(201, req{method: "POST", path: "/api/v1/organizers", admin: true, body: map[string]any{"name": "Org", "email": "org@example.org", "password": "organizer password"}})
	s.must(200, req{method: "POST", path: "/api/v1/session", client: org, body: map[string]any{"email": "org@example.org", "password": "organizer password"}})
	var m struct{ ID int64 }
	s.must(201, req{method: "POST", path: "/api/v1/tracks/hall/messages", client: bob, body: map[string]any{"body": "spam"}}).json(t, &m)
	s.must(200, req{method: "PATCH", path: fmt.Sprintf("/api/v1/tracks/hall/messages/%d", m.ID), client: org, body: map[string]any{"hidden": true}})
	var msgs struct{ Messages []struct{ ID int64 } }
	s.must(200, req{method: "GET", path: "/api/v1/tracks/hall/messages"}).json(t, &msgs)
	if len(msgs.Messages) != 0 {
		t.Fatalf("hidden message listed: %+v", msgs)
	}
	s.must(200, req{method: "GET", path: "/api/v1/tracks/hall/messages", client: org}).json(t, &msgs)
	if len(msgs.Messages) != 1 {
		t.Fatalf("organizer does not see the hidden message: %+v", msgs)
	}
	// The organizer may do organizer things, but not make organizers.
	s.must(200, req{method: "GET", path: "/api/v1/events/conf/registrations", client: org})
	s.must(403, req{method: "POST", path: "/api/v1/organizers", client: org, body: map[string]any{"email": "ada@example.org"}})
	s.must(403, req{method: "GET", path: "/api/v1/events/conf/registrations", client: ada})
}

func TestAdminCookie(t *testing.T) {
	s, _ := chatServer(t)
	c := s.client()
	r := s.must(401, req{method: "POST", path: "/api/v1/admin/session", client: c, body: map[string]any{"token": "wrong"}})
	if _, f := r.apiErr(t); f != "token" {
		t.Errorf("field %q", f)
	}
	r = s.must(200, req{method: "POST", path: "/api/v1/admin/session", client: c, body: map[string]any{"token": adminToken}})
	if sc := r.header.Get("Set-Cookie"); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") {
		t.Errorf("cookie %q", sc)
	}
	s.must(200, req{method: "GET", path: "/api/v1/events/conf/registrations", client: c})
	// Unsafe methods from another site are refused even with the cookie.
	s.must(403, req{method: "POST", path: "/api/v1/tracks/hall/stream-key", client: c, header: http.Header{"Origin": {"https://evil.example"}}})
	s.must(200, req{method: "POST", path: "/api/v1/tracks/hall/stream-key", client: c})
	s.must(201, req{method: "POST", path: "/api/v1/organizers", client: c, body: map[string]any{"name": "O", "email": "o@example.org", "password": "organizer password"}})
	var orgs []struct{ Email string }
	s.must(200, req{method: "GET", path: "/api/v1/organizers", client: c}).json(t, &orgs)
	if len(orgs) != 1 || orgs[0].Email != "o@example.org" {
		t.Fatalf("organizers %+v", orgs)
	}
	s.must(422, req{method: "POST", path: "/api/v1/organizers", admin: true, body: map[string]any{"name": "X", "email": "x@example.org", "password": "short"}})
	s.must(204, req{method: "DELETE", path: "/api/v1/admin/session", client: c})
	s.must(401, req{method: "GET", path: "/api/v1/events/conf/registrations", client: c})
}

func TestIngestEndpoint(t *testing.T) {
	s, _ := chatServer(t)
	var v struct {
		Live     bool
		Warnings []any
	}
	s.must(200, req{method: "GET", path: "/api/v1/tracks/hall/ingest", admin: true}).json(t, &v)
	if v.Live || v.Warnings == nil {
		t.Fatalf("%+v", v)
	}
	s.must(401, req{method: "GET", path: "/api/v1/tracks/hall/ingest"})
}

func TestViewerHistory(t *testing.T) {
	n := 0
	h := &api.ViewerHistory{
		Tracks: func(context.Context) ([]string, error) { return []string{"a"}, nil },
		Count:  func(string) int { n++; return n },
		Window: time.Minute,
	}
	t0 := time.Now()
	for i := range 10 {
		h.Sample(context.Background(), t0.Add(time.Duration(i)*15*time.Second))
	}
	s := h.Samples("a")
	// 0..135 s sampled, the last minute kept: 75 s through 135 s.
	if len(s) != 5 || s[0].Viewers != 6 || s[4].Viewers != 10 {
		t.Fatalf("samples %+v", s)
	}
	if len(h.Samples("b")) != 0 {
		t.Fatal("samples of an unknown track")
	}
}
