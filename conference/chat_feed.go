package conference

import "sync"

// ChatEvent is a chat message or a question as it changed: posted,
// hidden, voted or answered. Track is the track's slug.
type ChatEvent struct {
	EventID  int64
	Track    string
	Message  *ChatMessage
	Question *Question
}

// ChatFeed fans chat events out to subscribers (the live channel) without
// blocking the poster: a subscriber whose buffer is full loses the event.
type ChatFeed struct {
	mu   sync.Mutex
	subs map[chan ChatEvent]struct{}
}

// Subscribe returns a channel of the events published from now on and a
// function ending the subscription (it closes the channel).
func (f *ChatFeed) Subscribe(buffer int) (<-chan ChatEvent, func()) {
	ch := make(chan ChatEvent, max(buffer, 1))
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[chan ChatEvent]struct{}{}
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, ch)
			f.mu.Unlock()
			close(ch)
		})
	}
}

// Publish hands e to every subscriber that has room for it.
func (f *ChatFeed) Publish(e ChatEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- e:
		default:
		}
	}
}
