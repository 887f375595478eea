package relay

import (
	"sync/atomic"
)

// Stats is a snapshot of the relay's counters, read by /metrics.
type Stats struct {
	Viewers     int64 // WHEP sessions now
	Forwarders  int64 // streams with WebRTC viewers now
	PacketsSent uint64
	BytesSent   uint64 // RTP payload + header bytes handed to SRTP

	// Packets a viewer did not get, by reason: its shard fell behind
	// ("shard_behind"), it waited for a keyframe after that
	// ("wait_keyframe"), or the write failed ("write_error").
	Drops map[string]uint64

	NACKedPackets    uint64 // packets viewers asked again for
	NACKsServed      uint64 // of those, retransmitted from the history
	KeyframeRequests uint64 // PLI/FIR received from viewers
	SenderReports    uint64
	// Resumed counts viewers that went on with their track's next
	// stream in the same session (the publisher reconnected).
	Resumed uint64

	TranscodersRunning  int64
	TranscoderStarts    uint64
	TranscoderFailures  uint64
	TranscoderCPU       float64 // seconds, transcoders running now and past ones
	AudioWithoutOpus    uint64  // viewers sent video only because AAC could not become Opus
	AudioWithoutOpusWhy string  // why ("" while it never happened)

	RefusedBFrames uint64 // WHEP offers refused with ErrBFrames

	// Re-encodes of B-frame video for WebRTC (Relay.ReencodeBFrames).
	VideoTranscodersRunning int64
	VideoTranscoderFailures uint64
	VideoTranscoderCPU      float64 // seconds, running and past ones

	Loss Histogram // fraction lost per receiver report
	RTT  Histogram // seconds, per receiver report
}

// Histogram is a cumulative histogram snapshot.
type Histogram struct {
	Bounds []float64 // upper bounds
	Counts []uint64  // cumulative, len(Bounds)
	Count  uint64
	Sum    float64
}

// histogram collects observations with atomics.
type histogram struct {
	bounds []float64
	counts []atomic.Uint64 // per bucket (not cumulative); last is +Inf
	sumE6  atomic.Uint64   // sum in millionths
}

func newHistogram(bounds ...float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	if v > 0 {
		h.sumE6.Add(uint64(v * 1e6))
	}
}

func (h *histogram) snapshot() Histogram {
	s := Histogram{Bounds: h.bounds, Counts: make([]uint64, len(h.bounds))}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if i < len(h.bounds) {
			s.Counts[i] = cum
		}
	}
	s.Count = cum
	s.Sum = float64(h.sumE6.Load()) / 1e6
	return s
}

// counters are the relay's live counters.
type counters struct {
	viewers, forwarders                  atomic.Int64
	packets, bytes                       atomic.Uint64
	dropShard, dropWaitKey, dropWrite    atomic.Uint64
	nacked, nackServed, keyframeRequests atomic.Uint64
	senderReports                        atomic.Uint64
	resumed                              atomic.Uint64
	transcoders                          atomic.Int64
	transcoderStarts, transcoderFailures atomic.Uint64
	transcoderCPUPastE6                  atomic.Uint64
	audioWithoutOpus                     atomic.Uint64
	audioWithoutOpusWhy                  atomic.Pointer[string]
	refusedBFrames                       atomic.Uint64
	videoTranscoders                     atomic.Int64
	videoTranscoderFailures              atomic.Uint64
	videoTranscoderCPUPastE6             atomic.Uint64
	loss, rtt                            *histogram
}

func newCounters() *counters {
	return &counters{
		loss: newHistogram(0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
		rtt:  newHistogram(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
	}
}
