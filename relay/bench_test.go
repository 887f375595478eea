package relay

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// discardWriter stands for pion's SRTP writer.
type discardWriter struct{ n int }

func (w *discardWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.n += len(payload)
	return h.MarshalSize() + len(payload), nil
}
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkFanout measures kast's own per-viewer work for one access unit
// of 10 packets written to 100 viewers by a shard: sequence/timestamp
// rewriting and the call into the writer (SRTP and the send excluded).
func BenchmarkFanout(b *testing.B) {
	r := &Relay{stats: newCounters()}
	sh := &shard{relay: r, viewers: map[*forwarder][]*Viewer{}}
	f := &forwarder{}
	const viewers, perAU = 100, 10
	for range viewers {
		v := &Viewer{relay: r, video: &downTrack{writer: &discardWriter{}}}
		sh.viewers[f] = append(sh.viewers[f], v)
	}
	pkts := make([]*packet, perAU)
	for i := range pkts {
		pkts[i] = &packet{seq: uint16(i), ts: 1, payload: make([]byte, 1100)}
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for _, p := range pkts {
			p.seq += perAU
		}
		for _, v := range sh.viewers[f] {
			sh.writeTo(v, v.video, pkts, true, now)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*viewers*perAU), "ns/packet/viewer")
}
