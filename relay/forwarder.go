package relay

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kastlive/kast/ingest"
)

// forwarder reads one stream from the hub for all its WebRTC viewers. It
// packetizes each access unit once, keeps the stream's packet history,
// and hands the packets to the shards that have viewers of the stream.
type forwarder struct {
	relay  *Relay
	stream *ingest.Stream
	reader *ingest.Reader

	videoTrack *trackState // nil without video
	audioTrack *trackState // nil without audio to send (AAC and no transcoder)

	transcoder AudioTranscoder
	tcReady    chan AudioTranscoder // the transcoder once started (nil when it failed); never reassigned
	tcWG       sync.WaitGroup
	opus       <-chan *ingest.Unit
	aacWhy     string // why AAC is not sent, "" when it is

	reencode *videoReencode // nil unless the video is re-encoded without B-frames

	mu       sync.Mutex
	pending  []shardMsg // adds and removes, applied by the forwarder goroutine
	kick     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	exited   bool // the goroutine has returned (guarded by mu)
	bframes  bool // set by the goroutine when a unit's PTS differs from its DTS
	bframesM sync.Mutex
	tcMu     sync.Mutex // guards transcoder for transcoderCPU

	// goroutine only
	perShard map[*shard]int
	lost     map[*shard]bool
	origin   bool
}

// trackState is the packetizer state of one track of a stream.
type trackState struct {
	clock   uint32
	base    uint32 // random RTP timestamp origin
	seq     uint16
	hist    *history
	gopSeq  uint16 // first packet of the newest keyframe
	haveGOP bool

	// fixed before the first packet goes out (published through the
	// shards' channels)
	wall0 time.Time
	pts0  time.Duration
	set   bool
}

// History sizes: about 8 s of a 2.5 Mbit/s video and 20 s of Opus.
const (
	videoHistory = 2048
	audioHistory = 1024
)

func newTrackState(clock uint32, size int) *trackState {
	return &trackState{clock: clock, base: rand.Uint32(), seq: uint16(rand.Uint32()), hist: newHistory(size)}
}

func (t *trackState) rtpTime(pts time.Duration) uint32 {
	return t.base + uint32(int64(pts)*int64(t.clock)/int64(time.Second))
}

// rtpAt returns the RTP time of wall-clock time now.
func (t *trackState) rtpAt(now time.Time) (uint32, bool) {
	if !t.set {
		return 0, false
	}
	return t.rtpTime(t.pts0 + now.Sub(t.wall0)), true
}

// newForwarder starts reading s; rd, when not nil, is a reader of s
// subscribed earlier (at the stream's start) to use instead of a new one.
func newForwarder(r *Relay, s *ingest.Stream, rd *ingest.Reader) *forwarder {
	f := &forwarder{
		relay:    r,
		stream:   s,
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		perShard: map[*shard]int{},
		lost:     map[*shard]bool{},
	}
	if v := s.Media.Video; v != nil {
		f.videoTrack = newTrackState(90000, videoHistory)
		f.startReencode(v)
	}
	if a := s.Media.Audio; a != nil {
		switch a.Codec {
		case ingest.CodecOpus:
			f.audioTrack = newTrackState(48000, audioHistory)
		case ingest.CodecAAC:
			if r.Transcoder == nil {
				f.aacWhy = r.noTranscoderWhy()
				break
			}
			// Started aside, so that video does not wait for ffmpeg.
			f.audioTrack = newTrackState(48000, audioHistory)
			f.tcReady = make(chan AudioTranscoder, 1)
			f.tcWG.Add(1)
			go f.startTranscoder(a)
		}
	}
	if f.aacWhy != "" {
		r.noteAudioWithoutOpus(s, f.aacWhy)
	}
	// Subscribe after the transcoder started, so the first units are not
	// lost to its start-up.
	f.reader = rd
	if f.reader == nil {
		f.reader = s.Subscribe(0)
	}
	go f.run()
	return f
}

// attach adds v; the goroutine sends it to its shard with the GOP so far.
func (f *forwarder) attach(v *Viewer) {
	f.mu.Lock()
	f.pending = append(f.pending, shardMsg{op: opAdd, fwd: f, v: v})
	f.mu.Unlock()
	f.poke()
}

