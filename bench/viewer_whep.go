package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// clientWHEP selects WHEP viewers (pion peers) with -client whep.
const clientWHEP = "whep"

// whepStallAfter is the gap between two frames that counts as a stall: a
// few frame periods at 30 fps.
const whepStallAfter = 250 * time.Millisecond

// whepViewer is a WebRTC player: a pion PeerConnection that POSTs its offer
// to the WHEP endpoint. A sampled viewer decrypts its media and reads the
// SEI of every access unit for delivery latency, like a real player; the
// others complete ICE and DTLS and then count the packets of their
// (encrypted) media from the clear RTP headers (sequence numbers for loss,
// marker bits for frames), so that the load generator's decryption does
// not decide how many viewers one machine can simulate.
type whepViewer struct {
	env     *viewerEnv
	sampled bool

	track   frameTracker
	started time.Time
	firstAt int64         // unix ns the first frame arrived
	audioPT atomic.Uint32 // payload type of the audio, from the answer (the rest is video)
	lastSeq [2]uint16     // video, audio
	haveSeq [2]bool
	seiBuf  []byte
	au      []byte
	h264    codecs.H264Packet
}

func (v *whepViewer) run(ctx context.Context) {
	s := v.env.sink
	s.active.Add(1)
	s.joined.Add(1)
	if v.sampled {
		s.sampled.Add(1)
	}
	defer s.active.Add(-1)
	v.track = newFrameTracker(s, whepStallAfter)
	v.started = time.Now()
	defer func() { v.track.finish(time.Now()) }()
	if err := v.session(ctx); err != nil && ctx.Err() == nil {
		s.addError(classify(err))
	}
}

// session runs one WHEP session until ctx ends.
func (v *whepViewer) session(ctx context.Context) error {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	// Browsers ask for a large receive buffer for video (Chromium: 1 MB
	// and up); the kernel's default 208 KB overflows at the first GOP.
	_ = conn.SetReadBuffer(1 << 20)
	var pconn net.PacketConn = conn
	if !v.sampled {
		pconn = &countingConn{PacketConn: conn, v: v}
	}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: pconn})
	defer mux.Close()
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return err
	}
	reg := &interceptor.Registry{}
	if v.sampled {
		// Like a browser: NACKs and receiver reports.
		if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
			return err
		}
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg)).
		NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	if v.sampled {
		pc.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
			go v.readTrack(tr)
			// Reading RTCP lets pion's receiver reports carry the sender
			// report times (kast's RTT metric), as a browser's do.
			go func() {
				for {
					if _, _, err := r.ReadRTCP(); err != nil {
						return
					}
				}
			}()
		})
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	<-gathered
	answer, location, err := postOffer(ctx, v.env, pc.LocalDescription().SDP)
	if err != nil {
		return err
	}
	v.audioPT.Store(uint32(firstPayloadType(answer, "audio")))
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("%w: answer: %v", errParse, err)
	}
	failed := make(chan struct{})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			select {
			case <-failed:
			default:
				close(failed)
			}
		}
	})
	select {
	case <-ctx.Done():
	case <-failed:
		if ctx.Err() == nil {
			return errors.New("ice_failed")
		}
	}
	deleteSession(v.env, location)
	return nil
}

// postOffer does the WHEP POST and returns the answer and session URL.
func postOffer(ctx context.Context, env *viewerEnv, offer string) (answer, location string, err error) {
	rctx, cancel := context.WithTimeout(ctx, env.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, env.whepURL, strings.NewReader(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := whepHTTP.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", "", err
	}
	if resp.StatusCode != http.StatusCreated {
		return "", "", statusError(resp.StatusCode)
	}
	loc, err := url.Parse(env.whepURL)
	if err == nil {
		if l, perr := loc.Parse(resp.Header.Get("Location")); perr == nil {
			location = l.String()
		}
	}
	return string(body), location, nil
}

// whepHTTP is shared by all WHEP viewers: one POST and one DELETE each.
var whepHTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func deleteSession(env *viewerEnv, location string) {
	if location == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, location, nil)
	if err != nil {
		return
	}
	if resp, err := whepHTTP.Do(req); err == nil {
		resp.Body.Close()
	}
}

