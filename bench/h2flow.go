package main

import (
	"encoding/binary"
	"net"
	"sync"
	"time"
)

// Browsers and Go's HTTP/2 client give a server its flow-control windows
// back at very different rates. Go's sends a WINDOW_UPDATE for the
// connection and one for the stream every 4 KB its body reader takes, a
// dozen frames per 100-KB part, each a wake-up and a read on the server.
// Chromium (net/spdy) sends one once half of a window is used or, for
// less, when 5 s have passed since its last: with its 15-MB connection
// and 6-MB stream windows, a player of LL-HLS parts sends hardly any.
// nghttp2 (h2load) waits for half a window too. A viewer that is to cost
// the server what a browser's hls.js costs must do the same.

// Thresholds of browserFlow; Go's client opens with a 1-GB connection
// window and 4-MB stream windows.
const (
	browserConnUpdate   = 15 << 20 / 2 // Chromium: half its 15-MB session window
	browserStreamUpdate = 4 << 20 / 2  // half the stream window Go's client declares
	browserUpdateAfter  = 5 * time.Second
	browserHeldStreams  = 256 // streams whose held updates are remembered
)

// browserFlow is the connection under Go's HTTP/2 client in the bench
// (over TLS, below the framer): it passes every frame the client writes
// but holds its WINDOW_UPDATEs back until they add up to what Chromium
// would send. The server never sees a window larger than the client
// grants, only smaller by at most the thresholds above.
type browserFlow struct {
	net.Conn

	mu       sync.Mutex
	preface  int     // bytes of the client preface still to pass
	hdr      [9]byte // the frame header being read
	nhdr     int
	left     int  // payload bytes of the current frame still to come
	collect  bool // the current frame is a WINDOW_UPDATE, collected in wu
	wu       [4]byte
	nwu      int
	streamID uint32
	connHeld uint32            // connection window increments not sent yet
	lastSent time.Time         // of the last connection WINDOW_UPDATE
	held     map[uint32]uint32 // stream window increments not sent yet
	order    []uint32          // streams in held, oldest first
	out      []byte
}

func newBrowserFlow(nc net.Conn) *browserFlow {
	return &browserFlow{Conn: nc, preface: 24, held: map[uint32]uint32{}, lastSent: time.Now()}
}

// Write passes p on, less the WINDOW_UPDATE frames held back; it reports
// all of p written.
func (b *browserFlow) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	out := b.out[:0]
	if k := min(b.preface, len(p)); k > 0 {
		out = append(out, p[:k]...)
		b.preface -= k
		p = p[k:]
	}
	for len(p) > 0 {
		if b.nhdr < 9 {
			k := copy(b.hdr[b.nhdr:], p)
			b.nhdr += k
			p = p[k:]
			if b.nhdr < 9 {
				break
			}
			b.left = int(b.hdr[0])<<16 | int(b.hdr[1])<<8 | int(b.hdr[2])
			b.streamID = binary.BigEndian.Uint32(b.hdr[5:9]) & (1<<31 - 1)
			b.collect = b.hdr[3] == 0x8 && b.left == 4
			b.nwu = 0
			if !b.collect {
				out = append(out, b.hdr[:]...)
			}
		}
		k := min(b.left, len(p))
		if b.collect {
			b.nwu += copy(b.wu[b.nwu:], p[:k])
		} else {
			out = append(out, p[:k]...)
		}
		b.left -= k
		p = p[k:]
		if b.left == 0 {
			if b.collect {
				out = b.hold(out, b.streamID, binary.BigEndian.Uint32(b.wu[:])&(1<<31-1))
			}
			b.nhdr = 0
		}
	}
	b.out = out
	if len(out) == 0 {
		return n, nil
	}
	if _, err := b.Conn.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}

// hold adds a window increment to what is held for the connection (id 0)
// or a stream and appends the WINDOW_UPDATE due, if one is, to out.
func (b *browserFlow) hold(out []byte, id, inc uint32) []byte {
	if id == 0 {
		b.connHeld += inc
		if b.connHeld < browserConnUpdate && time.Since(b.lastSent) < browserUpdateAfter {
			return out
		}
		out = appendWindowUpdate(out, 0, b.connHeld)
		b.connHeld, b.lastSent = 0, time.Now()
		return out
	}
	if _, ok := b.held[id]; !ok {
		b.order = append(b.order, id)
		if len(b.order) > browserHeldStreams {
			// A stream that ended long ago: what it held is not needed.
			delete(b.held, b.order[0])
			b.order = b.order[1:]
		}
	}
	if b.held[id] += inc; b.held[id] < browserStreamUpdate {
		return out
	}
	out = appendWindowUpdate(out, id, b.held[id])
	b.held[id] = 0
	return out
}

func appendWindowUpdate(b []byte, id, inc uint32) []byte {
	b = append(b, 0, 0, 4, 0x8, 0)
	b = binary.BigEndian.AppendUint32(b, id)
	return binary.BigEndian.AppendUint32(b, inc)
}
