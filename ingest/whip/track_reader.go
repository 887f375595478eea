package whip

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
)

// trackReader turns one track's packets, in order, into hub units.
type trackReader interface {
	kind() ingest.Kind
	// packet takes the next packet in sequence order, received at now.
	packet(p *rtp.Packet, now time.Time)
	// lost says n packets before the next one are lost for good.
	lost(n int)
}

// reorderCapacity is the reorder buffer of a track in packets: 250 ms of
// an 8 Mbit/s video stream (1200-byte packets) fits in it.
const reorderCapacity = 512

// readRTP reads a track until the session closes.
func (s *Session) readRTP(tr *webrtc.TrackRemote, r trackReader) {
	maxDelay := s.srv.AudioMaxDelay
	if r.kind() == ingest.KindVideo {
		maxDelay = s.srv.VideoMaxDelay
	}
	ro := newReorder(reorderCapacity, maxDelay)
	buf := make([]byte, 1500)
	var now time.Time
	emit := func(p *rtp.Packet) { r.packet(p, now) }
	var lostSince, lateSince uint64
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return // the PeerConnection is closed
		}
		now = time.Now()
		s.lastPacket.Store(now.UnixNano())
		s.bytes.Add(uint64(n))
		s.srv.stats.packets.Add(1)
		s.srv.stats.bytes.Add(uint64(n))
		// Packets held for reordering keep their own copy; the read
		// buffer is reused.
		data := make([]byte, n)
		copy(data, buf[:n])
		p := &rtp.Packet{}
		if err := p.Unmarshal(data); err != nil {
			continue
		}
		ro.push(p, now, emit, r.lost)
		if ro.lostCount != lostSince {
			s.srv.stats.lost.Add(ro.lostCount - lostSince)
			lostSince = ro.lostCount
		}
		if ro.late != lateSince {
			s.srv.stats.late.Add(ro.late - lateSince)
			lateSince = ro.late
		}
	}
}
