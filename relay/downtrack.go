package relay

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack is one track of one viewer: pion's TrackLocal, bound to the
// viewer's PeerConnection, fed by a shard with the stream's packets. It
// only rewrites sequence numbers, timestamps, SSRC and payload type; pion
// encrypts and sends.
type downTrack struct {
	kind     webrtc.RTPCodecType
	id       string
	streamID string
	accept   func(webrtc.RTPCodecParameters) int // preference, 0 = refuse
	clock    uint32

	// set by Bind
	mu     sync.Mutex
	ssrc   uint32
	pt     uint8
	writer webrtc.TrackLocalWriter
	bound  atomic.Bool

	// touched by the shard's goroutine only
	hdr      rtp.Header
	started  bool
	waitKey  bool
	seqOff   uint16 // viewer seq = stream seq + seqOff
	lastSeq  uint16 // last stream seq sent
	resyncAt uint16 // viewer seqs before this were mapped with another offset
	nextSR   time.Time
	// rebased: the viewer moved to its track's next stream; the next
	// packet starts new sequence and timestamp offsets that continue the
	// viewer's own numbering.
	rebased  bool
	tsOff    uint32 // viewer timestamp = stream timestamp + tsOff
	lastTS   uint32 // last timestamp sent (the viewer's)
	lastWall time.Time

	// read by the RTCP goroutine and reports
	seqOffA   atomic.Uint32 // seqOff | 1<<16 once set
	tsOffA    atomic.Uint32
	resyncA   atomic.Uint32
	packets   atomic.Uint32
	octets    atomic.Uint32
	lastTSOut atomic.Uint32

	rtxMu  sync.Mutex
	rtxHdr rtp.Header
}

func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	best, bestScore := webrtc.RTPCodecParameters{}, 0
	for _, c := range ctx.CodecParameters() {
		if s := d.accept(c); s > bestScore {
			best, bestScore = c, s
		}
	}
	if bestScore == 0 {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	d.mu.Lock()
	d.ssrc = uint32(ctx.SSRC())
	d.pt = uint8(best.PayloadType)
	d.writer = ctx.WriteStream()
	d.mu.Unlock()
	d.hdr = rtp.Header{Version: 2, PayloadType: d.pt, SSRC: d.ssrc}
	d.rtxHdr = d.hdr
	d.bound.Store(true)
	return best, nil
}

func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.bound.Store(false)
	return nil
}

func (d *downTrack) ID() string                { return d.id }
func (d *downTrack) RID() string               { return "" }
func (d *downTrack) StreamID() string          { return d.streamID }
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.kind }

// write sends p; shard goroutine only. It returns the bytes handed over.
func (d *downTrack) write(p *packet) (int, error) {
	if !d.started {
		d.started = true
		// The first packet the viewer gets is its seq 1: the offset
		// stays fixed until a resync.
		d.seqOff = 1 - p.seq
		d.resyncAt = 1
		d.publishOffsets()
	} else if d.rebased {
		// A new stream of the track: its numbering is unrelated to the
		// last one's. The viewer's sequence goes on gapless, and its
		// timestamps on from the last one by the time that passed.
		next := d.lastSeq + 1 + d.seqOff
		d.seqOff = next - p.seq
		d.resyncAt = next
		elapsed := time.Since(d.lastWall)
		d.tsOff = d.lastTS + uint32(int64(elapsed)*int64(d.clock)/int64(time.Second)) - p.ts
		d.tsOffA.Store(d.tsOff)
		d.rebased = false
		d.publishOffsets()
	} else if p.seq != d.lastSeq+1 {
		// Packets this viewer skipped (a drop, a wait for a keyframe):
		// keep its sequence gapless so it does not NACK what it was never
		// meant to get.
		next := d.lastSeq + 1 + d.seqOff
		d.seqOff = next - p.seq
		d.resyncAt = next
		d.publishOffsets()
	}
	d.lastSeq = p.seq
	d.hdr.SequenceNumber = p.seq + d.seqOff
	d.hdr.Timestamp = p.ts + d.tsOff
	d.hdr.Marker = p.marker
	d.lastTS = d.hdr.Timestamp
	n, err := d.writer.WriteRTP(&d.hdr, p.payload)
	if err == nil {
		d.packets.Add(1)
		d.octets.Add(uint32(len(p.payload)))
		d.lastTSOut.Store(d.hdr.Timestamp)
	}
	return n, err
}