func (f *forwarder) poke() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// startTranscoder starts the AAC to Opus transcoder and hands it to the
// forwarder's goroutine, or closes it when the forwarder stopped meanwhile.
func (f *forwarder) startTranscoder(a *ingest.Audio) {
	defer f.tcWG.Done()
	r := f.relay
	tc, err := r.Transcoder(a)
	if err != nil {
		r.stats.transcoderFailures.Add(1)
		r.noteAudioWithoutOpus(f.stream, "the AAC to Opus transcoder did not start: "+err.Error())
		f.tcReady <- nil
		return
	}
	r.stats.transcoders.Add(1)
	r.stats.transcoderStarts.Add(1)
	select {
	case <-f.stop:
		if c, ok := tc.(CPUReporter); ok {
			r.stats.transcoderCPUPastE6.Add(uint64(c.CPUSeconds() * 1e6))
		}
		tc.Close()
		r.stats.transcoders.Add(-1)
	default:
		f.tcReady <- tc
	}
}

func (f *forwarder) hasBFrames() bool {
	f.bframesM.Lock()
	defer f.bframesM.Unlock()
	return f.bframes
}

func (f *forwarder) run() {
	defer close(f.done)
	defer f.reader.Close()
	defer func() {
		f.mu.Lock()
		f.exited = true
		msgs := f.pending
		f.pending = nil
		f.mu.Unlock()
		for _, m := range msgs {
			if m.op == opRemove {
				m.v.shard.ctrl <- m
			} else {
				// Attached after the stream ended: nothing will come.
				m.v.shard.ctrl <- shardMsg{op: opAdd, fwd: f, v: m.v}
			}
		}
	}()
	units := f.reader.Units()
	ready := f.tcReady
	var vready chan VideoTranscoder
	if f.reencode != nil {
		vready = f.reencode.ready
	}
	for {
		select {
		case <-f.stop:
			return
		case <-f.kick:
			f.applyPending()
		case u, ok := <-units:
			if !ok {
				return
			}
			f.applyPending()
			f.unit(u)
		case tc := <-ready:
			ready = nil
			if tc != nil {
				f.tcMu.Lock()
				f.transcoder, f.opus = tc, tc.Output()
				f.tcMu.Unlock()
			}
		case u, ok := <-f.opus:
			if !ok {
				f.opus = nil
				f.transcoderStopped()
				continue
			}
			f.opusUnit(u)
		case vt := <-vready:
			vready = nil
			f.reencodeReady(vt)
		case u, ok := <-f.reencodedOutput():
			f.reencodedUnit(u, ok)
		}
	}
}

func (f *forwarder) applyPending() {
	f.mu.Lock()
	msgs := f.pending
	f.pending = nil
	f.mu.Unlock()
	for _, m := range msgs {
		sh := m.v.shard
		switch m.op {
		case opAdd:
			if t := f.videoTrack; t != nil && t.haveGOP {
				m.pkts = t.hist.since(t.gopSeq)
			}
			f.perShard[sh]++
		case opRemove:
			if f.perShard[sh]--; f.perShard[sh] <= 0 {
				delete(f.perShard, sh)
				delete(f.lost, sh)
			}
		}
		sh.ctrl <- m // adds and removes are never dropped
	}
}

func (f *forwarder) setOrigin(u *ingest.Unit) {
	if f.origin {
		return
	}
	f.origin = true
	wall := u.Received
	if wall.IsZero() {
		wall = time.Now()
	}
	for _, t := range []*trackState{f.videoTrack, f.audioTrack} {
		if t != nil {
			t.wall0, t.pts0, t.set = wall, u.PTS, true
		}
	}
}

