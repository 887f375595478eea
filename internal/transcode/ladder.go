package transcode

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/kastlive/kast/ingest"
)

// Rung is one rendition a Ladder makes.
type Rung struct {
	// Name names the rendition in logs, e.g. "480p".
	Name string
	// Height is the picture height; the width keeps the input's aspect
	// ratio, rounded to an even number.
	Height int
	// Bitrate in bits/s (x264's -b:v, -maxrate and a one-second -bufsize).
	Bitrate int
}

// Ladder re-encodes one stream's H.264 into lower renditions with a single
// ffmpeg child: the input is written to its stdin once (Annex-B, each
// picture tagged with an SEI sequence number, as VideoReencoder does),
// decoded once, split and scaled, and encoded by one libx264 per rung
// (-tune zerolatency -bf 0). Each rendition comes back as FLV on its own
// pipe: the first on stdout, the others on descriptors 3, 4, ... (the
// Supervisor's ExtraOutputs), so that no rendition waits for another in a
// muxer's interleaving.
//
// Keyframes are forced exactly where the input has them
// (-force_key_frames source survives split and scale) and nowhere else,
// and every output picture takes the PTS of the input picture it came from
// (DTS = PTS: no B-frames), so a packager can cut the renditions on the
// source's segment and part boundaries. The frame rate stays the input's.
//
// Write never blocks: when the queue to ffmpeg is full, pictures are
// dropped up to the next keyframe. A rendition whose consumer does not keep
// up loses pictures up to its next keyframe; the others go on.
type Ladder struct {
	// Input is the stream's H.264 parameters (ingest.NewH264).
	Input *ingest.Video
	// Rungs are the renditions, at least one.
	Rungs []Rung
	// FrameRate of the input; 0: from the SPS timing information, else
	// from the input's DTS.
	FrameRate float64
	// Preset is x264's (DefaultPreset when empty); Profile its profile
	// (empty: x264's choice, High).
	Preset  string
	Profile string
	// FFmpeg is the ffmpeg binary; empty: "ffmpeg" on PATH.
	FFmpeg string
	// QueueSize bounds the queues, in pictures (DefaultVideoQueue when 0).
	QueueSize   int
	MaxRestarts int
	Logger      *slog.Logger
	Name        string

	path      string
	outs      []*ladderOutput
	queue     chan queued
	sup       atomic.Pointer[Supervisor]
	closing   chan struct{}
	closeOnce sync.Once
	runDone   chan struct{}
	closed    atomic.Bool
	unavail   bool
	initErr   error
	errMu     sync.Mutex
	err       error
	wantKey   atomic.Bool

	rate float64
	pre  []queued

	nextID    uint64
	lastOutAt atomic.Int64

	framesIn, droppedIn, invalid atomic.Uint64
}

// ladderOutput is one rendition's side of the child.
type ladderOutput struct {
	rung    Rung
	params  atomic.Pointer[ingest.Video]
	units   chan *ingest.Unit
	pend    *pendingFrames // replaced for every child
	lastOut time.Duration
	haveOut bool
	wantKey bool

	framesOut, droppedOut, lost, invalid atomic.Uint64
	latency                              atomic.Int64
}

// Initialize checks the input, the rungs and ffmpeg and starts the
// ladder; ffmpeg itself starts at the first keyframe written. Without
// ffmpeg (or libx264) it returns an error wrapping ErrUnavailable.
func (l *Ladder) Initialize() error {
	err := l.initialize()
	if err != nil {
		l.initErr = err
		l.closed.Store(true)
		for _, o := range l.outs {
			close(o.units)
		}
	}
	return err
}

func (l *Ladder) initialize() error {
	if l.QueueSize <= 0 {
		l.QueueSize = DefaultVideoQueue
	}
	for _, r := range l.Rungs {
		l.outs = append(l.outs, &ladderOutput{rung: r, units: make(chan *ingest.Unit, l.QueueSize)})
	}
	if l.Input == nil || l.Input.Codec != ingest.CodecH264 || len(l.Input.SPS) == 0 || len(l.Input.PPS) == 0 {
		return errors.New("transcode: Ladder needs H.264 input parameters with SPS and PPS")
	}
	if len(l.Rungs) == 0 {
		return errors.New("transcode: Ladder needs at least one rung")
	}
	for _, r := range l.Rungs {
		if r.Height < 16 || r.Height > 4320 || r.Height%2 != 0 {
			return fmt.Errorf("transcode: rung %q: height %d is not an even number of pixels from 16 to 4320", r.Name, r.Height)
		}
		if r.Bitrate < 50_000 || r.Bitrate > 50_000_000 {
			return fmt.Errorf("transcode: rung %q: bitrate %d out of range 50k-50M", r.Name, r.Bitrate)
		}
	}
	if l.Preset == "" {
		l.Preset = DefaultPreset
	}
	if l.Logger == nil {
		l.Logger = slog.New(slog.DiscardHandler)
	}
	path, err := lookPath(l.FFmpeg)
	if err != nil {
		l.unavail = true
		return err
	}
	if err := checkEncoder(path, "libx264"); err != nil {
		l.unavail = true
		return err
	}
	l.path = path
	l.queue = make(chan queued, l.QueueSize)
	l.closing = make(chan struct{})
	l.runDone = make(chan struct{})
	go l.run()
	return nil
}

