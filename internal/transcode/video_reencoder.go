package transcode

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/kastlive/kast/ingest"
)

// Defaults of VideoReencoder.
const (
	// DefaultVideoQueue is the room, in pictures, between Write and ffmpeg
	// and between ffmpeg and the consumer: 3 s at 30 fps.
	DefaultVideoQueue = 90
	DefaultPreset     = "veryfast"
)

// measureWindow: without a Bitrate, the input's is measured over this much
// of it, from its first keyframe, before ffmpeg starts.
const measureWindow = time.Second

// VideoReencoder re-encodes one stream's H.264 without B-frames through an
// ffmpeg child (Annex-B in, libx264 -tune zerolatency -bf 0, FLV out), for
// WebRTC viewers: Chromium's WebRTC decoder cannot play B-frames (see the
// package documentation). Keyframes stay where the input has them, the
// bitrate follows the input's, and the output pictures carry the input's
// PTS (DTS = PTS: decode order is presentation order).
//
// Every picture written to ffmpeg is tagged with an SEI sequence number that
// libx264 copies into its output picture (-udu_sei), so each output picture
// is matched with its input exactly, across reordering and drops. Write
// never blocks: a full queue drops pictures up to the next keyframe.
type VideoReencoder struct {
	// Input is the stream's H.264 parameters (ingest.NewH264).
	Input *ingest.Video
	// Bitrate of the output in bits/s. 0: measured over the first second
	// of input (from its first keyframe), which delays the start by that
	// second.
	Bitrate int
	// FrameRate of the input; 0: from the SPS timing information, else
	// from the input's DTS.
	FrameRate float64
	// Preset is x264's (DefaultPreset when empty); Profile its profile
	// ("baseline", "main", "high"; empty: x264's choice, High).
	Preset  string
	Profile string
	// FFmpeg is the ffmpeg binary; empty: "ffmpeg" on PATH.
	FFmpeg string
	// QueueSize bounds both queues, in pictures (DefaultVideoQueue when 0).
	QueueSize   int
	MaxRestarts int
	Logger      *slog.Logger
	Name        string

	path      string
	out       atomic.Pointer[ingest.Video]
	queue     chan queued
	units     chan *ingest.Unit
	sup       atomic.Pointer[Supervisor]
	closing   chan struct{}
	closeOnce sync.Once
	runDone   chan struct{}
	closed    atomic.Bool
	unavail   bool
	initErr   error
	errMu     sync.Mutex
	err       error
	wantKey   atomic.Bool // Write dropped a picture: skip to the next keyframe

	// Decided before the first child starts.
	rate    float64
	bitrate int
	pre     []queued // the measured window, fed to the first child

	// Touched by one child's goroutines at a time.
	nextID     uint64
	lastOut    time.Duration
	haveOut    bool
	outWantKey bool // a picture was dropped on the way out: wait for a keyframe
	lastOutAt  atomic.Int64

	framesIn, framesOut, droppedIn, droppedOut, invalid, lost atomic.Uint64
	latency                                                   atomic.Int64
}

// Initialize checks the input and ffmpeg and starts the transcoder; ffmpeg
// itself starts at the first keyframe written (a second later when the
// bitrate is measured). Without ffmpeg (or libx264) it returns an error
// wrapping ErrUnavailable.
func (v *VideoReencoder) Initialize() error {
	err := v.initialize()
	if err != nil {
		v.initErr = err
		v.units = make(chan *ingest.Unit)
		close(v.units)
		v.closed.Store(true)
	}
	return err
}

func (v *VideoReencoder) initialize() error {
	if v.Input == nil || v.Input.Codec != ingest.CodecH264 || len(v.Input.SPS) == 0 || len(v.Input.PPS) == 0 {
		return errors.New("transcode: VideoReencoder needs H.264 input parameters with SPS and PPS")
	}
	if v.Preset == "" {
		v.Preset = DefaultPreset
	}
	if v.QueueSize <= 0 {
		v.QueueSize = DefaultVideoQueue
	}
	if v.Logger == nil {
		v.Logger = slog.New(slog.DiscardHandler)
	}
	path, err := lookPath(v.FFmpeg)
	if err != nil {
		v.unavail = true
		return err
	}
	if err := checkEncoder(path, "libx264"); err != nil {
		v.unavail = true
		return err
	}
	v.path = path
	v.queue = make(chan queued, v.QueueSize)
	v.units = make(chan *ingest.Unit, v.QueueSize)
	v.closing = make(chan struct{})
	v.runDone = make(chan struct{})
	go v.run()
	return nil
}

