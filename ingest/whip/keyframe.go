package whip

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// MinKeyframeInterval is the least time between two keyframe requests
// sent to a publisher. Requests within it are merged into one sent when
// it has passed: a picture costs the encoder's bitrate, and viewers
// joining together or one lossy link would otherwise ask many times for
// what one keyframe answers.
const MinKeyframeInterval = 500 * time.Millisecond

// keyframeRequester sends PLIs (or FIRs, for a publisher that negotiated
// only those) for the video track of a session, from its own goroutine so
// that asking never blocks: the hub's readers ask from theirs.
type keyframeRequester struct {
	write   func([]rtcp.Packet) error
	ssrc    uint32
	useFIR  bool
	firSeq  uint8
	ask     chan struct{}
	gotKey  chan struct{} // a keyframe arrived: a request waiting to go out is answered
	done    chan struct{}
	stopped chan struct{}

	sent *atomic.Uint64 // shared counter of requests sent
}

func newKeyframeRequester(ssrc uint32, useFIR bool, write func([]rtcp.Packet) error, sent *atomic.Uint64) *keyframeRequester {
	k := &keyframeRequester{
		write:   write,
		sent:    sent,
		ssrc:    ssrc,
		useFIR:  useFIR,
		ask:     make(chan struct{}, 1),
		gotKey:  make(chan struct{}, 1),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go k.run()
	return k
}

// request asks for a keyframe; it never blocks.
func (k *keyframeRequester) request() {
	select {
	case k.ask <- struct{}{}:
	default: // one is pending already
	}
}

// keyframe says a keyframe arrived: a request still waiting for
// MinKeyframeInterval to pass is dropped, as the keyframe answers it.
func (k *keyframeRequester) keyframe() {
	select {
	case <-k.ask:
	default:
	}
	select {
	case k.gotKey <- struct{}{}:
	default:
	}
}

// stop ends the goroutine and waits for it.
func (k *keyframeRequester) stop() {
	close(k.done)
	<-k.stopped
}

func (k *keyframeRequester) run() {
	defer close(k.stopped)
	var last time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-k.done:
			return
		case <-k.gotKey:
			continue
		case <-k.ask:
		}
		if wait := MinKeyframeInterval - time.Since(last); wait > 0 {
			timer.Reset(wait)
			select {
			case <-k.done:
				timer.Stop()
				return
			case <-k.gotKey:
				timer.Stop()
				continue
			case <-timer.C:
			}
			// Requests made while waiting are answered by this one.
			select {
			case <-k.ask:
			default:
			}
		}
		last = time.Now()
		k.sent.Add(1)
		var p rtcp.Packet = &rtcp.PictureLossIndication{MediaSSRC: k.ssrc}
		if k.useFIR {
			k.firSeq++
			p = &rtcp.FullIntraRequest{MediaSSRC: k.ssrc, FIR: []rtcp.FIREntry{{SSRC: k.ssrc, SequenceNumber: k.firSeq}}}
		}
		// An error means the session is closing; its end is logged there.
		_ = k.write([]rtcp.Packet{p})
	}
}
