package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// publisher pushes a looped clip over RTMP at real time, with an SEI holding
// the wall-clock send time in front of the slices of every video access unit.
type publisher struct {
	url     string
	clip    *clip
	bitrate int // target video+audio bit/s; above the clip's, filler NAL units pad it

	started   time.Time
	sentBytes atomic.Uint64 // media payload bytes written
	frames    atomic.Uint64 // video access units written
	connected chan struct{} // closed once the RTMP publish is accepted
}

func newPublisher(rawURL string, c *clip, bitrate int) *publisher {
	return &publisher{url: rawURL, clip: c, bitrate: bitrate, connected: make(chan struct{})}
}

// run publishes until ctx ends or the connection fails.
func (p *publisher) run(ctx context.Context) error {
	u, err := rtmpURL(p.url)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := &gortmplib.Client{URL: u, Publish: true}
	if err := c.Initialize(cctx); err != nil {
		return fmt.Errorf("rtmp connect: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()

	vt := &gortmplib.Track{Codec: &codecs.H264{SPS: p.clip.sps, PPS: p.clip.pps}}
	conf := p.clip.audioConf
	at := &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: &conf}}
	w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{vt, at}}
	c.NetConn().SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := w.Initialize(); err != nil {
		return fmt.Errorf("rtmp publish: %w", err)
	}
	pad := 0
	if extra := p.bitrate - p.clip.bitrate; extra > 0 {
		pad = extra / 8 / p.clip.fps
	}
	filler := fillerNALU(pad)

	p.started = time.Now()
	close(p.connected)
	sr := time.Duration(p.clip.audioConf.SampleRate)
	var vi, ai int64
	au := make([][]byte, 0, 8)
	var sei []byte
	for {
		vts := time.Duration(vi) * time.Second / time.Duration(p.clip.fps)
		ats := time.Duration(ai) * 1024 * time.Second / sr
		next := min(vts, ats)
		if d := time.Until(p.started.Add(next)); d > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(d):
			}
		} else if ctx.Err() != nil {
			return nil
		}
		c.NetConn().SetWriteDeadline(time.Now().Add(10 * time.Second))
		if vts <= ats {
			src := p.clip.video[vi%int64(len(p.clip.video))]
			au = au[:0]
			inserted := false
			n := 0
			for _, nalu := range src {
				if !inserted && isVCL(nalu) {
					sei = buildSEI(sei[:0], time.Now().UnixNano())
					au = append(au, sei)
					n += len(sei)
					inserted = true
				}
				au = append(au, nalu)
				n += len(nalu)
			}
			if filler != nil {
				au = append(au, filler)
				n += len(filler)
			}
			if err := w.WriteH264(vt, vts, vts, au); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("rtmp write: %w", err)
			}
			p.sentBytes.Add(uint64(n))
			p.frames.Add(1)
			vi++
		} else {
			a := p.clip.audio[ai%int64(len(p.clip.audio))]
			if err := w.WriteMPEG4Audio(at, ats, a); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("rtmp write: %w", err)
			}
			p.sentBytes.Add(uint64(len(a)))
			ai++
		}
	}
}

// bitrateNow returns the average bit/s sent so far.
func (p *publisher) bitrateNow() float64 {
	if p.started.IsZero() {
		return 0
	}
	return float64(p.sentBytes.Load()*8) / time.Since(p.started).Seconds()
}

func isVCL(nalu []byte) bool {
	if len(nalu) == 0 {
		return false
	}
	t := h264.NALUType(nalu[0] & 0x1f)
	return t >= h264.NALUTypeNonIDR && t <= h264.NALUTypeIDR
}

// rtmpURL parses an RTMP URL. Without a #fragment, the last path element is
// the stream key and the rest the app, as OBS splits "server" and "stream
// key" (gortmplib takes the key from the fragment): rtmp://h/live/bench
// connects to app "live" and publishes "bench".
func rtmpURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Fragment == "" {
		if i := strings.LastIndexByte(u.Path, '/'); i > 0 && i < len(u.Path)-1 {
			u.Fragment = u.Path[i+1:]
			u.Path = u.Path[:i]
			u.RawPath = ""
		}
	}
	return u, nil
}
