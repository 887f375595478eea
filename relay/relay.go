package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/rtc"
)

// ErrBFrames is returned by Play for a stream with B-frames when
// Relay.BFrames says so: Chromium decodes only the keyframes of such a
// stream over WebRTC (a slide show; internal/transcode's package doc has
// the measurements). The WHEP answer passes the reason on, so players stay
// on HLS and say why.
var ErrBFrames = errors.New("this stream has B-frames, which browsers cannot play over WebRTC: the speaker should set bframes=0 in the encoder (OBS: x264 options bframes=0); watch over HLS meanwhile")

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
	// BFrames reports whether a stream's video has B-frames (from its
	// SPS); Play refuses such streams with ErrBFrames, and also streams
	// whose units turned out to carry B-frames. nil refuses none.
	BFrames func(*ingest.Video) bool
	// ReencodeBFrames, when set, re-encodes the video of streams whose
	// SPS says B-frames (BFrames) without them, once per stream while it
	// has WebRTC viewers, instead of refusing those viewers. Streams
	// whose units turn out to carry B-frames the SPS did not announce are
	// still refused.
	ReencodeBFrames NewVideoTranscoder
	// GatherTimeout bounds the wait for local candidates (0: 2 s).
	GatherTimeout time.Duration
	// Hub, when set, lets sessions outlive their stream: when a track's
	// stream ends (the publisher's link dropped, it reconnects, or it
	// changed codec parameters), its viewers wait up to Linger for the
	// track's next stream and go on with it in the same session, with
	// no renegotiation (the same SSRCs, sequence numbers and timestamps
	// continuing). Without a Hub a stream's viewers are closed with it.
	Hub *ingest.Hub
	// Linger is how long viewers wait for their track's next stream (0:
	// 30 s, the HLS playlist's default linger).
	Linger time.Duration

	stats         *counters
	bframesLogged atomic.Int64 // unix ns of the last B-frames warning

	mu      sync.Mutex
	closed  bool
	entries map[*ingest.Stream]*entry
	waiting map[string]map[*Viewer]struct{} // by track: viewers between two streams
	shards  []*shard
	next    int
}

