package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/rtc"
)

// ErrBFrames is returned by Play for a stream with B-frames when
// RefuseBFrames is set: what browsers do with them over WebRTC is being
// measured; the WHEP answer passes the reason on so players can stay on
// HLS.
var ErrBFrames = errors.New("this stream has B-frames, which WebRTC playback does not take smoothly: set bframes=0 in the encoder, or watch over HLS")

// ErrClosed is returned by Play after Close.
var ErrClosed = errors.New("relay closed")

// Relay serves live streams to WebRTC viewers.
type Relay struct {
	Engine *rtc.Engine
	Logger *slog.Logger
	// Transcoder turns AAC into Opus; nil sends AAC streams as video only.
	Transcoder NewTranscoder
	// NoTranscoderWhy explains a nil Transcoder in logs and metrics, e.g.
	// "ffmpeg not found".
	NoTranscoderWhy string
	// Shards is the number of sender goroutines (0: 4 per core). More
	// than one per core keeps the sends going when the machine is shared
	// (docs/benchmarks.md).
	Shards int
	// ShardQueue is how many access units a shard may fall behind by
	// before it drops (0: 256, about 3 s of video and audio).
	ShardQueue int
	// RefuseBFrames makes Play answer ErrBFrames for streams with B-frames.
	RefuseBFrames bool
	// GatherTimeout bounds the wait for local candidates (0: 2 s).
	GatherTimeout time.Duration

	stats *counters

	mu      sync.Mutex
	closed  bool
	entries map[*ingest.Stream]*entry
	shards  []*shard
	next    int
}

// entry is what the relay knows of a stream with viewers.
type entry struct {
	gone     chan struct{} // closed when the entry is dropped
	viewers  map[*Viewer]struct{}
	fwd      *forwarder
	attached int
}

// Initialize starts the shards.
func (r *Relay) Initialize() error {
	if r.Engine == nil {
		return errors.New("relay: no rtc.Engine")
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Shards <= 0 {
		r.Shards = 4 * runtime.GOMAXPROCS(0)
	}
	if r.ShardQueue <= 0 {
		r.ShardQueue = 256
	}
	if r.GatherTimeout <= 0 {
		r.GatherTimeout = 2 * time.Second
	}
	r.stats = newCounters()
	r.entries = map[*ingest.Stream]*entry{}
	for range r.Shards {
		r.shards = append(r.shards, newShard(r, r.ShardQueue))
	}
	if r.Transcoder == nil {
		r.Logger.Warn("WebRTC viewers of AAC streams (RTMP, OBS) get video only", "why", r.noTranscoderWhy())
	}
	return nil
}

func (r *Relay) noTranscoderWhy() string {
	if r.NoTranscoderWhy != "" {
		return r.NoTranscoderWhy
	}
	return "no AAC to Opus transcoder configured"
}

func (r *Relay) noteAudioWithoutOpus(s *ingest.Stream, why string) {
	r.stats.audioWithoutOpusWhy.Store(&why)
	r.Logger.Warn("WebRTC viewers get video only: AAC cannot be sent over WebRTC and was not transcoded to Opus",
		"track", s.Track, "why", why)
}

// Play starts a session sending s to the peer that made offer. The
// returned viewer's PeerConnection holds the answer as its local
// description, with every candidate (no trickle from kast). Errors:
// *rtc.NoCommonCodecError, ErrBFrames, ErrClosed, or pion's.
func (r *Relay) Play(s *ingest.Stream, offer *rtc.Offer) (*Viewer, error) {
	plan, err := r.plan(s, offer)
	if err != nil {
		return nil, err
	}
	pc, err := r.Engine.NewPeerConnection(rtc.Viewer)
	if err != nil {
		return nil, err
	}
	v := &Viewer{relay: r, pc: pc, stream: s, detached: make(chan struct{}), closed: make(chan struct{}), started: time.Now(),
		AudioMissing: plan.audioMissing}
	fail := func(err error) (*Viewer, error) {
		_ = pc.Close()
		return nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return fail(fmt.Errorf("%w: %v", rtc.ErrBadOffer, err))
	}
	streamID := "kast-" + s.Track
	var senders []*webrtc.RTPSender
	if plan.video != nil {
		v.video = &downTrack{kind: webrtc.RTPCodecTypeVideo, id: "video", streamID: streamID, accept: plan.video, clock: 90000}
		snd, err := pc.AddTrack(v.video)
		if err != nil {
			return fail(err)
		}
		senders = append(senders, snd)
	}
	if plan.audio != nil {
		v.audio = &downTrack{kind: webrtc.RTPCodecTypeAudio, id: "audio", streamID: streamID, accept: plan.audio, clock: 48000}
		snd, err := pc.AddTrack(v.audio)
		if err != nil {
			return fail(err)
		}
		senders = append(senders, snd)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(err)
	}
	select {
	case <-gathered:
	case <-time.After(r.GatherTimeout):
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return fail(ErrClosed)
	}
	e := r.entries[s]
	if e == nil {
		e = &entry{viewers: map[*Viewer]struct{}{}, gone: make(chan struct{})}
		r.entries[s] = e
		go r.watchStream(s, e)
	}
	e.viewers[v] = struct{}{}
	v.shard = r.shards[r.next%len(r.shards)]
	r.next++
	r.mu.Unlock()
	r.stats.viewers.Add(1)

	for i, snd := range senders {
		dt, video := v.video, true
		if senders[i].Track() == v.audio && v.audio != nil {
			dt, video = v.audio, false
		}
		go v.readRTCP(snd, dt, video)
	}
	pc.OnConnectionStateChange(v.onState)
	if pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		v.onState(webrtc.PeerConnectionStateConnected)
	}
	return v, nil
}

