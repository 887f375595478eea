package relay

import "sync"

// history keeps the last packets of one track of a stream: the
// retransmission buffer for every viewer's NACKs (one per stream, not a
// copy per viewer) and the source of a new viewer's first GOP.
type history struct {
	mu    sync.RWMutex
	slots []*packet // len is a power of two
	last  uint16    // seq of the newest packet
	count int       // packets held, up to len(slots)
}

func newHistory(size int) *history {
	n := 1
	for n < size {
		n <<= 1
	}
	return &history{slots: make([]*packet, n)}
}

// put stores p, whose seq follows the previous packet's.
func (h *history) put(p *packet) {
	h.mu.Lock()
	h.slots[int(p.seq)&(len(h.slots)-1)] = p
	h.last = p.seq
	if h.count < len(h.slots) {
		h.count++
	}
	h.mu.Unlock()
}

// get returns the packet with seq, or nil when it is no longer held.
func (h *history) get(seq uint16) *packet {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if int(h.last-seq) >= h.count {
		return nil
	}
	p := h.slots[int(seq)&(len(h.slots)-1)]
	if p == nil || p.seq != seq {
		return nil
	}
	return p
}

// since returns the packets from seq to the newest, or nil when seq is no
// longer held.
func (h *history) since(seq uint16) []*packet {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := int(h.last-seq) + 1
	if n > h.count {
		return nil
	}
	out := make([]*packet, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, h.slots[int(seq+uint16(i))&(len(h.slots)-1)])
	}
	return out
}
