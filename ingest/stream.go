package ingest

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stream is one publishing session of a track with fixed codec parameters.
type Stream struct {
	ID      uint64
	Track   string
	Source  string
	Media   Media
	Started time.Time

	hub     *Hub
	pub     *Publisher
	mu      sync.Mutex // guards readers updates and ended
	readers atomic.Pointer[[]*Reader]
	ended   bool
	err     error
	done    chan struct{}

	keyframeFunc atomic.Pointer[func()] // see SetKeyframeRequester
	keyframeAt   atomic.Int64           // unix nanoseconds of the last request passed on
}

// DefaultReaderBuffer is the number of units a reader may fall behind by
// before it loses units: about 10 s of 30 fps video with its audio.
const DefaultReaderBuffer = 1024

// Subscribe adds a reader with room for buffer units (DefaultReaderBuffer
// when buffer <= 0). The reader's channel closes when the stream ends. The
// first unit a reader gets is a key unit when the stream has video.
func (s *Stream) Subscribe(buffer int) *Reader {
	if buffer <= 0 {
		buffer = DefaultReaderBuffer
	}
	r := &Reader{
		stream:  s,
		ch:      make(chan *Unit, buffer),
		waitKey: s.Media.Video != nil,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		close(r.ch)
		return r
	}
	var next []*Reader
	if cur := s.readers.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, r)
	s.readers.Store(&next)
	s.hub.readersLive.Add(1)
	return r
}

func (s *Stream) unsubscribe(r *Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.readers.Load()
	if cur == nil {
		return
	}
	next := make([]*Reader, 0, len(*cur))
	for _, x := range *cur {
		if x != r {
			next = append(next, x)
		}
	}
	if len(next) < len(*cur) {
		s.hub.readersLive.Add(-1)
	}
	s.readers.Store(&next)
}

// Write hands u to every reader without blocking. Only the publisher calls
// Write, from one goroutine.
func (s *Stream) Write(u *Unit) {
	if s.pub != nil {
		s.pub.active.Store(u.Received.UnixNano())
	}
	s.hub.unitsIn.Add(1)
	s.hub.bytesIn.Add(uint64(u.Size()))
	rs := s.readers.Load()
	if rs == nil {
		return
	}
	for _, r := range *rs {
		r.offer(u)
	}
}

// Done is closed when the stream ends.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err returns why the stream ended, or nil while it runs.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Stream) end(reason error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.err = reason
	rs := s.readers.Load()
	s.readers.Store(nil)
	s.mu.Unlock()
	if rs != nil {
		for _, r := range *rs {
			close(r.ch)
		}
		s.hub.readersLive.Add(-int64(len(*rs)))
	}
	close(s.done)
}
