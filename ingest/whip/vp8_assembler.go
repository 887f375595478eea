package whip

import (
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// vp8Assembler rebuilds VP8 frames from RTP packets in sequence order
// (RFC 7741). pion's codecs.VP8Packet parses the payload descriptor; a
// frame starts at the first partition's start (S=1, PID=0) and ends at
// the marker bit or the next timestamp.
type vp8Assembler struct {
	desc codecs.VP8Packet
	buf  []byte
	ts   uint32
	open bool // a packet of the frame has been seen
	head bool // the frame's first packet has been seen
	bad  bool
}

// push adds the next packet in sequence order; emit receives each frame
// that ends.
func (a *vp8Assembler) push(p *rtp.Packet, emit func(frame)) {
	if a.open && p.Timestamp != a.ts {
		bad := a.bad
		a.flush(emit)
		a.bad = bad
	}
	if len(p.Payload) == 0 {
		return // padding
	}
	if !a.open {
		a.open, a.ts = true, p.Timestamp
	}
	pl, err := a.desc.Unmarshal(p.Payload)
	switch {
	case err != nil:
		a.bad = true
	case a.desc.S == 1 && a.desc.PID == 0:
		if a.head || len(a.buf) > 0 {
			a.bad = true
			a.buf = a.buf[:0]
		}
		a.head = true
		a.buf = append(a.buf, pl...)
	case !a.head:
		a.bad = true // the frame's start is missing
	case len(a.buf)+len(pl) > maxAccessUnitSize:
		a.bad = true
	default:
		a.buf = append(a.buf, pl...)
	}
	if p.Marker {
		a.flush(emit)
	}
}

// lost says packets were lost before the next one pushed.
func (a *vp8Assembler) lost() { a.bad = true }

func (a *vp8Assembler) flush(emit func(frame)) {
	f := frame{ts: a.ts, ok: !a.bad && a.head && len(a.buf) > 0}
	if f.ok {
		f.data = make([]byte, len(a.buf))
		copy(f.data, a.buf)
	}
	a.buf = a.buf[:0]
	a.open, a.head, a.bad = false, false, false
	emit(f)
}

// vp8KeyFrame reports whether a VP8 frame is a keyframe, and its size
// (RFC 6386 9.1: the frame tag's inverted key bit, then a start code and
// two 14-bit dimensions).
func vp8KeyFrame(f []byte) (key bool, width, height int) {
	if len(f) < 10 || f[0]&1 != 0 {
		return false, 0, 0
	}
	if f[3] != 0x9d || f[4] != 0x01 || f[5] != 0x2a {
		return false, 0, 0
	}
	width = int(uint16(f[6])|uint16(f[7])<<8) & 0x3fff
	height = int(uint16(f[8])|uint16(f[9])<<8) & 0x3fff
	return true, width, height
}
