package whip

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// packetize splits an access unit into RTP packets the way pion's
// payloader (what a pion publisher uses) does: STAP-A for small NAL
// units, FU-A for large ones.
func packetize(t testing.TB, ts uint32, seq *uint16, mtu uint16, nalus ...[]byte) []*rtp.Packet {
	t.Helper()
	var annexB []byte
	for _, n := range nalus {
		annexB = append(annexB, 0, 0, 0, 1)
		annexB = append(annexB, n...)
	}
	pl := &codecs.H264Payloader{}
	payloads := pl.Payload(mtu, annexB)
	var out []*rtp.Packet
	for i, p := range payloads {
		out = append(out, &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: *seq, Timestamp: ts, Marker: i == len(payloads)-1},
			Payload: p,
		})
		*seq++
	}
	return out
}

func nalu(typ byte, size int) []byte {
	b := make([]byte, size)
	b[0] = 0x60 | typ
	for i := 1; i < size; i++ {
		b[i] = byte(i*7 + int(typ))
	}
	return b
}

func collect(a interface {
	push(*rtp.Packet, func(frame))
}, pkts []*rtp.Packet) []frame {
	var out []frame
	for _, p := range pkts {
		a.push(p, func(f frame) { out = append(out, f) })
	}
	return out
}

func TestH264AssemblerWholePictures(t *testing.T) {
	var seq uint16
	sps, pps, idr := nalu(7, 12), nalu(8, 4), nalu(5, 5000)
	slice1, slice2 := nalu(1, 900), nalu(1, 1300)
	pkts := packetize(t, 3000, &seq, 1200, sps, pps, idr)
	pkts = append(pkts, packetize(t, 6000, &seq, 1200, slice1, slice2)...)
	got := collect(newH264Assembler(), pkts)
	if len(got) != 2 || !got[0].ok || !got[1].ok {
		t.Fatalf("got %d frames: %+v", len(got), got)
	}
	want := [][][]byte{{sps, pps, idr}, {slice1, slice2}}
	for i, f := range got {
		if len(f.nalus) != len(want[i]) {
			t.Fatalf("frame %d: %d NAL units, want %d", i, len(f.nalus), len(want[i]))
		}
		for j := range f.nalus {
			if !bytes.Equal(f.nalus[j], want[i][j]) {
				t.Fatalf("frame %d NAL unit %d differs", i, j)
			}
		}
	}
	if got[0].ts != 3000 || got[1].ts != 6000 {
		t.Fatalf("timestamps %d %d", got[0].ts, got[1].ts)
	}
}

func TestH264AssemblerDamage(t *testing.T) {
	mk := func() []*rtp.Packet {
		var seq uint16
		pkts := packetize(t, 3000, &seq, 1200, nalu(7, 12), nalu(8, 4), nalu(5, 5000))
		return append(pkts, packetize(t, 6000, &seq, 1200, nalu(1, 900))...)
	}
	for _, tc := range []struct {
		name string
		edit func([]*rtp.Packet) []*rtp.Packet
		lose int // index of a packet reported lost (-1: none)
		want []bool
	}{
		{"middle fragment lost", func(p []*rtp.Packet) []*rtp.Packet { return append(p[:2:2], p[3:]...) }, 2, []bool{false, true}},
		{"first fragment lost", func(p []*rtp.Packet) []*rtp.Packet { return append(p[:1:1], p[2:]...) }, 1, []bool{false, true}},
		// the STAP-A with SPS/PPS lost: the IDR looks whole but is damaged
		{"parameter sets lost", func(p []*rtp.Packet) []*rtp.Packet { return p[1:] }, 0, []bool{false, true}},
		// with the marker gone, nothing says the loss did not reach into
		// the next picture
		{"last fragment lost", func(p []*rtp.Packet) []*rtp.Packet { return append(p[:5:5], p[6:]...) }, 5, []bool{false, false}},
		{"marker missing", func(p []*rtp.Packet) []*rtp.Packet { p[5].Marker = false; return p }, -1, []bool{true, true}},
		{"interleaved mode packet", func(p []*rtp.Packet) []*rtp.Packet { p[6].Payload = []byte{26, 1, 2}; return p }, -1, []bool{true, false}},
		{"STAP-A overrun", func(p []*rtp.Packet) []*rtp.Packet { p[0].Payload[2] = 0xff; return p }, -1, []bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkts := mk()
			if len(pkts) != 7 {
				t.Fatalf("%d packets; the test expects STAP-A, 5 FU-A, 1 single", len(pkts))
			}
			lostSeq, losing := uint16(0), tc.lose >= 0
			if losing {
				lostSeq = pkts[tc.lose].SequenceNumber
			}
			pkts = tc.edit(pkts)
			a := newH264Assembler()
			var got []frame
			for _, p := range pkts {
				if losing && p.SequenceNumber == lostSeq+1 {
					a.lost()
				}
				a.push(p, func(f frame) { got = append(got, f) })
			}
			var ok []bool
			for _, f := range got {
				ok = append(ok, f.ok)
			}
			if len(ok) != len(tc.want) {
				t.Fatalf("frames ok %v, want %v", ok, tc.want)
			}
			for i := range ok {
				if ok[i] != tc.want[i] {
					t.Fatalf("frames ok %v, want %v", ok, tc.want)
				}
			}
		})
	}
}

