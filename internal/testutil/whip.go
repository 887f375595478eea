package testutil

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/kastlive/kast/internal/avclip"
)

// Clip is encoded test media: H.264 access units (libx264, no B-frames,
// SPS/PPS before each IDR) and 20 ms Opus packets.
type Clip struct {
	Video [][][]byte // access units, NAL units without start codes
	Keys  []bool
	Opus  [][]byte
}

var (
	clipsMu sync.Mutex
	clips   = map[int]*Clip{}
)

// LoadClip encodes 4 s of a moving test pattern (320x240, 30 fps, a
// keyframe every gop frames) and a 440 Hz tone with ffmpeg, once per gop.
func LoadClip(t testing.TB, gop int) *Clip {
	t.Helper()
	clipsMu.Lock()
	defer clipsMu.Unlock()
	if c := clips[gop]; c != nil {
		return c
	}
	dir, err := os.MkdirTemp("", "kast-clip-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	hv, oa := filepath.Join(dir, "v.h264"), filepath.Join(dir, "a.ogg")
	out, err := Run(t, 60*time.Second, "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "4",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
		"-g", fmt.Sprint(gop), "-keyint_min", fmt.Sprint(gop), "-sc_threshold", "0", "-bf", "0",
		"-x264-params", "repeat-headers=1", "-bsf:v", "h264_metadata=aud=insert", "-f", "h264", hv)
	if err != nil {
		t.Fatalf("ffmpeg video: %v\n%s", err, out)
	}
	out, err = Run(t, 60*time.Second, "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4",
		"-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-page_duration", "20000", "-f", "ogg", oa)
	if err != nil {
		t.Fatalf("ffmpeg audio: %v\n%s", err, out)
	}
	c := &Clip{}
	vb, err := os.ReadFile(hv)
	if err != nil {
		t.Fatal(err)
	}
	var au [][]byte
	flush := func() {
		if len(au) > 0 {
			c.Video = append(c.Video, au)
			c.Keys = append(c.Keys, h264.IsRandomAccess(au))
		}
		au = nil
	}
	avclip.ForEachNALU(vb, func(n []byte) bool {
		if len(n) == 0 {
			return true
		}
		if h264.NALUType(n[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			flush()
			return true
		}
		au = append(au, n)
		return true
	})
	flush()
	f, err := os.Open(oa)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, _, err := r.ParseNextPage()
		if err != nil {
			break
		}
		if bytes.HasPrefix(p, []byte("OpusTags")) || len(p) == 0 {
			continue
		}
		c.Opus = append(c.Opus, p)
	}
	if len(c.Video) < 100 || !c.Keys[0] || len(c.Opus) < 150 {
		t.Fatalf("clip: %d pictures (first key %v), %d Opus packets", len(c.Video), c.Keys[0], len(c.Opus))
	}
	clips[gop] = c
	return c
}

// Publisher is a stock pion WebRTC publisher (pion's default codecs and
// interceptors: NACK responder, reports) sending H.264 and Opus, as a WHIP
// client does. It packetizes the clip itself so that a test can drop
// packets for good. It gathers loopback candidates only.
type Publisher struct {
	PC *webrtc.PeerConnection
	// Drop, when set before Send, says which video packets (by sequence
	// number) are never sent; it is called from Send's goroutine.
	Drop func(seq uint16) bool

	t            testing.TB
	video, audio *webrtc.TrackLocalStaticRTP
	vsender      *webrtc.RTPSender
	plis         atomic.Int64
	pliCh        chan struct{}
	sentVideo    atomic.Int64
}

// NewPublisher returns a publisher with a video and/or an audio track,
// closed at the end of the test.
func NewPublisher(t testing.TB, video, audio bool) *Publisher {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	p := &Publisher{t: t, PC: pc, pliCh: make(chan struct{}, 1)}
	if video {
		p.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "kast-test")
		if err != nil {
			t.Fatal(err)
		}
		tr, err := pc.AddTransceiverFromTrack(p.video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			t.Fatal(err)
		}
		p.vsender = tr.Sender()
		go func() {
			for {
				pkts, _, err := p.vsender.ReadRTCP()
				if err != nil {
					return
				}
				for _, x := range pkts {
					switch x.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						p.plis.Add(1)
						select {
						case p.pliCh <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}
	if audio {
		p.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "kast-test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromTrack(p.audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// Offer returns the publisher's offer with its candidates.
func (p *Publisher) Offer() []byte {
	p.t.Helper()
	o, err := p.PC.CreateOffer(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(p.PC)
	if err := p.PC.SetLocalDescription(o); err != nil {
		p.t.Fatal(err)
	}
	<-g
	return []byte(p.PC.LocalDescription().SDP)
}

// Accept applies the answer.
func (p *Publisher) Accept(answer string) {
	p.t.Helper()
	if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		p.t.Fatalf("answer: %v\n%s", err, answer)
	}
}

// WHIP posts the offer to url with the stream key as bearer token and,
// on 201, applies the answer. It returns the response (its body read
// into the string).
func (p *Publisher) WHIP(url, key string) (*http.Response, string) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(p.Offer()))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
			p.t.Fatalf("answer with Content-Type %q", ct)
		}
		p.Accept(string(body))
	}
	return resp, string(body)
}

// KeyframeRequests returns how many PLIs and FIRs the publisher received.
func (p *Publisher) KeyframeRequests() int64 { return p.plis.Load() }

// VideoPacketsSent returns how many video packets Send wrote.
func (p *Publisher) VideoPacketsSent() int64 { return p.sentVideo.Load() }

// Send plays the clip in real time, looping, until ctx ends. With
// jumpOnPLI, a keyframe request makes the next picture sent the clip's
// next keyframe, as an encoder would make one.
func (p *Publisher) Send(ctx context.Context, c *Clip, jumpOnPLI bool) {
	const mtu = 1200
	var vp, ap rtp.Packetizer
	if p.video != nil {
		vp = rtp.NewPacketizer(mtu, 96, 1, &codecs.H264Payloader{}, rtp.NewRandomSequencer(), 90000)
	}
	if p.audio != nil {
		ap = rtp.NewPacketizer(mtu, 111, 2, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)
	}
	start := time.Now()
	vi, ai := 0, 0 // pictures and packets sent
	pos := 0       // next picture of the clip
	for ctx.Err() == nil {
		vt := start.Add(time.Duration(vi) * time.Second / 30)
		at := start.Add(time.Duration(ai) * 20 * time.Millisecond)
		next := vt
		if vp == nil || (ap != nil && at.Before(vt)) {
			next = at
		}
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		if vp != nil && !next.Before(vt) {
			select {
			case <-p.pliCh:
				if jumpOnPLI {
					for !c.Keys[pos] {
						pos = (pos + 1) % len(c.Video)
					}
				}
			default:
			}
			idx := pos
			pos = (pos + 1) % len(c.Video)
			var annexB []byte
			for _, n := range c.Video[idx] {
				annexB = append(annexB, 0, 0, 0, 1)
				annexB = append(annexB, n...)
			}
			for _, pkt := range vp.Packetize(annexB, 3000) {
				if p.Drop != nil && p.Drop(pkt.SequenceNumber) {
					continue
				}
				_ = p.video.WriteRTP(pkt)
				p.sentVideo.Add(1)
			}
			vi++
			continue
		}
		for _, pkt := range ap.Packetize(c.Opus[ai%len(c.Opus)], 960) {
			_ = p.audio.WriteRTP(pkt)
		}
		ai++
	}
}
