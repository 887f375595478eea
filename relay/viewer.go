package relay

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
)

// Viewer is one WHEP session: a PeerConnection with a down-track per
// kind of media it receives.
type Viewer struct {
	relay      *Relay
	pc         *webrtc.PeerConnection
	track      string
	videoCodec ingest.Codec   // negotiated: a next stream must have it
	stream     *ingest.Stream // under the relay's lock; nil between two streams
	moveMu     sync.Mutex     // serializes moves between streams and Close
	waitGen    uint64         // under the relay's lock: counts waits for a next stream
	fwd        *forwarder     // set by attach, under the relay's lock
	fwdA       atomic.Pointer[forwarder]
	shard      *shard
	video      *downTrack
	audio      *downTrack
	// AudioMissing says why the viewer gets no audio although the stream
	// has some ("" when it does or the stream has none).
	AudioMissing string

	// peer is the viewer's UDP address on the selected ICE pair (invalid
	// over ICE-TCP or an address that is not an IP): its shard holds it
	// while it writes a frame, so the frame goes out in few system calls.
	peer     atomic.Pointer[netip.AddrPort]
	packets  atomic.Uint64
	attached atomic.Bool   // onState saw the connection up
	closing  bool          // under the relay's lock
	detached chan struct{} // per attach (under the relay's lock): closed by the shard after the remove
	closed   chan struct{}
	once     sync.Once
	started  time.Time
}

// PeerConnection returns the viewer's pion session (for trickle ICE and
// ICE restarts).
func (v *Viewer) PeerConnection() *webrtc.PeerConnection { return v.pc }

// Done is closed when the session ended.
func (v *Viewer) Done() <-chan struct{} { return v.closed }

// Stream returns the stream the viewer watches, nil while it waits for
// its track's next stream.
func (v *Viewer) Stream() *ingest.Stream {
	v.relay.mu.Lock()
	defer v.relay.mu.Unlock()
	return v.stream
}

// PacketsSent returns how many RTP packets went to the viewer.
func (v *Viewer) PacketsSent() uint64 { return v.packets.Load() }

// Close ends the session. It returns once no shard writes to it any more.
func (v *Viewer) Close() error {
	v.once.Do(func() {
		close(v.closed)
		r := v.relay
		v.moveMu.Lock()
		r.mu.Lock()
		v.closing = true
		f := v.fwd
		v.fwd = nil
		r.mu.Unlock()
		if f != nil {
			r.detach(v, f)
		}
		v.moveMu.Unlock()
		_ = v.pc.Close()
		v.relay.forget(v)
	})
	return nil
}

// peerAddr returns the viewer's UDP address, invalid when unknown.
func (v *Viewer) peerAddr() netip.AddrPort {
	if p := v.peer.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

// onPair records the address of the ICE pair the session uses now.
func (v *Viewer) onPair(p *webrtc.ICECandidatePair) {
	var ap netip.AddrPort
	if p != nil && p.Remote != nil && p.Remote.Protocol == webrtc.ICEProtocolUDP {
		if a, err := netip.ParseAddr(p.Remote.Address); err == nil {
			ap = netip.AddrPortFrom(a.Unmap(), p.Remote.Port)
		}
	}
	v.peer.Store(&ap)
}

// onState follows the session: media starts once DTLS is up, and the
// session ends when ICE fails or the peer closes.
func (v *Viewer) onState(s webrtc.PeerConnectionState) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		if v.peer.Load() == nil {
			if p, err := v.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair(); err == nil {
				v.onPair(p)
			}
		}
		if v.attached.CompareAndSwap(false, true) {
			v.relay.attach(v)
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		go v.Close()
	}
}

// readRTCP handles what the viewer reports on one track until the session
// closes.
func (v *Viewer) readRTCP(sender *webrtc.RTPSender, dt *downTrack, video bool) {
	c := v.relay.stats
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.TransportLayerNack:
				f := v.fwdA.Load()
				if f == nil {
					continue
				}
				hist := f.audioTrack
				if video {
					hist = f.videoTrack
				}
				if hist == nil {
					continue
				}
				for _, pair := range p.Nacks {
					pair.Range(func(seq uint16) bool {
						c.nacked.Add(1)
						if ss, ok := dt.streamSeq(seq); ok {
							if pk := hist.hist.get(ss); pk != nil && dt.retransmit(pk, seq) == nil {
								c.nackServed.Add(1)
							}
						}
						return true
					})
				}
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				c.keyframeRequests.Add(1)
				if f := v.fwdA.Load(); f != nil {
					f.stream.RequestKeyframe()
				}
			case *rtcp.ReceiverReport:
				v.receiverReport(p.Reports)
			case *rtcp.SenderReport:
				v.receiverReport(p.Reports)
			}
		}
	}
}

// receiverReport records loss and round-trip time from report blocks.
func (v *Viewer) receiverReport(blocks []rtcp.ReceptionReport) {
	c := v.relay.stats
	now := ntpTime(time.Now())
	for _, b := range blocks {
		c.loss.observe(float64(b.FractionLost) / 256)
		if b.LastSenderReport == 0 {
			continue
		}
		// RTT = now - LSR - DLSR, all in the middle 32 bits of NTP time.
		mid := uint32(now >> 16)
		rtt := mid - b.LastSenderReport - b.Delay
		if int32(rtt) >= 0 {
			c.rtt.observe(float64(rtt) / 65536)
		}
	}
}
