package whip

import (
	"bytes"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
)

// ignoredAfter is how long without a keyframe, while asking for one every
// KeyframeInterval, before the publisher is said to ignore the requests.
const ignoredAfter = 4 * time.Second

// videoReader turns the video track's packets into pictures for the hub.
// A picture is passed on only when it decodes: after any loss it waits for
// the next keyframe and asks for one.
type videoReader struct {
	s     *Session
	codec ingest.Codec
	asm   interface {
		push(*rtp.Packet, func(frame))
		lost()
	}
	kf       *keyframeRequester
	interval time.Duration

	now      time.Time
	needKey  bool
	lastKey  time.Time
	askedAt  time.Time // the last request this reader made
	sps, pps []byte    // the latest in-band parameter sets
	lastPTS  time.Duration
	started  bool
	warned   map[string]bool
}

func (s *Session) newVideoReader(tr *webrtc.TrackRemote, kf *keyframeRequester) *videoReader {
	v := &videoReader{s: s, kf: kf, interval: s.srv.KeyframeInterval, needKey: true, warned: map[string]bool{}}
	if strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeVP8) {
		v.codec = ingest.CodecVP8
		v.asm = &vp8Assembler{}
	} else {
		v.codec = ingest.CodecH264
		v.asm = newH264Assembler()
	}
	// The first picture must be a keyframe. Encoders start with one; a
	// first picture that is not asks for one (frame).
	return v
}

func (v *videoReader) kind() ingest.Kind { return ingest.KindVideo }

func (v *videoReader) packet(p *rtp.Packet, now time.Time) {
	v.now = now
	v.asm.push(p, v.frame)
}

func (v *videoReader) lost(int) {
	v.asm.lost()
}

// frame handles one assembled picture.
func (v *videoReader) frame(f frame) {
	s, now := v.s, v.now
	if !f.ok {
		s.srv.stats.damaged.Add(1)
		if !v.needKey {
			s.log.Debug("whip picture lost: waiting for a keyframe")
		}
		v.needKey = true
		v.kf.request()
		return
	}
	var params *ingest.Video
	var key bool
	if v.codec == ingest.CodecH264 {
		key = v.h264Params(f.nalus)
		if key {
			if v.sps == nil || v.pps == nil {
				v.warnOnce("no-params", "whip keyframe without SPS/PPS in band: waiting for one with them")
				key = false
			} else if p, err := ingest.NewH264(v.sps, v.pps); err != nil {
				v.warnOnce("bad-sps", "whip keyframe with unusable parameter sets", "err", err)
				key = false
			} else {
				params = p
			}
		}
	} else {
		var w, h int
		key, w, h = vp8KeyFrame(f.data)
		if key {
			params = ingest.NewVP8(w, h)
		}
	}
	if v.needKey && !key {
		if now.Sub(v.askedAt) >= MinKeyframeInterval {
			v.askedAt = now
			v.kf.request()
		}
		return
	}
	pts := s.clock.pts(ingest.KindVideo, f.ts, now)
	if v.started && pts <= v.lastPTS {
		v.warnOnce("bframes", "whip video timestamps go back: B-frames are not supported over WebRTC; set bframes=0")
	}
	v.started, v.lastPTS = true, pts
	if key {
		v.needKey = false
		v.lastKey = now
		v.kf.keyframe()
	}
	u := &ingest.Unit{Kind: ingest.KindVideo, DTS: pts, PTS: pts, Received: now, Key: key}
	if v.codec == ingest.CodecH264 {
		u.NALUs = f.nalus
	} else {
		u.Frame = f.data
	}
	s.writeVideo(u, params)
	if v.interval > 0 && now.Sub(v.lastKey) >= v.interval && now.Sub(v.askedAt) >= MinKeyframeInterval {
		v.askedAt = now
		v.kf.request()
		if now.Sub(v.lastKey) >= ignoredAfter {
			v.warnOnce("ignores-pli", "whip publisher ignores keyframe requests: set its keyframe interval to 1 s "+
				"(HLS segments end on keyframes, and WebRTC viewers start on one)", "since_last_keyframe", now.Sub(v.lastKey).Round(time.Millisecond).String())
		}
	}
}

// h264Params takes the parameter sets of an access unit and reports
// whether it is an IDR picture.
func (v *videoReader) h264Params(nalus [][]byte) (idr bool) {
	for _, n := range nalus {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeIDR:
			idr = true
		case h264.NALUTypeSPS:
			if !bytes.Equal(n, v.sps) {
				v.sps = n
			}
		case h264.NALUTypePPS:
			if !bytes.Equal(n, v.pps) {
				v.pps = n
			}
		}
	}
	return idr
}

func (v *videoReader) warnOnce(key, msg string, args ...any) {
	if v.warned[key] {
		return
	}
	v.warned[key] = true
	v.s.log.Warn(msg, args...)
}
