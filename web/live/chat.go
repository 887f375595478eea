package live

import (
	"time"

	"github.com/gorilla/websocket"

	"github.com/kastlive/kast/conference"
)

// Chat message types (docs/api.md, "Live channel messages for the chat").
const (
	typeChat     = "chat"
	typeQuestion = "question"
)

// chatMsg carries a posted, hidden or shown chat message.
type chatMsg struct {
	Type    string       `json:"type"`
	Event   string       `json:"event"`
	Track   string       `json:"track"`
	Message *messageJSON `json:"message"`
}

// questionMsg carries a question after any change: asked, voted,
// answered, hidden.
type questionMsg struct {
	Type     string        `json:"type"`
	Event    string        `json:"event"`
	Track    string        `json:"track"`
	Question *questionJSON `json:"question"`
}

// messageJSON and questionJSON are the shapes of the REST answers
// (web/api/chat.go); a hidden one has no author or body.
type messageJSON struct {
	ID        int64  `json:"id"`
	Track     string `json:"track"`
	Author    string `json:"author"`
	Body      string `json:"body"`
	ReplyTo   int64  `json:"reply_to,omitempty"`
	Hidden    bool   `json:"hidden"`
	CreatedAt string `json:"created_at"`
}

type questionJSON struct {
	ID        int64  `json:"id"`
	Track     string `json:"track"`
	Author    string `json:"author"`
	Body      string `json:"body"`
	Votes     int    `json:"votes"`
	Voted     bool   `json:"voted"`
	Answered  bool   `json:"answered"`
	Hidden    bool   `json:"hidden"`
	CreatedAt string `json:"created_at"`
}

// FollowChat pushes every event of feed (conference.Chat publishes there)
// to the connections of its event, until the hub closes: each marshalled
// and framed once. Call it after Initialize.
func (h *Hub) FollowChat(feed *conference.ChatFeed) {
	events, cancel := feed.Subscribe(1024)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer cancel()
		for {
			select {
			case <-h.stop:
				return
			case e, ok := <-events:
				if !ok {
					return
				}
				h.chat(e)
			}
		}
	}()
}

func (h *Hub) chat(e conference.ChatEvent) {
	h.mu.Lock()
	r := h.rooms[e.EventID]
	var slug string
	if r != nil {
		slug = r.ev.Slug
	}
	h.mu.Unlock()
	if r == nil {
		return // nobody is listening
	}
	var b []byte
	switch {
	case e.Message != nil:
		m := e.Message
		j := &messageJSON{ID: m.ID, Track: e.Track, Author: m.Author, Body: m.Body, ReplyTo: m.ReplyTo, Hidden: m.Hidden,
			CreatedAt: m.CreatedAt.UTC().Format(time.RFC3339Nano)}
		if m.Hidden {
			j.Author, j.Body = "", ""
		}
		b = marshal(chatMsg{Type: typeChat, Event: slug, Track: e.Track, Message: j})
	case e.Question != nil:
		q := e.Question
		j := &questionJSON{ID: q.ID, Track: e.Track, Author: q.Author, Body: q.Body, Votes: q.Votes, Answered: q.Answered,
			Hidden: q.Hidden, CreatedAt: q.CreatedAt.UTC().Format(time.RFC3339Nano)}
		if q.Hidden {
			j.Author, j.Body = "", ""
		}
		b = marshal(questionMsg{Type: typeQuestion, Event: slug, Track: e.Track, Question: j})
	default:
		return
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		h.Logger.Error("live: prepare chat message", "err", err)
		return
	}
	h.broadcast(e.EventID, func(*conn) *websocket.PreparedMessage { return pm })
}
