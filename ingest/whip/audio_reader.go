package whip

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
)

// audioReader passes the audio track's Opus packets to the hub, one packet
// a unit. A lost packet is simply missing: Opus decoders conceal it.
type audioReader struct {
	s *Session
}

func (s *Session) newAudioReader(*webrtc.TrackRemote) *audioReader { return &audioReader{s: s} }

func (a *audioReader) kind() ingest.Kind { return ingest.KindAudio }

func (a *audioReader) lost(int) {}

func (a *audioReader) packet(p *rtp.Packet, now time.Time) {
	if len(p.Payload) == 0 {
		return
	}
	pts := a.s.clock.pts(ingest.KindAudio, p.Timestamp, now)
	// The packet's buffer is its own (readRTP copies each one): the unit
	// keeps it.
	frame := p.Payload
	a.s.writeAudio(&ingest.Unit{Kind: ingest.KindAudio, DTS: pts, PTS: pts, Received: now, Key: true, Frame: frame}, opusChannels(frame))
}

// opusChannels returns the channel count an Opus packet's TOC byte says
// (RFC 6716 3.1: the s bit).
func opusChannels(pkt []byte) int {
	if pkt[0]&0x04 != 0 {
		return 2
	}
	return 1
}
