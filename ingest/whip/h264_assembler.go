package whip

import (
	"encoding/binary"

	"github.com/pion/rtp"
)

// Limits of one access unit; a publisher past them loses the picture,
// never the server's memory. A 4K keyframe at a high bitrate is about
// 1-2 MB.
const (
	maxAccessUnitSize  = 8 << 20
	maxAccessUnitNALUs = 1024
)

// RTP payload types of RFC 6184 that packetization mode 1 uses.
const (
	naluSTAPA = 24
	naluFUA   = 28
)

// h264Assembler rebuilds H.264 access units from the payloads of RTP
// packets in sequence order (RFC 6184, packetization mode 1: single NAL
// unit packets, STAP-A and FU-A). An access unit ends at its marker bit,
// or when a packet with another timestamp starts the next one.
//
// It is written here rather than taken from pion's codecs.H264Packet
// because that one ignores the FU-A start bit (a lost first fragment
// glues two NAL units together) and has no size bound, and the assembler
// must know which pictures came through whole.
type h264Assembler struct {
	buf  []byte // NAL units of the access unit being built, back to back
	ends []int  // end offset in buf of each complete NAL unit
	fu   int    // start offset in buf of the FU-A NAL unit being built, -1 if none
	ts   uint32 // timestamp of the access unit being built
	open bool   // a packet of the access unit has been seen
	bad  bool   // part of the access unit is lost or malformed
}

// frame is an assembled access unit (H.264) or frame (VP8). Its slices
// are freshly allocated and owned by the receiver.
type frame struct {
	ts    uint32
	nalus [][]byte // H.264
	data  []byte   // VP8
	ok    bool     // false: damaged, to be dropped
}

func newH264Assembler() *h264Assembler { return &h264Assembler{fu: -1} }

// push adds the next packet in sequence order; emit receives each access
// unit that ends.
func (a *h264Assembler) push(p *rtp.Packet, emit func(frame)) {
	if a.open && p.Timestamp != a.ts {
		// The marker was lost or never set. If packets were lost, the
		// start of this access unit may have gone with them.
		bad := a.bad
		a.flush(emit)
		a.bad = bad
	}
	if !a.open {
		a.open, a.ts = true, p.Timestamp
	}
	a.parse(p.Payload)
	if p.Marker {
		a.flush(emit)
	}
}

// lost says packets were lost before the next one pushed. The access unit
// being built is damaged; if none was, the lost packets may have been the
// start of the next one, so that one is taken as damaged too.
func (a *h264Assembler) lost() { a.bad = true }

func (a *h264Assembler) parse(pl []byte) {
	if len(pl) == 0 {
		return // padding-only packets carry no payload
	}
	typ := pl[0] & 0x1f
	if typ != naluFUA && a.fu >= 0 {
		// the end of the fragmented NAL unit is missing
		a.bad = true
		a.buf = a.buf[:a.fu]
		a.fu = -1
	}
	switch {
	case typ >= 1 && typ <= 23:
		a.appendNALU(pl)
	case typ == naluSTAPA:
		b := pl[1:]
		for len(b) > 0 {
			if len(b) < 2 {
				a.bad = true
				return
			}
			n := int(binary.BigEndian.Uint16(b))
			b = b[2:]
			if n == 0 || n > len(b) {
				a.bad = true
				return
			}
			a.appendNALU(b[:n])
			b = b[n:]
		}
	case typ == naluFUA:
		if len(pl) < 3 {
			a.bad = true
			return
		}
		start, end := pl[1]&0x80 != 0, pl[1]&0x40 != 0
		switch {
		case start:
			if a.fu >= 0 { // the previous one never ended
				a.bad = true
				a.buf = a.buf[:a.fu]
			}
			if !a.room(1 + len(pl) - 2) {
				return
			}
			a.fu = len(a.buf)
			a.buf = append(a.buf, pl[0]&0xe0|pl[1]&0x1f)
			a.buf = append(a.buf, pl[2:]...)
		case a.fu < 0:
			a.bad = true // a middle or end fragment without its start
			return
		default:
			if !a.room(len(pl) - 2) {
				return
			}
			a.buf = append(a.buf, pl[2:]...)
		}
		if end && a.fu >= 0 {
			a.endNALU()
			a.fu = -1
		}
	default:
		// 0, 30, 31 are undefined; STAP-B, MTAP and FU-B belong to
		// interleaved mode, which was not negotiated.
		a.bad = true
	}
}

// room reports whether n more bytes fit in the access unit, and marks it
// damaged when they do not.
func (a *h264Assembler) room(n int) bool {
	if len(a.buf)+n > maxAccessUnitSize || len(a.ends) >= maxAccessUnitNALUs {
		a.bad = true
		if a.fu >= 0 {
			a.buf = a.buf[:a.fu]
			a.fu = -1
		}
		return false
	}
	return true
}

func (a *h264Assembler) appendNALU(n []byte) {
	if !a.room(len(n)) {
		return
	}
	a.buf = append(a.buf, n...)
	a.endNALU()
}

func (a *h264Assembler) endNALU() { a.ends = append(a.ends, len(a.buf)) }

// flush ends the access unit being built.
func (a *h264Assembler) flush(emit func(frame)) {
	if a.fu >= 0 {
		a.bad = true
		a.buf = a.buf[:a.fu]
		a.fu = -1
	}
	if !a.bad && len(a.ends) == 0 {
		// only padding (bandwidth probes) had this timestamp
		a.buf, a.open = a.buf[:0], false
		return
	}
	f := frame{ts: a.ts, ok: !a.bad}
	if f.ok {
		// One allocation for the whole picture: the hub's readers keep it
		// while the packet buffers go back.
		data := make([]byte, len(a.buf))
		copy(data, a.buf)
		f.nalus = make([][]byte, len(a.ends))
		start := 0
		for i, end := range a.ends {
			f.nalus[i] = data[start:end:end]
			start = end
		}
	}
	a.buf, a.ends = a.buf[:0], a.ends[:0]
	a.open, a.bad = false, false
	emit(f)
}