// entry is what the relay knows of a stream with viewers.
type entry struct {
	gone     chan struct{} // closed when the entry is dropped
	viewers  map[*Viewer]struct{}
	fwd      *forwarder
	attached int
	// reader was subscribed when the stream started, for viewers moved
	// to it, so that their forwarder starts on the stream's first
	// keyframe; the first attach hands it to the forwarder.
	reader *ingest.Reader
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
	if r.Linger <= 0 {
		r.Linger = 30 * time.Second
	}
	r.stats = newCounters()
	r.entries = map[*ingest.Stream]*entry{}
	r.waiting = map[string]map[*Viewer]struct{}{}
	for range r.Shards {
		r.shards = append(r.shards, newShard(r, r.ShardQueue))
	}
	if r.Transcoder == nil {
		r.Logger.Warn("WebRTC viewers of AAC streams (RTMP, OBS) get video only", "why", r.noTranscoderWhy())
	}
	if r.Hub != nil {
		r.Hub.OnStream(r.streamStarted)
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
	v := &Viewer{relay: r, pc: pc, stream: s, track: s.Track, closed: make(chan struct{}), started: time.Now(),
		AudioMissing: plan.audioMissing}
	if s.Media.Video != nil {
		v.videoCodec = s.Media.Video.Codec
	}
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
	r.entryOf(s).viewers[v] = struct{}{}
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
	pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(v.onPair)
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
	reencoded    bool // the video goes out re-encoded without B-frames
}

// plan matches the stream's media with the offer.
func (r *Relay) plan(s *ingest.Stream, o *rtc.Offer) (playPlan, error) {
	var p playPlan
	if r.BFrames != nil && s.Media.Video != nil {
		bf := r.BFrames(s.Media.Video)
		if !bf {
			r.mu.Lock()
			e := r.entries[s]
			bf = e != nil && e.fwd != nil && e.fwd.hasBFrames()
			r.mu.Unlock()
		}
		if bf && r.ReencodeBFrames != nil && r.BFrames(s.Media.Video) {
			bf = false
			p.reencoded = true
		}
		if bf {
			if r.stats.refusedBFrames.Add(1) == 1 || time.Since(time.Unix(0, r.bframesLogged.Load())) > time.Minute {
				r.bframesLogged.Store(time.Now().UnixNano())
				r.Logger.Warn("WebRTC viewers refused: the stream has B-frames, which browsers cannot play over WebRTC; set bframes=0 in the encoder",
					"track", s.Track)
			}
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
				if p.reencoded {
					profile = reencodedProfile
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

// entryOf returns the entry of s, making it (and its watcher) the first
// time; under r.mu.
func (r *Relay) entryOf(s *ingest.Stream) *entry {
	e := r.entries[s]
	if e == nil {
		e = &entry{viewers: map[*Viewer]struct{}{}, gone: make(chan struct{})}
		r.entries[s] = e
		go r.watchStream(s, e)
	}
	return e
}

// dropEntry removes the entry of s once it has no viewer and no
// forwarder; under r.mu.
func (r *Relay) dropEntry(s *ingest.Stream, e *entry) {
	if len(e.viewers) > 0 || e.fwd != nil || r.entries[s] != e {
		return
	}
	delete(r.entries, s)
	close(e.gone)
	if e.reader != nil {
		e.reader.Close()
		e.reader = nil
	}
}

// watchStream acts on the end of s: its viewers wait for the track's
// next stream when the relay follows the hub, and are closed otherwise.
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
	closed := r.closed
	r.mu.Unlock()
	if r.Hub == nil || closed {
		for _, v := range vs {
			v.Close()
		}
		return
	}
	r.suspend(s, vs)
}

// suspend takes the viewers of s, which ended, off it: they wait for the
// next stream of the track, for Linger at most.
func (r *Relay) suspend(s *ingest.Stream, vs []*Viewer) {
	type waiter struct {
		v   *Viewer
		gen uint64
	}
	var ws []waiter
	for _, v := range vs {
		v.moveMu.Lock()
		if r.unlink(v, s) {
			r.mu.Lock()
			if !v.closing && !r.closed {
				w := r.waiting[s.Track]
				if w == nil {
					w = map[*Viewer]struct{}{}
					r.waiting[s.Track] = w
				}
				w[v] = struct{}{}
				v.waitGen++
				ws = append(ws, waiter{v, v.waitGen})
			}
			r.mu.Unlock()
		}
		v.moveMu.Unlock()
	}
	if len(ws) == 0 {
		return
	}
	r.Logger.Info("WebRTC viewers wait for the track's next stream", "track", s.Track, "viewers", len(ws), "for", r.Linger)
	// The next stream may have started before this one ended (a
	// reconnecting encoder that took over).
	if next := r.Hub.Live(s.Track); next != nil && next.ID > s.ID {
		r.resume(next, nil)
	}
	time.AfterFunc(r.Linger, func() {
		var expired []*Viewer
		r.mu.Lock()
		for _, w := range ws {
			if _, ok := r.waiting[s.Track][w.v]; ok && w.v.waitGen == w.gen {
				expired = append(expired, w.v)
			}
		}
		r.mu.Unlock()
		for _, v := range expired {
			v.Close()
		}
		if len(expired) > 0 {
			r.Logger.Info("WebRTC viewers closed: no stream followed", "track", s.Track, "viewers", len(expired))
		}
	})
}

// streamStarted is the hub's handler for a new stream (synchronous, before
// its first unit): the track's waiting viewers, and the viewers of an
// older stream of the track (its publisher was taken over), move to it.
func (r *Relay) streamStarted(s *ingest.Stream) {
	r.mu.Lock()
	n, connected := 0, false
	count := func(v *Viewer) {
		n++
		connected = connected || v.attached.Load()
	}
	for v := range r.waiting[s.Track] {
		count(v)
	}
	for st, e := range r.entries {
		if st.Track == s.Track && st.ID < s.ID {
			for v := range e.viewers {
				count(v)
			}
		}
	}
	closed := r.closed
	r.mu.Unlock()
	if n == 0 || closed {
		return
	}
	if !connected {
		// Nobody to send to yet: their forwarder subscribes when the
		// first of them connects, so no units pile up meanwhile.
		go r.resume(s, nil)
		return
	}
	// Subscribed here, before the first unit, so the moved viewers start
	// on the stream's first keyframe.
	rd := s.Subscribe(0)
	go r.resume(s, rd)
}

// resume moves the track's waiting viewers, and those of its older
// streams, to s. rd, when not nil, is a reader of s subscribed at its
// start for their forwarder.
func (r *Relay) resume(s *ingest.Stream, rd *ingest.Reader) {
	r.mu.Lock()
	if rd != nil {
		e := r.entryOf(s)
		if e.reader == nil && e.fwd == nil {
			e.reader, rd = rd, nil
		}
	}
	var vs []*Viewer
	for v := range r.waiting[s.Track] {
		vs = append(vs, v)
	}
	for st, e := range r.entries {
		if st.Track == s.Track && st.ID < s.ID {
			for v := range e.viewers {
				vs = append(vs, v)
			}
		}
	}
	r.mu.Unlock()
	if rd != nil {
		rd.Close()
	}
	moved := 0
	for _, v := range vs {
		if r.move(v, s) {
			moved++
		}
	}
	r.mu.Lock()
	if e := r.entries[s]; e != nil {
		r.dropEntry(s, e)
	}
	r.mu.Unlock()
	if moved > 0 {
		r.stats.resumed.Add(uint64(moved))
		r.Logger.Info("WebRTC viewers go on with the track's next stream", "track", s.Track, "viewers", moved)
	}
}

// move puts v on s, in the same session. It reports whether v moved; a
// viewer whose video codec s does not have is closed instead.
func (r *Relay) move(v *Viewer, s *ingest.Stream) bool {
	v.moveMu.Lock()
	r.mu.Lock()
	cur, closing := v.stream, v.closing || r.closed
	r.mu.Unlock()
	if closing || cur == s || (cur != nil && cur.ID > s.ID) {
		v.moveMu.Unlock()
		return false
	}
	if v.video != nil && s.Media.Video != nil && s.Media.Video.Codec != v.videoCodec {
		v.moveMu.Unlock()
		r.Logger.Info("WebRTC viewer closed: the track's next stream has another video codec",
			"track", s.Track, "was", v.videoCodec.String(), "now", s.Media.Video.Codec.String())
		v.Close()
		return false
	}
	if cur != nil {
		r.unlink(v, cur)
	}
	r.mu.Lock()
	if v.closing || r.closed {
		r.mu.Unlock()
		v.moveMu.Unlock()
		return false
	}
	if w := r.waiting[s.Track]; w != nil {
		delete(w, v)
		if len(w) == 0 {
			delete(r.waiting, s.Track)
		}
	}
	v.stream = s
	r.entryOf(s).viewers[v] = struct{}{}
	r.mu.Unlock()
	if v.attached.Load() {
		r.attach(v)
	}
	v.moveMu.Unlock()
	return true
}

// unlink takes v off from, the stream it watches: off its forwarder
// (returning once no shard writes to it) and out of the stream's entry.
// It reports false when v is not on from. Called with v.moveMu held.
func (r *Relay) unlink(v *Viewer, from *ingest.Stream) bool {
	r.mu.Lock()
	if v.stream != from {
		r.mu.Unlock()
		return false
	}
	f := v.fwd
	v.fwd = nil
	r.mu.Unlock()
	if f != nil {
		r.detach(v, f)
	}
	v.fwdA.Store(nil)
	r.mu.Lock()
	if e := r.entries[from]; e != nil {
		delete(e.viewers, v)
		r.dropEntry(from, e)
	}
	v.stream = nil
	r.mu.Unlock()
	return true
}

func (r *Relay) attach(v *Viewer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v.stream == nil || v.fwd != nil || r.closed || v.closing {
		return
	}
	e := r.entries[v.stream]
	if e == nil {
		return
	}
	if e.fwd == nil {
		e.fwd = newForwarder(r, v.stream, e.reader)
		e.reader = nil
		r.stats.forwarders.Add(1)
	}
	e.attached++
	v.fwd = e.fwd
	v.fwdA.Store(e.fwd)
	v.detached = make(chan struct{})
	if v.fwd.aacWhy != "" && v.AudioMissing == "" && v.stream.Media.Audio != nil {
		v.AudioMissing = v.fwd.aacWhy
	}
	// Queued under the relay's lock, so that a Close that follows queues
	// its remove after this add.
	v.fwd.attach(v)
}

// detach takes v off f and stops f when v was its last viewer.
func (r *Relay) detach(v *Viewer, f *forwarder) {
	r.mu.Lock()
	detached := v.detached
	r.mu.Unlock()
	f.mu.Lock()
	if f.exited {
		f.mu.Unlock()
		// The forwarder is gone (its stream ended): tell the shard.
		v.shard.ctrl <- shardMsg{op: opRemove, fwd: f, v: v, detached: detached}
	} else {
		f.pending = append(f.pending, shardMsg{op: opRemove, fwd: f, v: v, detached: detached})
		f.mu.Unlock()
		f.poke()
	}
	<-detached
	r.mu.Lock()
	var stop *forwarder
	for s, e := range r.entries {
		if e.fwd != f {
			continue
		}
		if e.attached--; e.attached == 0 {
			stop, e.fwd = f, nil
			r.stats.forwarders.Add(-1)
			r.dropEntry(s, e)
		}
		break
	}
	r.mu.Unlock()
	if stop != nil {
		stop.close()
	}
}

// forget drops a closed viewer.
func (r *Relay) forget(v *Viewer) {
	r.mu.Lock()
	r.stats.viewers.Add(-1)
	if v.stream != nil {
		if e := r.entries[v.stream]; e != nil {
			delete(e.viewers, v)
			r.dropEntry(v.stream, e)
		}
	}
	if w := r.waiting[v.track]; w != nil {
		delete(w, v)
		if len(w) == 0 {
			delete(r.waiting, v.track)
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
	for _, w := range r.waiting {
		for v := range w {
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

// ViewerCount returns how many WebRTC viewers watch a track now (those
// waiting for its next stream too): the live channel and the API add it
// to the HLS count.
func (r *Relay) ViewerCount(track string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.waiting[track])
	for s, e := range r.entries {
		if s.Track == track {
			n += len(e.viewers)
		}
	}
	return n
}

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
		Resumed:            c.resumed.Load(),
		TranscodersRunning: c.transcoders.Load(),
		TranscoderStarts:   c.transcoderStarts.Load(),
		TranscoderFailures: c.transcoderFailures.Load(),
		TranscoderCPU:      float64(c.transcoderCPUPastE6.Load()) / 1e6,
		AudioWithoutOpus:   c.audioWithoutOpus.Load(),
		RefusedBFrames:     c.refusedBFrames.Load(),

		VideoTranscodersRunning: c.videoTranscoders.Load(),
		VideoTranscoderFailures: c.videoTranscoderFailures.Load(),
		VideoTranscoderCPU:      float64(c.videoTranscoderCPUPastE6.Load()) / 1e6,

		Loss: c.loss.snapshot(),
		RTT:  c.rtt.snapshot(),
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
			if re := e.fwd.reencode; re != nil {
				if cr, ok := re.cpu(); ok {
					s.VideoTranscoderCPU += cr
				}
			}
		}
	}
	r.mu.Unlock()
	return s
}
