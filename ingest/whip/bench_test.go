package whip

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkVideoPath measures the per-packet work of a WHIP publisher's
// video before the hub: the reorder buffer and H.264 assembly of a
// 720p30 stream at about 2.5 Mbit/s (a 60 KB keyframe, then 10 KB
// pictures, 1200-byte packets), one op per packet.
func BenchmarkVideoPath(b *testing.B) {
	var seq uint16
	var pkts []*rtp.Packet
	for i := range 30 {
		size := 10_000
		typ := byte(1)
		nalus := [][]byte{}
		if i == 0 {
			size, typ = 60_000, 5
			nalus = append(nalus, nalu(7, 12), nalu(8, 4))
		}
		nalus = append(nalus, nalu(typ, size))
		pkts = append(pkts, packetize(b, uint32(i*3000), &seq, 1200, nalus...)...)
	}
	ro := newReorder(reorderCapacity, 250*time.Millisecond)
	asm := newH264Assembler()
	frames := 0
	emitFrame := func(f frame) { frames++ }
	emit := func(p *rtp.Packet) { asm.push(p, emitFrame) }
	lost := func(int) { asm.lost() }
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p := *pkts[i%len(pkts)]
		// Sequence numbers and timestamps run on across loops of the GOP.
		loop := uint16(i / len(pkts))
		p.SequenceNumber += loop * uint16(len(pkts))
		p.Timestamp += uint32(loop) * 90000
		ro.push(&p, now, emit, lost)
	}
	b.StopTimer()
	if (b.N > len(pkts) && frames == 0) || ro.lostCount != 0 {
		b.Fatalf("%d frames, %d lost", frames, ro.lostCount)
	}
	b.ReportMetric(float64(len(pkts)), "packets/s-of-stream")
}