// H264 returns the parameters of the re-encoded video, nil until ffmpeg
// has written them. Every output keyframe also carries its SPS and PPS.
func (v *VideoReencoder) H264() *ingest.Video { return v.out.Load() }

// Output returns the channel the re-encoded pictures arrive on; it is
// closed after Close or when the re-encoder gives up.
func (v *VideoReencoder) Output() <-chan *ingest.Unit { return v.units }

// Err returns why the re-encoder stopped by itself, nil otherwise.
func (v *VideoReencoder) Err() error {
	if v.initErr != nil {
		return v.initErr
	}
	v.errMu.Lock()
	defer v.errMu.Unlock()
	return v.err
}

func (v *VideoReencoder) setErr(err error) {
	v.errMu.Lock()
	v.err = err
	v.errMu.Unlock()
}

// Write queues one picture. It never blocks: when the queue is full the
// picture is dropped, and so is every picture up to the next keyframe
// (counted in Stats; Write returns nil). It returns an error for a unit
// that is not a video picture and after Close.
func (v *VideoReencoder) Write(u *ingest.Unit) error {
	if v.closed.Load() {
		return ErrClosed
	}
	if u == nil || u.Kind != ingest.KindVideo || len(u.NALUs) == 0 {
		v.invalid.Add(1)
		return errNotPicture
	}
	if v.wantKey.Load() {
		if !u.Key {
			v.droppedIn.Add(1)
			return nil
		}
		v.wantKey.Store(false)
	}
	select {
	case v.queue <- queued{u: u, at: time.Now()}:
		v.framesIn.Add(1)
	default:
		v.droppedIn.Add(1)
		v.wantKey.Store(true)
	}
	return nil
}

var errNotPicture = errors.New("not a video picture")

// CPUSeconds returns the CPU time ffmpeg used, in seconds (Stats().CPU).
func (v *VideoReencoder) CPUSeconds() float64 { return v.Stats().CPU.Seconds() }

// Close stops ffmpeg and closes Output().
func (v *VideoReencoder) Close() error {
	if v.closing == nil {
		return nil
	}
	v.closed.Store(true)
	v.closeOnce.Do(func() { close(v.closing) })
	<-v.runDone
	return nil
}

// Stats returns the counters and state.
func (v *VideoReencoder) Stats() Stats {
	s := Stats{
		FramesIn:   v.framesIn.Load(),
		FramesOut:  v.framesOut.Load(),
		DroppedIn:  v.droppedIn.Load(),
		DroppedOut: v.droppedOut.Load(),
		Invalid:    v.invalid.Load(),
		Lost:       v.lost.Load(),
		Latency:    time.Duration(v.latency.Load()),
	}
	if v.unavail {
		s.State = StateUnavailable
		return s
	}
	if v.closing == nil {
		s.State = StateStopped
		return s
	}
	select {
	case <-v.runDone:
		s.State = StateStopped
		if v.Err() != nil {
			s.State = StateFailed
		}
	default:
		s.State = StateRestarting
	}
	if sup := v.sup.Load(); sup != nil {
		s.Restarts = sup.Restarts()
		s.CPU = sup.CPU()
		if s.State == StateRestarting && sup.Running() {
			s.State = StateRunning
		}
	} else if s.State == StateRestarting {
		// Waiting for the first keyframe or measuring the input.
		s.State = StateRunning
	}
	return s
}

// run decides the encoder settings, then supervises ffmpeg until Close or
// until it gives up.
func (v *VideoReencoder) run() {
	defer close(v.runDone)
	defer close(v.units)
	if !v.measure() {
		return
	}
	sup := &Supervisor{
		Path:        v.path,
		Args:        v.args(),
		Serve:       v.serve,
		MaxRestarts: v.MaxRestarts,
		Logger:      v.Logger,
		Name:        "reencode " + v.Name,
	}
	if err := sup.Initialize(); err != nil {
		v.setErr(err)
		return
	}
	v.sup.Store(sup)
	v.Logger.Info("re-encoding video without B-frames", "name", v.Name,
		"bitrate", v.bitrate, "fps", v.rate, "preset", v.Preset)
	select {
	case <-sup.Done():
		v.setErr(sup.Err())
	case <-v.closing:
		sup.Close()
	}
}

