package relay

import (
	"net/netip"
	"time"

	"github.com/pion/rtcp"
)

// shard is one sender goroutine and the viewers it serves. Forwarders
// hand it each access unit's packets once; it writes them to each of its
// viewers of that stream. Shards share nothing, so the writes of
// different shards run on different cores.
type shard struct {
	relay *Relay
	ch    chan shardMsg // packets, bounded: a full queue drops
	ctrl  chan shardMsg // adds and removes, served first: a new viewer gets its GOP at once
	stop  chan struct{}
	done  chan struct{}

	// owned by the goroutine
	viewers map[*forwarder][]*Viewer
}

type shardOp uint8

const (
	opPackets shardOp = iota
	opAdd
	opRemove
)

type shardMsg struct {
	op     shardOp
	fwd    *forwarder
	v      *Viewer
	video  bool
	resync bool      // the shard lost packets of this stream before these
	pkts   []*packet // opPackets; opAdd: the current GOP so far
	at     int64     // opPackets: unix ns when queued
	// opRemove: closed once the viewer is off the shard
	detached chan struct{}
}

// maxShardLag is how late a shard may write an access unit: past it (the
// machine is overloaded) the unit is dropped and the shard's viewers of
// the stream resume at the next keyframe, so that latency stays bounded
// instead of growing with the queue.
const maxShardLag = 400 * time.Millisecond

func newShard(r *Relay, queue int) *shard {
	s := &shard{relay: r, ch: make(chan shardMsg, queue), ctrl: make(chan shardMsg, 64), stop: make(chan struct{}),
		done: make(chan struct{}), viewers: map[*forwarder][]*Viewer{}}
	go s.run()
	return s
}

func (s *shard) run() {
	defer close(s.done)
	for {
		var m shardMsg
		select {
		case m = <-s.ctrl:
		default:
			select {
			case m = <-s.ctrl:
			case m = <-s.ch:
			case <-s.stop:
				return
			}
		}
		s.handle(m)
	}
}

func (s *shard) handle(m shardMsg) {
	switch m.op {
	case opAdd:
		s.viewers[m.fwd] = append(s.viewers[m.fwd], m.v)
		// A viewer that watched an earlier stream of the track goes on
		// with this one in its own numbering.
		for _, dt := range []*downTrack{m.v.video, m.v.audio} {
			if dt != nil {
				dt.rebase()
			}
		}
		if m.v.video != nil {
			if len(m.pkts) > 0 {
				peer := m.v.peerAddr()
				s.relay.Engine.HoldWrites(peer)
				s.writeTo(m.v, m.v.video, m.pkts, true, time.Now())
				s.relay.Engine.ReleaseWrites(peer)
			} else {
				m.v.video.waitKey = true
				m.fwd.stream.RequestKeyframe()
			}
		}
	case opRemove:
		list := s.viewers[m.fwd]
		for i, v := range list {
			if v == m.v {
				list[i] = list[len(list)-1]
				list = list[:len(list)-1]
				break
			}
		}
		if len(list) == 0 {
			delete(s.viewers, m.fwd)
		} else {
			s.viewers[m.fwd] = list
		}
		close(m.detached)
	case opPackets:
		now := time.Now()
		if now.UnixNano()-m.at > int64(maxShardLag) {
			s.drop(m)
			return
		}
		for _, v := range s.viewers[m.fwd] {
			dt := v.audio
			if m.video {
				dt = v.video
			}
			if dt == nil {
				continue
			}
			if m.resync && m.video {
				dt.waitKey = true
			}
			// A frame's packets to one viewer leave together (UDP GSO).
			peer := netip.AddrPort{}
			if len(m.pkts) > 1 {
				peer = v.peerAddr()
				s.relay.Engine.HoldWrites(peer)
			}
			s.writeTo(v, dt, m.pkts, m.video, now)
			if now.After(dt.nextSR) && !dt.rebased {
				s.sendReport(v, dt, m.fwd, now, m.video)
			}
			s.relay.Engine.ReleaseWrites(peer)
		}
	}
}

// drop discards a late access unit for every viewer of its stream here.
func (s *shard) drop(m shardMsg) {
	n := 0
	for _, v := range s.viewers[m.fwd] {
		if m.video && v.video != nil {
			v.video.waitKey = true
			n++
		} else if !m.video && v.audio != nil {
			n++
		}
	}
	s.relay.stats.dropShard.Add(uint64(n * len(m.pkts)))
	if m.video && n > 0 {
		m.fwd.stream.RequestKeyframe() // a WHIP publisher sends one at once
	}
}

// writeTo writes pkts to one down-track, holding video back until a
// keyframe when the track lost packets.
func (s *shard) writeTo(v *Viewer, dt *downTrack, pkts []*packet, video bool, now time.Time) {
	c := s.relay.stats
	if video && dt.waitKey {
		if !pkts[0].key || dt.sent(pkts[0].seq) {
			c.dropWaitKey.Add(uint64(len(pkts)))
			return
		}
		dt.waitKey = false
	}
	var n, bytes int
	for _, p := range pkts {
		if dt.sent(p.seq) {
			// Already sent: queued before this viewer's GOP, which
			// overtook it.
			continue
		}
		w, err := dt.write(p)
		if err != nil {
			c.dropWrite.Add(1)
			continue
		}
		n++
		bytes += w
	}
	if n > 0 {
		dt.lastWall = now
	}
	c.packets.Add(uint64(n))
	c.bytes.Add(uint64(bytes))
	v.packets.Add(uint64(n))
}

// sendReport writes an RTCP sender report so the viewer can line audio
// and video up; about once a second per track.
func (s *shard) sendReport(v *Viewer, dt *downTrack, f *forwarder, now time.Time, video bool) {
	dt.nextSR = now.Add(time.Second)
	t := f.audioTrack
	if video {
		t = f.videoTrack
	}
	if t == nil {
		return
	}
	rtpNow, ok := t.rtpAt(now)
	if !ok {
		return
	}
	if err := v.pc.WriteRTCP([]rtcp.Packet{dt.senderReport(now, rtpNow+dt.tsOff)}); err == nil {
		s.relay.stats.senderReports.Add(1)
	}
}