// Output returns the channel rendition i's pictures arrive on (DTS = PTS
// = the input picture's PTS); it is closed after Close or when the ladder
// gives up.
func (l *Ladder) Output(i int) <-chan *ingest.Unit { return l.outs[i].units }

// H264 returns the parameters of rendition i, nil until ffmpeg has written
// them (before its first picture). Every output keyframe also carries its
// SPS and PPS.
func (l *Ladder) H264(i int) *ingest.Video { return l.outs[i].params.Load() }

// Rate returns the frame rate the ladder encodes at, 0 until ffmpeg starts.
func (l *Ladder) Rate() float64 {
	if l.sup.Load() == nil {
		return 0
	}
	return l.rate
}

// Err returns why the ladder stopped by itself, nil otherwise.
func (l *Ladder) Err() error {
	if l.initErr != nil {
		return l.initErr
	}
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.err
}

// Write queues one picture of the input. It never blocks (see Ladder); it
// returns an error for a unit that is not a video picture and after Close.
func (l *Ladder) Write(u *ingest.Unit) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if u == nil || u.Kind != ingest.KindVideo || len(u.NALUs) == 0 {
		l.invalid.Add(1)
		return errNotPicture
	}
	if l.wantKey.Load() {
		if !u.Key {
			l.droppedIn.Add(1)
			return nil
		}
		l.wantKey.Store(false)
	}
	select {
	case l.queue <- queued{u: u, at: time.Now()}:
		l.framesIn.Add(1)
	default:
		l.droppedIn.Add(1)
		l.wantKey.Store(true)
	}
	return nil
}

// CPUSeconds returns the CPU time the ffmpeg children used, in seconds.
func (l *Ladder) CPUSeconds() float64 { return l.Stats().CPU.Seconds() }

// Close stops ffmpeg and closes the outputs.
func (l *Ladder) Close() error {
	if l.closing == nil {
		return nil
	}
	l.closed.Store(true)
	l.closeOnce.Do(func() { close(l.closing) })
	<-l.runDone
	return nil
}

// Stats returns the ladder's counters: FramesOut, DroppedOut, Lost and
// Invalid summed over the renditions, Latency their largest.
func (l *Ladder) Stats() Stats {
	s := Stats{
		FramesIn:  l.framesIn.Load(),
		DroppedIn: l.droppedIn.Load(),
		Invalid:   l.invalid.Load(),
	}
	for _, o := range l.outs {
		s.FramesOut += o.framesOut.Load()
		s.DroppedOut += o.droppedOut.Load()
		s.Lost += o.lost.Load()
		s.Invalid += o.invalid.Load()
		s.Latency = max(s.Latency, time.Duration(o.latency.Load()))
	}
	if l.unavail {
		s.State = StateUnavailable
		return s
	}
	if l.closing == nil {
		s.State = StateStopped
		return s
	}
	select {
	case <-l.runDone:
		s.State = StateStopped
		if l.Err() != nil {
			s.State = StateFailed
		}
	default:
		s.State = StateRestarting
	}
	if sup := l.sup.Load(); sup != nil {
		s.Restarts = sup.Restarts()
		s.CPU = sup.CPU()
		if s.State == StateRestarting && sup.Running() {
			s.State = StateRunning
		}
	} else if s.State == StateRestarting {
		s.State = StateRunning // waiting for the first keyframe
	}
	return s
}

func (l *Ladder) run() {
	defer close(l.runDone)
	defer func() {
		for _, o := range l.outs {
			close(o.units)
		}
	}()
	if !l.waitStart() {
		return
	}
	sup := &Supervisor{
		Path:         l.path,
		Args:         l.args(),
		ServeOutputs: l.serve,
		ExtraOutputs: len(l.outs) - 1,
		MaxRestarts:  l.MaxRestarts,
		Logger:       l.Logger,
		Name:         "ladder " + l.Name,
	}
	if err := sup.Initialize(); err != nil {
		l.setErr(err)
		return
	}
	l.sup.Store(sup)
	names := make([]string, len(l.Rungs))
	for i, r := range l.Rungs {
		names[i] = fmt.Sprintf("%s %dp %dk", r.Name, r.Height, r.Bitrate/1000)
	}
	l.Logger.Info("encoding renditions", "name", l.Name, "renditions", strings.Join(names, ", "),
		"fps", l.rate, "preset", l.Preset)
	select {
	case <-sup.Done():
		l.setErr(sup.Err())
	case <-l.closing:
		sup.Close()
	}
}

