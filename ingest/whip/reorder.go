package whip

import (
	"time"

	"github.com/pion/rtp"
)

// reorder puts the RTP packets of one stream back in sequence order and
// says where packets were lost. A packet that arrives in order is passed
// on at once; after a gap the packets behind it wait, at most maxDelay
// (time for a NACK to bring the missing one back) and at most the
// buffer's capacity, and then the gap is given up as lost.
//
// It is owned by the goroutine reading the track.
type reorder struct {
	maxDelay time.Duration
	slots    []reorderSlot // ring indexed by extended sequence number
	mask     int64

	started bool
	next    int64  // extended sequence number of the next packet to emit
	lastSeq uint16 // highest sequence number seen, for unwrapping
	lastExt int64
	held    int // packets waiting in slots

	// counters
	late      uint64 // duplicates and packets behind the emitted ones
	lostCount uint64
}

type reorderSlot struct {
	pkt     *rtp.Packet
	ext     int64
	arrived time.Time
}

// newReorder returns a buffer of capacity packets (a power of two).
func newReorder(capacity int, maxDelay time.Duration) *reorder {
	return &reorder{maxDelay: maxDelay, slots: make([]reorderSlot, capacity), mask: int64(capacity - 1)}
}

// push adds a packet that arrived at now. emit receives the packets that
// are ready, in order; lost(n) is called before a packet that follows n
// lost ones.
func (r *reorder) push(p *rtp.Packet, now time.Time, emit func(*rtp.Packet), lost func(n int)) {
	ext := r.unwrap(p.SequenceNumber)
	if !r.started {
		r.started = true
		r.next = ext
	}
	if ext < r.next {
		r.late++
		return
	}
	// Too far ahead for the ring: give up the oldest gaps until it fits.
	for r.held > 0 && ext-r.next >= int64(len(r.slots)) {
		r.skipGap(emit, lost)
	}
	if n := ext - r.next; n >= int64(len(r.slots)) {
		r.lostCount += uint64(n)
		lost(int(n))
		r.next = ext
	}
	s := &r.slots[ext&r.mask]
	if s.pkt != nil && s.ext == ext {
		r.late++ // duplicate (a retransmission that raced the original)
		return
	}
	*s = reorderSlot{pkt: p, ext: ext, arrived: now}
	r.held++
	r.drain(emit)
	// A gap that has waited long enough is lost: the oldest packet behind
	// it arrived more than maxDelay ago.
	for r.held > 0 && now.Sub(r.oldestArrival()) >= r.maxDelay {
		r.skipGap(emit, lost)
	}
}

// drain emits the packets that follow in order.
func (r *reorder) drain(emit func(*rtp.Packet)) {
	for r.held > 0 {
		s := &r.slots[r.next&r.mask]
		if s.pkt == nil || s.ext != r.next {
			return
		}
		p := s.pkt
		*s = reorderSlot{}
		r.held--
		r.next++
		emit(p)
	}
}

// skipGap declares the packets up to the next held one lost, and emits
// what follows in order. Call it only with packets held.
func (r *reorder) skipGap(emit func(*rtp.Packet), lost func(int)) {
	n := 0
	for {
		s := &r.slots[r.next&r.mask]
		if s.pkt != nil && s.ext == r.next {
			break
		}
		r.next++
		n++
	}
	r.lostCount += uint64(n)
	lost(n)
	r.drain(emit)
}

// oldestArrival returns when the earliest-arrived held packet came.
func (r *reorder) oldestArrival() time.Time {
	var t time.Time
	for i, left := r.next, r.held; left > 0; i++ {
		s := &r.slots[i&r.mask]
		if s.pkt == nil || s.ext != i {
			continue
		}
		left--
		if t.IsZero() || s.arrived.Before(t) {
			t = s.arrived
		}
	}
	return t
}

// unwrap extends a 16-bit sequence number to 64 bits, taking the value
// nearest to the highest one seen.
func (r *reorder) unwrap(seq uint16) int64 {
	if !r.started {
		r.lastSeq, r.lastExt = seq, int64(seq)
		return r.lastExt
	}
	ext := r.lastExt + int64(int16(seq-r.lastSeq))
	if ext > r.lastExt {
		r.lastSeq, r.lastExt = seq, ext
	}
	return ext
}
