package conference

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limit is a token bucket: Burst actions at once, then one per Every.
type Limit struct {
	Burst int
	Every time.Duration
}

// Default per-account limits of the chat.
var (
	DefaultMessageLimit  = Limit{Burst: 5, Every: 2 * time.Second}
	DefaultQuestionLimit = Limit{Burst: 3, Every: 20 * time.Second}
	DefaultVoteLimit     = Limit{Burst: 30, Every: time.Second}
)

// RateLimitedError says an attendee posts faster than the chat allows;
// Wait is when the next post would be taken.
type RateLimitedError struct{ Wait time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("you are posting too fast: wait %s", e.Wait.Round(time.Second))
}

// Chat is the chat and Q&A of the tracks: the rules (who posts what, how
// long, how often) over the stores, and every change published on Feed
// for the live channel.
type Chat struct {
	Messages  ChatStore
	Questions QuestionStore
	// Feed receives every posted or changed message and question; nil:
	// none.
	Feed *ChatFeed
	// Limits per account; zero values take the defaults.
	MessageLimit, QuestionLimit, VoteLimit Limit
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	buckets map[bucketKey]*tokens
	sweep   time.Time
}

type bucketKey struct {
	kind    byte
	account int64
}

type tokens struct {
	n    float64
	last time.Time
}

func (c *Chat) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// take spends one action of kind for the account, or says how long to wait.
func (c *Chat) take(kind byte, account int64) error {
	l := map[byte]Limit{'m': c.MessageLimit, 'q': c.QuestionLimit, 'v': c.VoteLimit}[kind]
	if l == (Limit{}) {
		l = map[byte]Limit{'m': DefaultMessageLimit, 'q': DefaultQuestionLimit, 'v': DefaultVoteLimit}[kind]
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buckets == nil {
		c.buckets = map[bucketKey]*tokens{}
	}
	if now.Sub(c.sweep) > time.Minute { // forget full buckets
		for k, b := range c.buckets {
			if now.Sub(b.last) > 10*time.Minute {
				delete(c.buckets, k)
			}
		}
		c.sweep = now
	}
	k := bucketKey{kind, account}
	b := c.buckets[k]
	if b == nil {
		b = &tokens{n: float64(l.Burst), last: now}
		c.buckets[k] = b
	}
	b.n = min(float64(l.Burst), b.n+now.Sub(b.last).Seconds()/l.Every.Seconds())
	b.last = now
	if b.n < 1 {
		return &RateLimitedError{Wait: time.Duration((1 - b.n) * float64(l.Every))}
	}
	b.n--
	return nil
}

func (c *Chat) publish(ev Event, t Track, m *ChatMessage, q *Question) {
	if c.Feed != nil {
		c.Feed.Publish(ChatEvent{EventID: ev.ID, Track: t.Slug, Message: m, Question: q})
	}
}

// Post adds a chat line by a on track t of event ev. The caller has
// checked that a may post there (logged in, registered or organizer).
func (c *Chat) Post(ctx context.Context, ev Event, t Track, a Account, body string, replyTo int64) (ChatMessage, error) {
	body, err := CheckChatBody(body)
	if err != nil {
		return ChatMessage{}, err
	}
	if replyTo != 0 {
		to, err := c.Messages.MessageByID(ctx, replyTo)
		if err != nil || to.TrackID != t.ID || to.Hidden {
			return ChatMessage{}, &FieldError{Field: "reply_to", Msg: "is not a message of this track"}
		}
	}
	if err := c.take('m', a.ID); err != nil {
		return ChatMessage{}, err
	}
	m, err := c.Messages.AddMessage(ctx, ChatMessage{TrackID: t.ID, AccountID: a.ID, Author: a.Name, Body: body,
		ReplyTo: replyTo, CreatedAt: c.now().Truncate(time.Millisecond)})
	if err != nil {
		return ChatMessage{}, err
	}
	c.publish(ev, t, &m, nil)
	return m, nil
}

// Ask adds a question by a on track t.
func (c *Chat) Ask(ctx context.Context, ev Event, t Track, a Account, body string) (Question, error) {
	body, err := CheckQuestionBody(body)
	if err != nil {
		return Question{}, err
	}
	if err := c.take('q', a.ID); err != nil {
		return Question{}, err
	}
	q, err := c.Questions.AddQuestion(ctx, Question{TrackID: t.ID, AccountID: a.ID, Author: a.Name, Body: body,
		CreatedAt: c.now().Truncate(time.Millisecond)})
	if err != nil {
		return Question{}, err
	}
	c.publish(ev, t, nil, &q)
	return q, nil
}

// Vote adds or removes a's vote on question id of track t. A hidden or
// answered question takes no new votes.
func (c *Chat) Vote(ctx context.Context, ev Event, t Track, a Account, id int64, up bool) (Question, error) {
	q, err := c.Questions.QuestionByID(ctx, id)
	if err != nil {
		return Question{}, err
	}
	if q.TrackID != t.ID || q.Hidden {
		return Question{}, ErrNotFound
	}
	if up && q.Answered {
		return Question{}, &FieldError{Field: "question", Msg: "was answered already"}
	}
	if err := c.take('v', a.ID); err != nil {
		return Question{}, err
	}
	q, err = c.Questions.Vote(ctx, id, a.ID, up)
	if err != nil {
		return Question{}, err
	}
	c.publish(ev, t, nil, &q)
	return q, nil
}

// HideMessage hides (or shows again) message id of track t: an
// organizer's moderation.
func (c *Chat) HideMessage(ctx context.Context, ev Event, t Track, id int64, hidden bool) (ChatMessage, error) {
	m, err := c.Messages.MessageByID(ctx, id)
	if err != nil {
		return ChatMessage{}, err
	}
	if m.TrackID != t.ID {
		return ChatMessage{}, ErrNotFound
	}
	m, err = c.Messages.SetMessageHidden(ctx, id, hidden)
	if err != nil {
		return ChatMessage{}, err
	}
	c.publish(ev, t, &m, nil)
	return m, nil
}

// SetQuestion marks question id of track t answered and/or hidden.
func (c *Chat) SetQuestion(ctx context.Context, ev Event, t Track, id int64, answered, hidden *bool) (Question, error) {
	q, err := c.Questions.QuestionByID(ctx, id)
	if err != nil {
		return Question{}, err
	}
	if q.TrackID != t.ID {
		return Question{}, ErrNotFound
	}
	q, err = c.Questions.SetQuestionState(ctx, id, answered, hidden)
	if err != nil {
		return Question{}, err
	}
	c.publish(ev, t, nil, &q)
	return q, nil
}