func (l *Ladder) setErr(err error) {
	l.errMu.Lock()
	l.err = err
	l.errMu.Unlock()
}

// waitStart waits for the first keyframe and, when the frame rate is not
// known from FrameRate or the SPS, for enough pictures to measure it. What
// it read goes to the first child.
func (l *Ladder) waitStart() bool {
	l.rate = l.FrameRate
	if l.rate <= 0 {
		var sps h264.SPS
		if sps.Unmarshal(l.Input.SPS) == nil {
			if f := sps.FPS(); f > 0 && f <= 240 {
				l.rate = f
			}
		}
	}
	for {
		var q queued
		select {
		case <-l.closing:
			return false
		case q = <-l.queue:
		}
		if len(l.pre) == 0 && !q.u.Key {
			l.droppedIn.Add(1)
			continue
		}
		l.pre = append(l.pre, q)
		if l.rate <= 0 && len(l.pre) < 3 {
			continue
		}
		if l.rate <= 0 {
			l.rate = rateFromDTS(l.pre)
		}
		return true
	}
}

// args are ffmpeg's arguments: the input side as VideoReencoder's (each
// picture decoded as soon as it is written), a split into one scaler per
// rung, and one zerolatency x264 and FLV muxer per rung. -r tells each
// encoder the frame rate for its rate control; passthrough keeps every
// picture (no frame is dropped or duplicated).
func (l *Ladder) args() []string {
	rate := strconv.FormatFloat(l.rate, 'f', 3, 64)
	a := []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
		"-probesize", "32", "-analyzeduration", "0", "-fflags", "nobuffer", "-nofind_stream_info",
		"-threads", "1",
		"-f", "h264", "-framerate", rate, "-i", "pipe:0",
	}
	var graph strings.Builder
	n := len(l.Rungs)
	if n == 1 {
		graph.WriteString("[0:v]null[s0];")
	} else {
		graph.WriteString("[0:v]split=" + strconv.Itoa(n))
		for i := range n {
			graph.WriteString("[s" + strconv.Itoa(i) + "]")
		}
		graph.WriteString(";")
	}
	for i, r := range l.Rungs {
		if i > 0 {
			graph.WriteString(";")
		}
		fmt.Fprintf(&graph, "[s%d]scale=-2:%d[o%d]", i, r.Height, i)
	}
	a = append(a, "-filter_complex", graph.String())
	for i, r := range l.Rungs {
		br := strconv.Itoa(r.Bitrate)
		a = append(a, "-map", "[o"+strconv.Itoa(i)+"]",
			"-fps_mode", "passthrough", "-r", rate, "-pix_fmt", "yuv420p",
			"-c:v", "libx264", "-preset", l.Preset, "-tune", "zerolatency", "-bf", "0",
			"-g", "100000", "-sc_threshold", "0", "-force_key_frames", "source", "-forced-idr", "1",
			"-b:v", br, "-maxrate", br, "-bufsize", br, "-udu_sei", "1")
		if l.Profile != "" {
			a = append(a, "-profile:v", l.Profile)
		}
		out := "pipe:1"
		if i > 0 {
			out = "pipe:" + strconv.Itoa(i+2)
		}
		a = append(a, "-flush_packets", "1",
			"-flvflags", "no_sequence_end+no_metadata+no_duration_filesize", "-f", "flv", out)
	}
	return a
}

// serve runs one child: a goroutine writes the input to its stdin while
// one goroutine per rendition reads that rendition's FLV.
func (l *Ladder) serve(stdin io.WriteCloser, outputs []io.Reader) {
	pends := make([]*pendingFrames, len(l.outs))
	for i, o := range l.outs {
		pends[i] = &pendingFrames{}
		o.pend = pends[i]
	}
	l.lastOutAt.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		l.feed(stdin, pends, stop)
	}()
	var wg sync.WaitGroup
	var once sync.Once
	for i, r := range outputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := l.drain(l.outs[i], r)
			if err != nil && !l.closed.Load() {
				l.Logger.Warn("reading ffmpeg's rendition", "name", l.Name, "rendition", l.outs[i].rung.Name, "err", err)
			}
			// A rendition that cannot be read ends the child: the
			// restarted one serves every rendition again.
			if err != nil {
				once.Do(func() {
					if sup := l.sup.Load(); sup != nil {
						sup.Kill()
					}
				})
			}
		}()
	}
	wg.Wait()
	close(stop)
	stdin.Close()
	<-fed
	if !l.closed.Load() {
		for i, o := range l.outs {
			o.lost.Add(uint64(pends[i].len()))
		}
	}
}

