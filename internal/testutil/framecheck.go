package testutil

import (
	"bytes"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// FrameChecker counts the complete H.264 frames a WebRTC receiver could
// decode, the way a browser's jitter buffer assembles them: packets are
// put back in order (retransmissions arrive late), a frame is complete
// when every packet from its first to its marker is there, and packets
// still missing a second later are given up on. Feed it with
// Peer.OnVideoRTP.
type FrameChecker struct {
	mu         sync.Mutex
	sb         *samplebuilder.SampleBuilder
	frames     int
	keyframes  int
	lost       int // packets given up on
	lossEvents int // frames that followed packets given up on
	last       time.Time
	maxGap     time.Duration
	gaps       []Freeze // pauses between complete frames above FreezeGap
	lossAt     []time.Time
	// recovery: packets seen missing (a later one came first), by seq,
	// with when; how long each took to come.
	top       uint16
	haveTop   bool
	missing   map[uint16]time.Time
	recovered []time.Duration
}

// Freeze is a pause between two complete frames longer than FreezeGap.
type Freeze struct {
	End time.Time // when the next frame came
	Gap time.Duration
}

func (f Freeze) String() string {
	return f.Gap.Round(time.Millisecond).String() + " to " + f.End.Format("15:04:05.000")
}

// FreezeGap is a pause between two complete frames that a viewer sees as
// frozen video.
const FreezeGap = 500 * time.Millisecond

// NewFrameChecker returns a checker that waits for a frame's missing
// packets while less than 2 s of media (or 2000 packets) is buffered
// behind it: long enough that a loaded machine's bursts do not make it
// give up on packets a retransmission is bringing.
func NewFrameChecker() *FrameChecker {
	return &FrameChecker{sb: samplebuilder.New(2000, &codecs.H264Packet{}, 90000, samplebuilder.WithMaxTimeDelay(2*time.Second))}
}

// Push takes one received RTP packet.
func (c *FrameChecker) Push(p *rtp.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	seq := p.SequenceNumber
	switch d := seq - c.top; {
	case !c.haveTop:
		c.top, c.haveTop, c.missing = seq, true, map[uint16]time.Time{}
	case d == 0:
	case d < 0x8000:
		for s := c.top + 1; s != seq; s++ {
			c.missing[s] = now
		}
		c.top = seq
		for s, at := range c.missing {
			if now.Sub(at) > 5*time.Second {
				delete(c.missing, s)
			}
		}
	default:
		if at, ok := c.missing[seq]; ok {
			c.recovered = append(c.recovered, now.Sub(at))
			delete(c.missing, seq)
		}
	}
	c.sb.Push(p.Clone())
	for {
		s := c.sb.Pop()
		if s == nil {
			return
		}
		if s.PrevDroppedPackets > 0 {
			c.lost += int(s.PrevDroppedPackets)
			c.lossEvents++
			c.lossAt = append(c.lossAt, now)
		}
		if !c.last.IsZero() {
			gap := now.Sub(c.last)
			c.maxGap = max(c.maxGap, gap)
			if gap > FreezeGap {
				c.gaps = append(c.gaps, Freeze{now, gap})
			}
		}
		c.last = now
		c.frames++
		if bytes.Contains(s.Data, []byte{0, 0, 1, 0x65}) || bytes.Contains(s.Data, []byte{0, 0, 0, 1, 0x65}) {
			c.keyframes++
		}
	}
}

// FrameStats is what a FrameChecker saw.
type FrameStats struct {
	Frames, Keyframes int
	LostPackets       int           // never arrived, not even retransmitted
	LossEvents        []time.Time   // when a frame followed such a loss
	MaxGap            time.Duration // longest pause between complete frames
	Freezes           []Freeze      // pauses longer than FreezeGap
	Last              time.Time     // when the last complete frame arrived
	// Recovered: for each packet that came after later ones (a
	// retransmission), how long after it was first missed.
	Recovered []time.Duration
}

// Unexplained returns the freezes of s that other (a viewer of the same
// stream on a clean link) did not have at about the same time: those
// that came from s's own link, not from the source or a busy machine.
func (s FrameStats) Unexplained(other FrameStats, after time.Time) []Freeze {
	var out []Freeze
	for _, f := range s.FreezesAfter(after) {
		explained := false
		for _, o := range other.Freezes {
			start, ostart := f.End.Add(-f.Gap), o.End.Add(-o.Gap)
			// Overlapping pauses, the other's covering most of this one.
			if ostart.Before(f.End) && o.End.After(start) && o.End.Sub(start) > f.Gap/2 {
				explained = true
				break
			}
		}
		if !explained {
			out = append(out, f)
		}
	}
	return out
}

// FreezesAfter returns the freezes that ended after t.
func (s FrameStats) FreezesAfter(t time.Time) []Freeze {
	var out []Freeze
	for _, f := range s.Freezes {
		if f.End.After(t) {
			out = append(out, f)
		}
	}
	return out
}

// Stats returns what the checker saw so far.
func (c *FrameChecker) Stats() FrameStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return FrameStats{c.frames, c.keyframes, c.lost, append([]time.Time(nil), c.lossAt...), c.maxGap, append([]Freeze(nil), c.gaps...), c.last,
		append([]time.Duration(nil), c.recovered...)}
}