// firstPayloadType returns the first payload type of the answer's m-line
// of that kind (for audio, the Opus kast sends), 0 when none.
func firstPayloadType(sdp, kind string) uint8 {
	i := strings.Index(sdp, "m="+kind+" ")
	if i < 0 {
		return 0
	}
	f := strings.Fields(strings.SplitN(sdp[i:], "\n", 2)[0])
	if len(f) < 4 {
		return 0
	}
	var pt uint8
	fmt.Sscanf(f[3], "%d", &pt)
	return pt
}

// readTrack reads a decrypted track of a sampled viewer.
func (v *whepViewer) readTrack(tr *webrtc.TrackRemote) {
	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		v.countRTP(p.SequenceNumber, video)
		if video {
			v.video(p, now)
		}
	}
}

// countRTP tracks loss from sequence numbers. Each viewer's reads of one
// track come from one goroutine; video and audio use separate slots.
func (v *whepViewer) countRTP(seq uint16, video bool) {
	s := v.env.sink
	i := 1
	if video {
		i = 0
	}
	s.rtpPackets.Add(1)
	if v.haveSeq[i] {
		if d := seq - v.lastSeq[i]; d > 1 && d < 0x8000 {
			s.rtpLost.Add(uint64(d - 1))
		} else if d >= 0x8000 {
			return // late or retransmitted
		}
	}
	v.lastSeq[i], v.haveSeq[i] = seq, true
}

// video reassembles an access unit and reads its SEI send time.
func (v *whepViewer) video(p *rtp.Packet, now time.Time) {
	b, err := v.h264.Unmarshal(p.Payload)
	if err == nil {
		v.au = append(v.au, b...)
	}
	if !p.Marker {
		return
	}
	au := v.au
	v.au = v.au[:0]
	for len(au) > 0 {
		i := bytes.Index(au, []byte{0, 0, 1})
		if i < 0 {
			break
		}
		au = au[i+3:]
		end := bytes.Index(au, []byte{0, 0, 1})
		nalu := au
		if end >= 0 {
			nalu = au[:end]
		}
		if len(nalu) > 0 && nalu[0]&0x1f == naluTypeSEI {
			var send int64
			var ok bool
			send, ok, v.seiBuf = parseSEI(bytes.TrimRight(nalu, "\x00"), v.seiBuf)
			if ok {
				if v.firstAt == 0 {
					v.firstAt = now.UnixNano()
				}
				// Frames already sent when the first one arrived (the GOP
				// the viewer starts with) count for time to first frame,
				// not for delivery latency.
				v.track.frame(send, now, send < v.firstAt)
				return
			}
		}
		if end < 0 {
			break
		}
	}
}

// countingConn is the socket of an unsampled viewer: STUN, DTLS and RTCP
// go to pion; SRTP media is counted from its clear header and dropped
// before pion would decrypt it.
type countingConn struct {
	net.PacketConn
	v *whepViewer
}

func (c *countingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || n < 12 || b[0]>>6 != 2 || (b[1] >= 192 && b[1] <= 223) {
			return n, addr, err // not RTP (STUN, DTLS) or RTCP
		}
		v := c.v
		pt := uint32(b[1] & 0x7f)
		video := pt != v.audioPT.Load()
		v.countRTP(uint16(b[2])<<8|uint16(b[3]), video)
		if video && b[1]&0x80 != 0 {
			// End of an access unit: a frame, timed by its arrival.
			now := time.Now()
			v.track.frame(now.UnixNano(), now, true)
		}
	}
}

// waitForWHEP polls the endpoint until it answers 201 (the stream is live).
func waitForWHEP(ctx context.Context, env *viewerEnv, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			return err
		}
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return err
		}
		offer, _ := pc.CreateOffer(nil)
		_ = pc.SetLocalDescription(offer)
		_, loc, err := postOffer(ctx, env, offer.SDP)
		pc.Close()
		if err == nil {
			deleteSession(env, loc)
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("WHEP endpoint %s not live after %v: %v", env.whepURL, limit, last)
}
