package recorder

import "sync/atomic"

// Metrics counts what the recorder does; read them with Recorder.Stats.
type Metrics struct {
	segments    atomic.Uint64
	bytes       atomic.Uint64
	dropped     atomic.Uint64
	writeErrors atomic.Uint64
	stops       atomic.Uint64
	evicted     atomic.Uint64
	expired     atomic.Uint64
	writeNanos  atomic.Uint64
	ends        atomic.Uint64 // publishes ended, for tests
	optedOut    atomic.Uint64
}

// Stats is a snapshot of the recorder's state and counters.
type Stats struct {
	Segments uint64 `json:"segments"` // written
	Bytes    uint64 `json:"bytes"`    // of segments written
	// Dropped counts segments not recorded: a queue that was full, no
	// room, or a write error.
	Dropped     uint64 `json:"dropped"`
	WriteErrors uint64 `json:"write_errors"`
	// OptedOut counts segments not written because the talk on air has
	// do_not_record.
	OptedOut uint64 `json:"opted_out"`
	// Full is true while recording is stopped for want of space; Stops
	// counts how often that began.
	Full  bool   `json:"full"`
	Stops uint64 `json:"stops"`
	// Evicted and Expired count publishes deleted for the budget and for
	// the retention.
	Evicted uint64 `json:"evicted"`
	Expired uint64 `json:"expired"`
	// UsageBytes is what the recordings take on disk now.
	UsageBytes int64 `json:"usage_bytes"`
	// WriteSeconds is the time the writers spent writing segments.
	WriteSeconds float64 `json:"write_seconds"`
}

// Stats returns the current state.
func (r *Recorder) Stats() Stats {
	m := &r.metrics
	r.mu.Lock()
	usage := r.usage
	r.mu.Unlock()
	return Stats{
		Segments:     m.segments.Load(),
		Bytes:        m.bytes.Load(),
		Dropped:      m.dropped.Load(),
		WriteErrors:  m.writeErrors.Load(),
		OptedOut:     m.optedOut.Load(),
		Full:         r.full.Load(),
		Stops:        m.stops.Load(),
		Evicted:      m.evicted.Load(),
		Expired:      m.expired.Load(),
		UsageBytes:   usage,
		WriteSeconds: float64(m.writeNanos.Load()) / 1e9,
	}
}