// measure waits for the first keyframe and, when the bitrate or the frame
// rate is not given, reads the input until it knows them. It keeps what it
// read for the first child.
func (v *VideoReencoder) measure() bool {
	v.rate = v.FrameRate
	if v.rate <= 0 {
		var sps h264.SPS
		if sps.Unmarshal(v.Input.SPS) == nil {
			if f := sps.FPS(); f > 0 && f <= 240 {
				v.rate = f
			}
		}
	}
	v.bitrate = v.Bitrate
	for {
		var q queued
		select {
		case <-v.closing:
			return false
		case q = <-v.queue:
		}
		if len(v.pre) == 0 && !q.u.Key {
			v.droppedIn.Add(1)
			continue
		}
		v.pre = append(v.pre, q)
		span := q.u.DTS - v.pre[0].u.DTS
		rateKnown := v.rate > 0 || len(v.pre) >= 3
		if !rateKnown || (v.bitrate <= 0 && span < measureWindow && len(v.pre) < v.QueueSize) {
			continue
		}
		if v.rate <= 0 {
			v.rate = rateFromDTS(v.pre)
		}
		if v.bitrate <= 0 {
			bytes := 0
			for _, p := range v.pre[:len(v.pre)-1] {
				bytes += p.u.Size()
			}
			v.bitrate = 2_500_000
			if span > 0 {
				v.bitrate = min(max(int(float64(bytes*8)/span.Seconds()), 200_000), 50_000_000)
			}
		}
		return true
	}
}

// rateFromDTS returns the frame rate from the median DTS step, snapped to
// a usual rate when close to one (RTMP timestamps are whole milliseconds).
func rateFromDTS(qs []queued) float64 {
	var steps []time.Duration
	for i := 1; i < len(qs); i++ {
		if d := qs[i].u.DTS - qs[i-1].u.DTS; d > 0 {
			steps = append(steps, d)
		}
	}
	if len(steps) == 0 {
		return 30
	}
	slices.Sort(steps)
	f := float64(time.Second) / float64(steps[len(steps)/2])
	best, bestErr := f, 0.03
	for _, r := range []float64{24000.0 / 1001, 24, 25, 30000.0 / 1001, 30, 50, 60000.0 / 1001, 60} {
		if e := math.Abs(f-r) / r; e < bestErr {
			best, bestErr = r, e
		}
	}
	return best
}

// args are ffmpeg's arguments. The input side decodes each picture as soon
// as it is written (no stream analysis, one decoding thread: frame threads
// would each hold a picture); x264's zerolatency tune has no look-ahead and
// no frame threads, so a picture leaves as soon as it is encoded. FLV frames
// each picture with its length.
func (v *VideoReencoder) args() []string {
	br := strconv.Itoa(v.bitrate)
	a := []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
		"-probesize", "32", "-analyzeduration", "0", "-fflags", "nobuffer", "-nofind_stream_info",
		"-threads", "1",
		"-f", "h264", "-framerate", strconv.FormatFloat(v.rate, 'f', 3, 64), "-i", "pipe:0",
		"-map", "0:v:0", "-fps_mode", "passthrough", "-pix_fmt", "yuv420p",
		"-c:v", "libx264", "-preset", v.Preset, "-tune", "zerolatency", "-bf", "0",
		"-g", "100000", "-sc_threshold", "0", "-force_key_frames", "source", "-forced-idr", "1",
		"-b:v", br, "-maxrate", br, "-bufsize", br, "-udu_sei", "1",
	}
	if v.Profile != "" {
		a = append(a, "-profile:v", v.Profile)
	}
	return append(a, "-flush_packets", "1",
		"-flvflags", "no_sequence_end+no_metadata+no_duration_filesize", "-f", "flv", "pipe:1")
}

// frameMeta is what the re-encoder remembers of a picture written to ffmpeg.
type frameMeta struct {
	id  uint64
	pts time.Duration
	at  time.Time
}

// pendingFrames are the pictures of one child not yet out, in write order.
type pendingFrames struct {
	mu sync.Mutex
	q  []frameMeta
}

