package ingest

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrTrackBusy is returned by Hub.Claim when someone already publishes the track.
var ErrTrackBusy = errors.New("someone is already publishing this track")

// Hub knows the live tracks. There is at most one Publisher per track.
type Hub struct {
	mu         sync.Mutex
	publishers map[string]*Publisher
	handlers   []func(*Stream)
	nextID     uint64

	// counters read by the metrics collector
	publishersLive atomic.Int64
	readersLive    atomic.Int64
	unitsIn        atomic.Uint64
	bytesIn        atomic.Uint64
	readerDrops    atomic.Uint64
}

// HubStats is a snapshot of the hub's counters.
type HubStats struct {
	Publishers  int64
	Readers     int64
	Units       uint64
	Bytes       uint64
	ReaderDrops uint64
}

// OnStream registers f to be called, synchronously and before any unit is
// written, every time a stream starts. f typically subscribes a reader.
// Register handlers before publishers connect.
func (h *Hub) OnStream(f func(*Stream)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handlers = append(h.handlers, f)
}

// Claim makes source the publisher of track. It fails with ErrTrackBusy
// when the track already has a publisher that sent media in the last
// StaleAfter; a staler one is disconnected with its kick function. kick
// may be nil, and must not block.
func (h *Hub) Claim(track, source string, kick func()) (*Publisher, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.publishers == nil {
		h.publishers = make(map[string]*Publisher)
	}
	p := &Publisher{hub: h, track: track, source: source, since: time.Now(), kick: kick}
	p.active.Store(p.since.UnixNano())
	if old, ok := h.publishers[track]; ok {
		// A publisher silent for a while is most likely a dropped
		// connection that has not timed out yet: let the reconnecting
		// encoder take over instead of refusing it until then.
		if old.kick == nil || time.Since(time.Unix(0, old.active.Load())) < StaleAfter {
			return nil, ErrTrackBusy
		}
		old.kick()
		h.publishers[track] = p
		return p, nil
	}
	h.publishers[track] = p
	h.publishersLive.Add(1)
	return p, nil
}

// StaleAfter is how long a publisher may send nothing before another one
// with the same track may take over.
const StaleAfter = 3 * time.Second

// Live returns the current stream of track, or nil.
func (h *Hub) Live(track string) *Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.publishers[track]; p != nil {
		return p.cur
	}
	return nil
}

// Disconnect drops the publisher of track with its protocol's kick
// function (its connection is closed; its stream ends as the publisher
// notices). It reports whether there was a publisher to drop. Used when
// the track's stream key is rotated or the track is deleted.
func (h *Hub) Disconnect(track string) bool {
	h.mu.Lock()
	p := h.publishers[track]
	h.mu.Unlock()
	if p == nil || p.kick == nil {
		return false
	}
	p.kick()
	return true
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	return HubStats{
		Publishers:  h.publishersLive.Load(),
		Readers:     h.readersLive.Load(),
		Units:       h.unitsIn.Load(),
		Bytes:       h.bytesIn.Load(),
		ReaderDrops: h.readerDrops.Load(),
	}
}

func (h *Hub) startStream(p *Publisher, media Media) *Stream {
	h.mu.Lock()
	h.nextID++
	s := &Stream{
		ID:      h.nextID,
		Track:   p.track,
		Source:  p.source,
		Media:   media,
		Started: time.Now(),
		hub:     h,
		pub:     p,
		done:    make(chan struct{}),
	}
	p.cur = s
	handlers := h.handlers
	h.mu.Unlock()

	for _, f := range handlers {
		f(s)
	}
	return s
}

func (h *Hub) release(p *Publisher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.publishers[p.track] == p {
		delete(h.publishers, p.track)
		h.publishersLive.Add(-1)
	}
}