// playPlan is what Play sends for an offer.
type playPlan struct {
	video, audio func(webrtc.RTPCodecParameters) int
	audioMissing string
}

// plan matches the stream's media with the offer.
func (r *Relay) plan(s *ingest.Stream, o *rtc.Offer) (playPlan, error) {
	var p playPlan
	if r.RefuseBFrames {
		r.mu.Lock()
		e := r.entries[s]
		bf := e != nil && e.fwd != nil && e.fwd.hasBFrames()
		r.mu.Unlock()
		if bf {
			return p, ErrBFrames
		}
	}
	if vid := s.Media.Video; vid != nil {
		if m, ok := o.Kind("video"); ok && m.Receives() {
			var have string
			var found bool
			switch vid.Codec {
			case ingest.CodecH264:
				have = "H264/90000 packetization-mode=1"
				for _, c := range m.Codecs {
					found = found || c.IsH264PM1()
				}
				profile := byte(0)
				if len(vid.SPS) > 1 {
					profile = vid.SPS[1]
				}
				p.video = acceptH264(profile)
			case ingest.CodecVP8:
				have = "VP8/90000"
				for _, c := range m.Codecs {
					found = found || c.IsVP8()
				}
				p.video = acceptMime(webrtc.MimeTypeVP8)
			}
			if !found {
				return p, rtc.NewNoCommonCodecError(m, have)
			}
		}
	}
	if aud := s.Media.Audio; aud != nil {
		if m, ok := o.Kind("audio"); ok && m.Receives() {
			if aud.Codec == ingest.CodecAAC && r.Transcoder == nil {
				p.audioMissing = r.noTranscoderWhy()
				r.stats.audioWithoutOpus.Add(1)
			} else {
				found := false
				for _, c := range m.Codecs {
					found = found || c.IsOpus()
				}
				if !found {
					return p, rtc.NewNoCommonCodecError(m, "opus/48000/2")
				}
				p.audio = acceptMime(webrtc.MimeTypeOpus)
			}
		}
	}
	if p.video == nil && p.audio == nil {
		var have []string
		if s.Media.Video != nil {
			have = append(have, "video "+s.Media.Video.Codec.String())
		}
		if s.Media.Audio != nil {
			have = append(have, "audio "+s.Media.Audio.Codec.String())
		}
		if len(have) == 0 {
			have = []string{"nothing"}
		}
		kind := "media"
		return p, &rtc.NoCommonCodecError{Kind: kind, Offered: offeredKinds(o), Have: have}
	}
	return p, nil
}

func offeredKinds(o *rtc.Offer) []string {
	var out []string
	for _, m := range o.Media {
		if m.Kind == "audio" || m.Kind == "video" {
			out = append(out, m.Kind+" "+m.Direction)
		}
	}
	return out
}

