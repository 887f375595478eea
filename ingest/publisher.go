package ingest

import (
	"errors"
	"sync/atomic"
	"time"
)

// ErrReconfigured ends a stream whose publisher changed codec parameters;
// a new stream with the new parameters follows at once.
var ErrReconfigured = errors.New("codec parameters changed")

// Publisher is the holder of a track, from Hub.Claim to Close. Its methods
// are called from one goroutine, the publisher's.
type Publisher struct {
	hub    *Hub
	track  string
	source string
	since  time.Time
	cur    *Stream
	closed bool
	kick   func()
	active atomic.Int64 // unix nanoseconds of the last unit received
}

// Track returns the claimed track.
func (p *Publisher) Track() string { return p.track }

// Start begins a stream with the given media. A stream that was running is
// ended with ErrReconfigured first.
func (p *Publisher) Start(media Media) *Stream {
	if p.cur != nil {
		p.cur.end(ErrReconfigured)
	}
	return p.hub.startStream(p, media)
}

// Stream returns the current stream, or nil before Start.
func (p *Publisher) Stream() *Stream { return p.cur }

// Close ends the current stream with reason and releases the track.
func (p *Publisher) Close(reason error) {
	if p.closed {
		return
	}
	p.closed = true
	if p.cur != nil {
		p.cur.end(reason)
	}
	p.hub.release(p)
}