// rebase prepares the down-track for the packets of a new stream; shard
// goroutine only.
func (d *downTrack) rebase() {
	if d.started {
		d.rebased = true
	}
}

// sent reports whether a packet with stream seq was already written
// (false across a rebase: the numbering is a new stream's).
func (d *downTrack) sent(seq uint16) bool {
	return d.started && !d.rebased && int16(seq-d.lastSeq) <= 0
}

func (d *downTrack) publishOffsets() {
	d.resyncA.Store(uint32(d.resyncAt))
	d.seqOffA.Store(uint32(d.seqOff) | 1<<16)
}

// streamSeq maps a sequence number the viewer saw back to the stream's.
// ok is false for numbers sent before the last resync (their mapping is
// gone) or before the first packet.
func (d *downTrack) streamSeq(viewerSeq uint16) (uint16, bool) {
	off := d.seqOffA.Load()
	if off == 0 {
		return 0, false
	}
	resync := uint16(d.resyncA.Load())
	if int16(viewerSeq-resync) < 0 {
		return 0, false
	}
	return viewerSeq - uint16(off), true
}

// retransmit resends p as the viewer first got it (same seq); RTCP
// goroutine.
func (d *downTrack) retransmit(p *packet, viewerSeq uint16) error {
	d.rtxMu.Lock()
	defer d.rtxMu.Unlock()
	d.rtxHdr.SequenceNumber = viewerSeq
	d.rtxHdr.Timestamp = p.ts + d.tsOffA.Load()
	d.rtxHdr.Marker = p.marker
	_, err := d.writer.WriteRTP(&d.rtxHdr, p.payload)
	return err
}

// senderReport builds an SR for the track at wall time now, whose RTP
// time is rtpNow.
func (d *downTrack) senderReport(now time.Time, rtpNow uint32) *rtcp.SenderReport {
	return &rtcp.SenderReport{
		SSRC:        d.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     rtpNow,
		PacketCount: d.packets.Load(),
		OctetCount:  d.octets.Load(),
	}
}

// ntpTime is now in NTP's 64-bit fixed point format.
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// acceptH264 prefers the negotiated H.264 packetization-mode 1 entry whose
// profile matches the stream's SPS; any other mode-1 entry does too
// (browsers decode the profiles they offer, whatever the answer says).
func acceptH264(profileIDC byte) func(webrtc.RTPCodecParameters) int {
	return func(c webrtc.RTPCodecParameters) int {
		if !strings.EqualFold(c.MimeType, webrtc.MimeTypeH264) || !strings.Contains(c.SDPFmtpLine, "packetization-mode=1") {
			return 0
		}
		if i := strings.Index(c.SDPFmtpLine, "profile-level-id="); i >= 0 && len(c.SDPFmtpLine) >= i+19 {
			var b byte
			if _, err := fmtSscanHex(c.SDPFmtpLine[i+17:i+19], &b); err == nil && b == profileIDC {
				return 2
			}
		}
		return 1
	}
}

func acceptMime(mime string) func(webrtc.RTPCodecParameters) int {
	return func(c webrtc.RTPCodecParameters) int {
		if strings.EqualFold(c.MimeType, mime) {
			return 1
		}
		return 0
	}
}

var errBadHex = errors.New("bad hex")

func fmtSscanHex(s string, b *byte) (int, error) {
	var v byte
	for _, c := range []byte(s) {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= c - '0'
		case c >= 'a' && c <= 'f':
			v |= c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v |= c - 'A' + 10
		default:
			return 0, errBadHex
		}
	}
	*b = v
	return 1, nil
}