// watchStream closes the viewers of s when it ends.
func (r *Relay) watchStream(s *ingest.Stream, e *entry) {
	select {
	case <-s.Done():
	case <-e.gone:
		return
	}
	r.mu.Lock()
	var vs []*Viewer
	for v := range e.viewers {
		vs = append(vs, v)
	}
	r.mu.Unlock()
	for _, v := range vs {
		v.Close()
	}
}

func (r *Relay) attach(v *Viewer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.entries[v.stream]
	if e == nil || r.closed || v.closing {
		return
	}
	if e.fwd == nil {
		e.fwd = newForwarder(r, v.stream)
		r.stats.forwarders.Add(1)
	}
	e.attached++
	v.fwd = e.fwd
	v.fwdA.Store(e.fwd)
	if v.fwd.aacWhy != "" && v.AudioMissing == "" && v.stream.Media.Audio != nil {
		v.AudioMissing = v.fwd.aacWhy
	}
	// Queued under the relay's lock, so that a Close that follows queues
	// its remove after this add.
	v.fwd.attach(v)
}

// detach takes v off f and stops f when v was its last viewer.
func (r *Relay) detach(v *Viewer, f *forwarder) {
	f.mu.Lock()
	if f.exited {
		f.mu.Unlock()
		// The forwarder is gone (its stream ended): tell the shard.
		v.shard.ctrl <- shardMsg{op: opRemove, fwd: f, v: v}
	} else {
		f.pending = append(f.pending, shardMsg{op: opRemove, fwd: f, v: v})
		f.mu.Unlock()
		f.poke()
	}
	<-v.detached
	r.mu.Lock()
	e := r.entries[v.stream]
	var stop *forwarder
	if e != nil && e.fwd == f {
		if e.attached--; e.attached == 0 {
			stop, e.fwd = f, nil
			r.stats.forwarders.Add(-1)
		}
	}
	r.mu.Unlock()
	if stop != nil {
		stop.close()
	}
}

// forget drops a closed viewer.
func (r *Relay) forget(v *Viewer) {
	r.mu.Lock()
	if e := r.entries[v.stream]; e != nil {
		if _, ok := e.viewers[v]; ok {
			delete(e.viewers, v)
			r.stats.viewers.Add(-1)
		}
		if len(e.viewers) == 0 && e.fwd == nil {
			delete(r.entries, v.stream)
			close(e.gone)
		}
	}
	r.mu.Unlock()
}

// Close ends every session and stops the shards.
func (r *Relay) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	var vs []*Viewer
	for _, e := range r.entries {
		for v := range e.viewers {
			vs = append(vs, v)
		}
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, v := range vs {
		wg.Add(1)
		go func() { defer wg.Done(); v.Close() }()
	}
	wg.Wait()
	for _, sh := range r.shards {
		close(sh.stop)
		<-sh.done
	}
}

// Viewers returns the number of sessions.
func (r *Relay) Viewers() int { return int(r.stats.viewers.Load()) }

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	c := r.stats
	s := Stats{
		Viewers:     c.viewers.Load(),
		Forwarders:  c.forwarders.Load(),
		PacketsSent: c.packets.Load(),
		BytesSent:   c.bytes.Load(),
		Drops: map[string]uint64{
			"shard_behind":  c.dropShard.Load(),
			"wait_keyframe": c.dropWaitKey.Load(),
			"write_error":   c.dropWrite.Load(),
		},
		NACKedPackets:      c.nacked.Load(),
		NACKsServed:        c.nackServed.Load(),
		KeyframeRequests:   c.keyframeRequests.Load(),
		SenderReports:      c.senderReports.Load(),
		TranscodersRunning: c.transcoders.Load(),
		TranscoderStarts:   c.transcoderStarts.Load(),
		TranscoderFailures: c.transcoderFailures.Load(),
		TranscoderCPU:      float64(c.transcoderCPUPastE6.Load()) / 1e6,
		AudioWithoutOpus:   c.audioWithoutOpus.Load(),
		Loss:               c.loss.snapshot(),
		RTT:                c.rtt.snapshot(),
	}
	if w := c.audioWithoutOpusWhy.Load(); w != nil {
		s.AudioWithoutOpusWhy = *w
	}
	r.mu.Lock()
	for _, e := range r.entries {
		if e.fwd != nil {
			if cr, ok := e.fwd.transcoderCPU(); ok {
				s.TranscoderCPU += cr
			}
		}
	}
	r.mu.Unlock()
	return s
}