// feed writes pictures to the child, starting at a keyframe, until stop or
// a write error; see VideoReencoder.feed.
func (l *Ladder) feed(stdin io.Writer, pends []*pendingFrames, stop <-chan struct{}) {
	pre := l.pre
	l.pre = nil
	restarted := pre == nil
	needKey := true
	var buf []byte
	write := func(q queued) error {
		if needKey && !q.u.Key {
			l.droppedIn.Add(1)
			return nil
		}
		needKey = false
		id := l.nextID
		l.nextID++
		for _, p := range pends {
			p.add(frameMeta{id: id, pts: q.u.PTS, at: q.at})
		}
		buf = appendTaggedAnnexB(buf[:0], l.Input, q.u, id)
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
	stallPictures := max(int(2*l.rate), 30)
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			last := time.Unix(0, l.lastOutAt.Load())
			if pends[0].len() > stallPictures && time.Since(last) > stallAfter {
				l.Logger.Warn("ffmpeg produces no renditions; killing it", "name", l.Name,
					"waiting_pictures", pends[0].len(), "since", time.Since(last).Round(time.Millisecond))
				if sup := l.sup.Load(); sup != nil {
					sup.Kill()
				}
				return
			}
		case q := <-l.queue:
			if restarted && time.Since(q.at) > staleAfter {
				l.droppedIn.Add(1)
				needKey = true
				continue
			}
			if write(q) != nil {
				return
			}
		}
	}
}

// drain reads one rendition's FLV until it ends.
func (l *Ladder) drain(o *ladderOutput, r io.Reader) error {
	f := &flvReader{r: r}
	var params *ingest.Video
	for {
		tag, err := f.next()
		if err != nil {
			return eofOK(err)
		}
		if tag.Type != 9 || len(tag.Data) < 5 || tag.Data[0]&0x0f != 7 {
			continue
		}
		switch tag.Data[1] {
		case 0:
			sps, pps, err := parseAVCConfig(tag.Data[5:])
			if err != nil {
				return err
			}
			p, err := ingest.NewH264(sps, pps)
			if err != nil {
				return err
			}
			params = p
			if old := o.params.Load(); old == nil || !(ingest.Media{Video: old}).Equal(ingest.Media{Video: p}) {
				o.params.Store(p)
			}
		case 1:
			if params == nil {
				return errors.New("FLV picture before the AVC configuration")
			}
			var au h264.AVCC
			if err := au.Unmarshal(tag.Data[5:]); err != nil {
				return fmt.Errorf("FLV picture: %w", err)
			}
			l.emit(o, au, params)
		}
	}
}

// emit sends one picture of a rendition, timed by its input picture.
func (l *Ladder) emit(o *ladderOutput, nalus [][]byte, params *ingest.Video) {
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
		m, skipped, ok = o.pend.take(id)
		o.lost.Add(uint64(skipped))
	} else {
		m, ok = o.pend.takeEarliest()
	}
	if !ok || len(out) == 0 {
		o.invalid.Add(1)
		return
	}
	l.lastOutAt.Store(now.UnixNano())
	key := h264.IsRandomAccess(out)
	if key && !slices.ContainsFunc(out, func(n []byte) bool { return h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS }) {
		out = append([][]byte{params.SPS, params.PPS}, out...)
	}
	if o.haveOut && m.pts <= o.lastOut {
		o.invalid.Add(1)
		return
	}
	if o.wantKey && !key {
		o.droppedOut.Add(1)
		return
	}
	o.wantKey = false
	o.lastOut, o.haveOut = m.pts, true
	d := now.Sub(m.at)
	if old := o.latency.Load(); old == 0 {
		o.latency.Store(int64(d))
	} else {
		o.latency.Store(old + (int64(d)-old)/16)
	}
	u := &ingest.Unit{Kind: ingest.KindVideo, DTS: m.pts, PTS: m.pts, Received: now, Key: key, NALUs: out}
	select {
	case o.units <- u:
		o.framesOut.Add(1)
	default:
		o.droppedOut.Add(1)
		o.wantKey = true
	}
}

// CheckLadder returns an error wrapping ErrUnavailable when the ffmpeg
// binary (empty: "ffmpeg" on PATH) cannot run a Ladder: missing, or built
// without libx264.
func CheckLadder(ffmpeg string) error {
	path, err := lookPath(ffmpeg)
	if err != nil {
		return err
	}
	return checkEncoder(path, "libx264")
}