func (p *pendingFrames) add(m frameMeta) {
	p.mu.Lock()
	p.q = append(p.q, m)
	p.mu.Unlock()
}

// take removes and returns the picture with id. Pictures come out in
// presentation order, so pending pictures presented before it will never
// come out (ffmpeg dropped them): they are removed and counted.
func (p *pendingFrames) take(id uint64) (frameMeta, int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.IndexFunc(p.q, func(m frameMeta) bool { return m.id == id })
	if i < 0 {
		return frameMeta{}, 0, false
	}
	m := p.q[i]
	n := len(p.q)
	p.q = slices.DeleteFunc(p.q, func(e frameMeta) bool { return e.id == id || e.pts < m.pts })
	return m, n - len(p.q) - 1, true
}

// takeEarliest removes and returns the pending picture presented first:
// without a tag, that is the one ffmpeg outputs next.
func (p *pendingFrames) takeEarliest() (frameMeta, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.q) == 0 {
		return frameMeta{}, false
	}
	i := 0
	for j, m := range p.q {
		if m.pts < p.q[i].pts {
			i = j
		}
	}
	m := p.q[i]
	p.q = slices.Delete(p.q, i, i+1)
	return m, true
}

func (p *pendingFrames) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.q)
}

// serve runs one child: a goroutine writes Annex-B to its stdin while this
// one reads FLV from its stdout.
func (v *VideoReencoder) serve(stdin io.WriteCloser, stdout io.Reader) {
	pend := &pendingFrames{}
	v.lastOutAt.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		v.feed(stdin, pend, stop)
	}()
	if err := v.drain(stdout, pend); err != nil && !v.closed.Load() {
		v.Logger.Warn("reading ffmpeg's video output", "name", v.Name, "err", err)
	}
	close(stop)
	stdin.Close()
	<-fed
	if !v.closed.Load() {
		v.lost.Add(uint64(pend.len()))
	}
}

// feed writes pictures to the child, starting at a keyframe, until stop or
// a write error.
func (v *VideoReencoder) feed(stdin io.Writer, pend *pendingFrames, stop <-chan struct{}) {
	pre := v.pre
	v.pre = nil
	// The first child starts behind the input by the measured window and
	// its own start; pictures are late only when a restarted child finds
	// them waiting.
	restarted := pre == nil
	needKey := true
	var buf []byte
	write := func(q queued) error {
		if needKey && !q.u.Key {
			v.droppedIn.Add(1)
			return nil
		}
		needKey = false
		id := v.nextID
		v.nextID++
		pend.add(frameMeta{id: id, pts: q.u.PTS, at: q.at})
		buf = v.appendAnnexB(buf[:0], q.u, id)
		_, err := stdin.Write(buf)
		return err
	}
	for _, q := range pre {
		if write(q) != nil {
			return
		}
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	stallPictures := max(int(2*v.rate), 30)
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			last := time.Unix(0, v.lastOutAt.Load())
			if pend.len() > stallPictures && time.Since(last) > stallAfter {
				v.Logger.Warn("ffmpeg produces no video; killing it", "name", v.Name,
					"waiting_pictures", pend.len(), "since", time.Since(last).Round(time.Millisecond))
				if sup := v.sup.Load(); sup != nil {
					sup.Kill()
				}
				return
			}
		case q := <-v.queue:
			if restarted && time.Since(q.at) > staleAfter {
				// Late after a restart: drop it and what depends on it.
				v.droppedIn.Add(1)
				needKey = true
				continue
			}
			if write(q) != nil {
				return
			}
		}
	}
}

var (
	startCode = []byte{0, 0, 0, 1}
	// audNALU is an access unit delimiter (primary_pic_type 7: any slice).
	audNALU = []byte{byte(h264.NALUTypeAccessUnitDelimiter), 0xf0}
)

// appendAnnexB appends one picture for ffmpeg: SPS and PPS before a
// keyframe that lacks them, the tag SEI before the first slice, and then an
// access unit delimiter. The delimiter begins the next access unit: ffmpeg's
// H.264 parser only knows a picture has ended when something of the next
// one arrives, and without it every picture would wait for the next (one
// frame, 33 ms at 30 fps).
func (v *VideoReencoder) appendAnnexB(buf []byte, u *ingest.Unit, id uint64) []byte {
	return appendTaggedAnnexB(buf, v.Input, u, id)
}