func (f *forwarder) unit(u *ingest.Unit) {
	f.setOrigin(u)
	switch u.Kind {
	case ingest.KindVideo:
		t := f.videoTrack
		if t == nil {
			return
		}
		if f.reencode != nil && f.reencode.on {
			f.reencodeUnit(u)
			return
		}
		if u.PTS != u.DTS {
			f.bframesM.Lock()
			f.bframes = true
			f.bframesM.Unlock()
		}
		var payloads [][]byte
		v := f.stream.Media.Video
		if v.Codec == ingest.CodecVP8 {
			payloads = packetizeVP8(u.Frame, maxPayload)
		} else {
			payloads = packetizeH264(u.NALUs, u.Key, v.SPS, v.PPS, maxPayload)
		}
		f.send(t, true, payloads, u.PTS, u.Key)
	case ingest.KindAudio:
		if f.transcoder != nil {
			if err := f.transcoder.Write(u); err != nil {
				f.relay.stats.dropWrite.Add(1)
			}
			return
		}
		if f.audioTrack != nil && len(u.Frame) > 0 {
			f.send(f.audioTrack, false, [][]byte{u.Frame}, u.PTS, false)
		}
	}
}

func (f *forwarder) opusUnit(u *ingest.Unit) {
	if f.audioTrack == nil || len(u.Frame) == 0 || !f.origin {
		return
	}
	f.send(f.audioTrack, false, [][]byte{u.Frame}, u.PTS, false)
}

// send numbers the payloads of one access unit, keeps them in the history
// and hands them to every shard with viewers.
func (f *forwarder) send(t *trackState, video bool, payloads [][]byte, pts time.Duration, key bool) {
	if len(payloads) == 0 {
		return
	}
	ts := t.rtpTime(pts)
	pkts := make([]*packet, len(payloads))
	backing := make([]packet, len(payloads))
	for i, pl := range payloads {
		t.seq++
		p := &backing[i]
		*p = packet{seq: t.seq, ts: ts, payload: pl, marker: i == len(payloads)-1 || !video}
		pkts[i] = p
		t.hist.put(p)
	}
	if key {
		pkts[0].key = true
		t.gopSeq, t.haveGOP = pkts[0].seq, true
	}
	at := time.Now().UnixNano()
	for sh := range f.perShard {
		m := shardMsg{op: opPackets, fwd: f, video: video, pkts: pkts, resync: f.lost[sh], at: at}
		select {
		case sh.ch <- m:
			delete(f.lost, sh)
		default:
			// The shard is behind: its viewers of this stream lose these
			// packets and resume at the next keyframe.
			f.lost[sh] = true
			f.relay.stats.dropShard.Add(uint64(len(pkts)))
			if video {
				f.stream.RequestKeyframe()
			}
		}
	}
}

// transcoderStopped notes a transcoder that gave up while viewers watch
// (it restarts its own process; closing its output means it stopped
// trying): the stream goes on as video only.
func (f *forwarder) transcoderStopped() {
	select {
	case <-f.stop:
		return
	default:
	}
	r := f.relay
	r.stats.transcoderFailures.Add(1)
	why := "the AAC to Opus transcoder stopped"
	r.noteAudioWithoutOpus(f.stream, why)
	f.closeTranscoder()
}

func (f *forwarder) transcoderCPU() (float64, bool) {
	f.tcMu.Lock()
	defer f.tcMu.Unlock()
	if c, ok := f.transcoder.(CPUReporter); ok {
		return c.CPUSeconds(), true
	}
	return 0, false
}

func (f *forwarder) closeTranscoder() {
	if f.transcoder == nil {
		return
	}
	if c, ok := f.transcoder.(CPUReporter); ok {
		f.relay.stats.transcoderCPUPastE6.Add(uint64(c.CPUSeconds() * 1e6))
	}
	f.transcoder.Close()
	f.tcMu.Lock()
	f.transcoder = nil
	f.tcMu.Unlock()
	f.relay.stats.transcoders.Add(-1)
}

// close stops the forwarder; the relay calls it when the last viewer left
// or the stream ended.
func (f *forwarder) close() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
	f.closeTranscoder()
	if f.reencode != nil {
		f.reencode.closeAfterStart(f.relay)
	}
	// A transcoder that finished starting after the goroutine left.
	f.tcWG.Wait()
	if f.tcReady != nil {
		select {
		case tc := <-f.tcReady:
			if tc != nil {
				f.tcMu.Lock()
				f.transcoder = tc
				f.tcMu.Unlock()
				f.closeTranscoder()
			}
		default:
		}
	}
}
