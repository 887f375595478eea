package live

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
)

// TestChatPushed: chat messages and questions reach every connection of
// their event, escaped JSON, hidden ones without their text; other events'
// connections get nothing.
func TestChatPushed(t *testing.T) {
	th := newTestHub(t, Config{})
	feed := &conference.ChatFeed{}
	th.FollowChat(feed)
	a, b := th.dial(t, "devconf", nil), th.dial(t, "devconf", nil)
	other := th.dial(t, "meetup", nil)
	for _, c := range []interface{ ReadJSON(any) error }{a, b, other} {
		var hello map[string]any
		if err := c.ReadJSON(&hello); err != nil || hello["type"] != "hello" {
			t.Fatalf("hello: %v %v", hello, err)
		}
	}
	time.Sleep(50 * time.Millisecond) // the joins are in
	at := time.Date(2027, 3, 13, 9, 0, 0, 0, time.UTC)
	feed.Publish(conference.ChatEvent{EventID: 1, Track: "main", Message: &conference.ChatMessage{ID: 7, Author: "Ada", Body: "<b>hi</b>", CreatedAt: at}})
	feed.Publish(conference.ChatEvent{EventID: 1, Track: "main", Question: &conference.Question{ID: 2, Author: "Bo", Body: "why?", Votes: 3, CreatedAt: at}})
	feed.Publish(conference.ChatEvent{EventID: 1, Track: "main", Message: &conference.ChatMessage{ID: 7, Author: "Ada", Body: "<b>hi</b>", Hidden: true, CreatedAt: at}})
	for _, c := range []interface {
		ReadMessage() (int, []byte, error)
	}{a, b} {
		_, m1, _ := c.ReadMessage()
		if string(m1) != `{"type":"chat","event":"devconf","track":"main","message":{"id":7,"track":"main","author":"Ada","body":"\u003cb\u003ehi\u003c/b\u003e","hidden":false,"created_at":"2027-03-13T09:00:00Z"}}` {
			t.Errorf("chat: %s", m1)
		}
		_, m2, _ := c.ReadMessage()
		var q questionMsg
		if json.Unmarshal(m2, &q); q.Type != "question" || q.Question.Votes != 3 || q.Question.Body != "why?" {
			t.Errorf("question: %s", m2)
		}
		_, m3, _ := c.ReadMessage()
		var h chatMsg
		if json.Unmarshal(m3, &h); !h.Message.Hidden || h.Message.Body != "" || h.Message.Author != "" {
			t.Errorf("hidden: %s", m3)
		}
	}
	other.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, m, err := other.ReadMessage(); err == nil {
		t.Errorf("another event's connection got %s", m)
	}
}