// appendTaggedAnnexB is appendAnnexB for a stream with parameters in; the
// ladder encoder writes its pictures the same way.
func appendTaggedAnnexB(buf []byte, in *ingest.Video, u *ingest.Unit, id uint64) []byte {
	hasSPS := false
	for _, n := range u.NALUs {
		if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS {
			hasSPS = true
		}
	}
	if u.Key && !hasSPS {
		buf = append(append(buf, startCode...), in.SPS...)
		buf = append(append(buf, startCode...), in.PPS...)
	}
	tagged := false
	for _, n := range u.NALUs {
		if len(n) == 0 {
			continue
		}
		t := h264.NALUType(n[0] & 0x1f)
		if t == h264.NALUTypeAccessUnitDelimiter {
			continue
		}
		if !tagged && t >= h264.NALUTypeNonIDR && t <= h264.NALUTypeIDR {
			buf = append(append(buf, startCode...), tagSEI(id)...)
			tagged = true
		}
		buf = append(append(buf, startCode...), n...)
	}
	return append(append(buf, startCode...), audNALU...)
}

// drain reads the child's FLV until it ends and sends the pictures on.
func (v *VideoReencoder) drain(stdout io.Reader, pend *pendingFrames) error {
	f := &flvReader{r: stdout}
	var params *ingest.Video
	for {
		tag, err := f.next()
		if err != nil {
			return eofOK(err)
		}
		if tag.Type != 9 || len(tag.Data) < 5 || tag.Data[0]&0x0f != 7 {
			continue // not AVC video (script data)
		}
		switch tag.Data[1] {
		case 0: // AVCDecoderConfigurationRecord
			sps, pps, err := parseAVCConfig(tag.Data[5:])
			if err != nil {
				return err
			}
			p, err := ingest.NewH264(sps, pps)
			if err != nil {
				return err
			}
			params = p
			v.out.Store(p)
		case 1: // NAL units
			if params == nil {
				return errors.New("FLV picture before the AVC configuration")
			}
			var au h264.AVCC
			if err := au.Unmarshal(tag.Data[5:]); err != nil {
				return fmt.Errorf("FLV picture: %w", err)
			}
			v.emit(au, params, pend)
		}
	}
}

// emit sends one re-encoded picture, timed by the input picture it came from.
func (v *VideoReencoder) emit(nalus [][]byte, params *ingest.Video, pend *pendingFrames) {
	now := time.Now()
	out := make([][]byte, 0, len(nalus)+2)
	var id uint64
	tagged := false
	for _, n := range nalus {
		if tid, only, ok := readTagSEI(n); ok {
			id, tagged = tid, true
			if only {
				continue
			}
		}
		out = append(out, n)
	}
	var m frameMeta
	var ok bool
	if tagged {
		var skipped int
		m, skipped, ok = pend.take(id)
		v.lost.Add(uint64(skipped))
	} else {
		m, ok = pend.takeEarliest()
	}
	if !ok || len(out) == 0 {
		v.invalid.Add(1)
		return
	}
	v.lastOutAt.Store(now.UnixNano())
	key := h264.IsRandomAccess(out)
	if key {
		hasSPS := slices.ContainsFunc(out, func(n []byte) bool { return h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS })
		if !hasSPS {
			out = append([][]byte{params.SPS, params.PPS}, out...)
		}
	}
	if v.haveOut && m.pts <= v.lastOut {
		v.invalid.Add(1)
		return
	}
	if v.outWantKey && !key {
		v.droppedOut.Add(1)
		return
	}
	v.outWantKey = false
	v.lastOut, v.haveOut = m.pts, true
	d := now.Sub(m.at)
	if old := v.latency.Load(); old == 0 {
		v.latency.Store(int64(d))
	} else {
		v.latency.Store(old + (int64(d)-old)/16)
	}
	u := &ingest.Unit{
		Kind:     ingest.KindVideo,
		DTS:      m.pts,
		PTS:      m.pts,
		Received: now,
		Key:      key,
		NALUs:    out,
	}
	select {
	case v.units <- u:
		v.framesOut.Add(1)
	default:
		// The consumer must never get a picture whose reference it lost.
		v.droppedOut.Add(1)
		v.outWantKey = true
	}
}