func TestH264AssemblerSizeLimit(t *testing.T) {
	var seq uint16
	big := nalu(5, maxAccessUnitSize+10)
	got := collect(newH264Assembler(), packetize(t, 0, &seq, 1200, big))
	if len(got) != 1 || got[0].ok {
		t.Fatalf("oversized picture passed: %d frames", len(got))
	}
	// the next picture is fine again
	got = collect(newH264Assembler(), packetize(t, 3000, &seq, 1200, nalu(1, 100)))
	if len(got) != 1 || !got[0].ok {
		t.Fatal("picture after an oversized one lost")
	}
}

func TestH264AssemblerIgnoresPadding(t *testing.T) {
	a := newH264Assembler()
	var got []frame
	emit := func(f frame) { got = append(got, f) }
	a.push(&rtp.Packet{Header: rtp.Header{Timestamp: 1, Marker: true}, Payload: nalu(1, 10)}, emit)
	a.push(&rtp.Packet{Header: rtp.Header{Timestamp: 1}}, emit) // padding, same timestamp
	a.push(&rtp.Packet{Header: rtp.Header{Timestamp: 2, Marker: true}, Payload: nalu(1, 10)}, emit)
	if len(got) != 2 || !got[0].ok || !got[1].ok {
		t.Fatalf("got %+v", got)
	}
}

// FuzzAssemblers feeds arbitrary RTP payloads, split into packets, to the
// H.264 and VP8 assemblers: they never panic, never build a picture past
// the size limit, and a picture they pass holds non-empty NAL units.
func FuzzAssemblers(f *testing.F) {
	var seq uint16
	var seed []byte
	for _, p := range packetize(f, 0, &seq, 200, nalu(7, 12), nalu(8, 4), nalu(5, 700)) {
		seed = append(seed, byte(len(p.Payload)>>8), byte(len(p.Payload)))
		seed = append(seed, p.Payload...)
	}
	f.Add(seed, uint8(0))
	f.Add([]byte{0, 3, 0x7c, 0x85, 1, 0, 3, 0x7c, 0x45, 2}, uint8(1)) // FU-A start and end
	f.Add([]byte{0, 4, 0x90, 0x80, 0x01, 0x10, 0, 2, 0x10, 0}, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, flags uint8) {
		h, v := newH264Assembler(), &vp8Assembler{}
		check := func(fr frame) {
			size := len(fr.data)
			for _, n := range fr.nalus {
				if len(n) == 0 {
					t.Fatal("empty NAL unit passed")
				}
				size += len(n)
			}
			if size > maxAccessUnitSize {
				t.Fatalf("picture of %d bytes", size)
			}
		}
		ts := uint32(0)
		for i := 0; len(b) >= 2; i++ {
			n := int(b[0])<<8 | int(b[1])
			b = b[2:]
			n = min(n, len(b))
			pl := b[:n]
			b = b[n:]
			if flags&1 != 0 && i%3 == 2 {
				h.lost()
				v.lost()
			}
			if flags&2 != 0 && i%4 == 3 {
				ts += 3000
			}
			p := &rtp.Packet{Header: rtp.Header{Timestamp: ts, Marker: len(b) == 0 || i%5 == 4}, Payload: pl}
			h.push(p, check)
			v.push(p, check)
		}
	})
}
