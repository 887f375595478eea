package transcode

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/kastlive/kast/ingest"
)

// Defaults of AACToOpus.
const (
	DefaultOpusBitrate = 96000
	// DefaultAudioQueue is the room, in frames, between Write and ffmpeg
	// and between ffmpeg and the consumer: about 1.4 s of 44.1 kHz AAC.
	DefaultAudioQueue = 64
)

// Timings of the audio pipeline.
const (
	// staleAfter: a frame that waited longer than this to be written to
	// ffmpeg (the child was restarting) is dropped rather than played late.
	staleAfter = 500 * time.Millisecond
	// stallAfter: a child that produced nothing for this long although
	// frames wait on it is killed and restarted.
	stallAfter = 3 * time.Second
	// stallFrames is how many written frames may wait without output
	// before the child counts as stalled (ffmpeg legitimately holds one or
	// two: the Ogg muxer keeps the last page until the next).
	stallFrames = 8
	// snapWithin: an output packet this close to where the previous one
	// ended is placed exactly there.
	snapWithin = 2 * time.Millisecond
)

// AACToOpus transcodes one stream's AAC audio to Opus through an ffmpeg
// child process (ADTS in, Ogg/Opus out), for WebRTC viewers: browsers take
// Opus, OBS sends AAC over RTMP. Run one per stream, never per viewer.
//
// Write never blocks: frames go through a bounded queue and are dropped
// (counted in Stats) when ffmpeg falls behind. Opus packets come out on
// Output() with DTS = PTS on the input's clock, so they stay in sync with
// the stream's video. When ffmpeg dies it is restarted and the timeline
// continues; after too many exits the transcoder gives up, closes Output()
// and Err says why.
type AACToOpus struct {
	// Input is the AAC stream's parameters (ingest.NewAAC).
	Input *ingest.Audio
	// Bitrate of the Opus output in bits/s (DefaultOpusBitrate when 0).
	Bitrate int
	// FFmpeg is the ffmpeg binary; empty: "ffmpeg" on PATH.
	FFmpeg string
	// QueueSize bounds both queues, in frames (DefaultAudioQueue when 0).
	QueueSize int
	// MaxRestarts within a minute before giving up (default 5).
	MaxRestarts int
	Logger      *slog.Logger
	Name        string // in logs, e.g. the track's name

	out      *ingest.Audio
	rate     int // AAC core sample rate
	frameLen int // samples per AAC frame
	sup      Supervisor
	queue    chan queued
	units    chan *ingest.Unit
	closed   atomic.Bool
	unavail  bool
	initErr  error
	doneOnce sync.Once

	// Touched only by the feeding goroutine of the current child; children
	// run one after the other.
	lastIn    time.Duration
	haveIn    bool
	lastOut   time.Duration // end of the last packet sent (PTS + duration)
	haveOut   bool
	lastOutAt atomic.Int64 // unix ns of the last packet out, or of the child's start

	framesIn, framesOut, droppedIn, droppedOut, invalid, lost atomic.Uint64
	latency                                                   atomic.Int64 // EWMA, ns
}

// ErrClosed is returned by Write after Close, or after the transcoder gave
// up (its Err says why).
var ErrClosed = errors.New("transcoder closed")

var errNotAAC = errors.New("not an AAC frame (an audio unit of 1 to 8184 bytes)")

type queued struct {
	u  *ingest.Unit
	at time.Time
}

// Initialize checks the input and ffmpeg and starts the child. Without
// ffmpeg (or without its libopus encoder) it returns an error wrapping
// ErrUnavailable; Stats then reports StateUnavailable.
func (t *AACToOpus) Initialize() error {
	err := t.initialize()
	if err != nil {
		t.initErr = err
		t.units = make(chan *ingest.Unit)
		close(t.units)
		t.closed.Store(true)
	}
	return err
}

func (t *AACToOpus) initialize() error {
	in := t.Input
	if in == nil || in.Codec != ingest.CodecAAC || in.AAC == nil {
		return errors.New("transcode: AACToOpus needs AAC input parameters")
	}
	cfg := in.AAC
	if cfg.SampleRate <= 0 {
		return fmt.Errorf("transcode: invalid AAC sample rate %d", cfg.SampleRate)
	}
	t.rate = cfg.SampleRate
	t.frameLen = 1024
	if cfg.FrameLengthFlag {
		t.frameLen = 960
	}
	if _, err := t.adts(nil); err != nil {
		return fmt.Errorf("transcode: AAC configuration cannot be carried in ADTS: %w", err)
	}
	channels := 2
	if in.Channels == 1 {
		channels = 1
	}
	t.out = ingest.NewOpus(channels)
	if t.Bitrate <= 0 {
		t.Bitrate = DefaultOpusBitrate
	}
	if t.QueueSize <= 0 {
		t.QueueSize = DefaultAudioQueue
	}
	if t.Logger == nil {
		t.Logger = slog.New(slog.DiscardHandler)
	}
	path, err := lookPath(t.FFmpeg)
	if err != nil {
		t.unavail = true
		return err
	}
	if err := checkEncoder(path, "libopus"); err != nil {
		t.unavail = true
		return err
	}
	t.queue = make(chan queued, t.QueueSize)
	t.units = make(chan *ingest.Unit, t.QueueSize)
	t.lastOutAt.Store(time.Now().UnixNano())
	t.sup = Supervisor{
		Path:        path,
		Args:        t.args(),
		Serve:       t.serve,
		MaxRestarts: t.MaxRestarts,
		Logger:      t.Logger,
		Name:        "aac-to-opus " + t.Name,
	}
	if err := t.sup.Initialize(); err != nil {
		return err
	}
	go func() {
		<-t.sup.Done()
		t.finish()
	}()
	return nil
}

// args are ffmpeg's arguments. The input side reads no more than it must
// before decoding (-nofind_stream_info alone saves one AAC frame, 21 ms:
// stream analysis keeps a frame buffered for good); one Opus packet per Ogg
// page so each page can be handed on as soon as it is read.
func (t *AACToOpus) args() []string {
	return []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
		"-probesize", "32", "-analyzeduration", "0", "-fflags", "nobuffer", "-nofind_stream_info",
		"-f", "aac", "-i", "pipe:0",
		"-map", "0:a:0", "-c:a", "libopus", "-application", "lowdelay", "-frame_duration", "20",
		"-b:a", strconv.Itoa(t.Bitrate), "-ar", "48000", "-ac", strconv.Itoa(t.out.Channels),
		"-flush_packets", "1", "-page_duration", "1", "-f", "ogg", "pipe:1",
	}
}

// Opus returns the parameters of the Opus units (48 kHz, 1 or 2 channels).
func (t *AACToOpus) Opus() *ingest.Audio { return t.out }

// Output returns the channel the Opus packets arrive on; it is closed after
// Close or when the transcoder gives up.
func (t *AACToOpus) Output() <-chan *ingest.Unit { return t.units }

// Err returns why the transcoder stopped by itself (ffmpeg kept failing,
// or Initialize's error); nil while it runs and after Close.
func (t *AACToOpus) Err() error {
	if t.initErr != nil {
		return t.initErr
	}
	if t.queue == nil {
		return nil
	}
	return t.sup.Err()
}

// Write queues one AAC unit (an audio unit holding a raw_data_block). It
// never blocks: when the queue is full the unit is dropped and counted in
// Stats, and Write returns nil. It returns an error for a unit that is not
// an AAC frame (counted as Invalid) and after Close.
func (t *AACToOpus) Write(u *ingest.Unit) error {
	if t.closed.Load() {
		return ErrClosed
	}
	if u == nil || u.Kind != ingest.KindAudio || len(u.Frame) == 0 || len(u.Frame) > 8191-7 {
		t.invalid.Add(1)
		return errNotAAC
	}
	select {
	case t.queue <- queued{u: u, at: time.Now()}:
		t.framesIn.Add(1)
	default:
		t.droppedIn.Add(1)
	}
	return nil
}

// CPUSeconds returns the CPU time ffmpeg used, in seconds (Stats().CPU).
func (t *AACToOpus) CPUSeconds() float64 { return t.Stats().CPU.Seconds() }

// Close stops ffmpeg and closes Output(). It does not block on the consumer.
func (t *AACToOpus) Close() error {
	if t.queue == nil {
		return nil
	}
	t.closed.Store(true)
	err := t.sup.Close()
	t.finish()
	return err
}

func (t *AACToOpus) finish() {
	t.doneOnce.Do(func() {
		t.closed.Store(true)
		close(t.units)
	})
}

// Stats returns the counters and state.
func (t *AACToOpus) Stats() Stats {
	s := Stats{
		FramesIn:   t.framesIn.Load(),
		FramesOut:  t.framesOut.Load(),
		DroppedIn:  t.droppedIn.Load(),
		DroppedOut: t.droppedOut.Load(),
		Invalid:    t.invalid.Load(),
		Lost:       t.lost.Load(),
		Latency:    time.Duration(t.latency.Load()),
	}
	switch {
	case t.unavail:
		s.State = StateUnavailable
		return s
	case t.queue == nil:
		s.State = StateStopped
		return s
	}
	s.Restarts = t.sup.Restarts()
	s.CPU = t.sup.CPU()
	select {
	case <-t.sup.Done():
		s.State = StateStopped
		if t.sup.Err() != nil {
			s.State = StateFailed
		}
	default:
		s.State = StateRestarting
		if t.sup.Running() {
			s.State = StateRunning
		}
	}
	return s
}

// serve runs one child: a goroutine writes ADTS to its stdin while this
// one reads Ogg pages from its stdout.
func (t *AACToOpus) serve(stdin io.WriteCloser, stdout io.Reader) {
	clk := newAACClock(t.rate, t.frameLen)
	t.lastOutAt.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		t.feed(stdin, clk, stop)
	}()
	if err := t.drain(stdout, clk); err != nil && !t.closed.Load() {
		t.Logger.Warn("reading ffmpeg's Opus output", "name", t.sup.Name, "err", err)
	}
	close(stop)
	stdin.Close() // wakes a write blocked on a full pipe
	<-fed
	if !t.closed.Load() {
		// The Ogg muxer holds the last page: one frame or two always wait.
		t.lost.Add(uint64(max(clk.pending()-2, 0)))
	}
}

// feed writes queued frames to the child as ADTS until stop or a write
// error (the child is gone). It also watches for a child that stalls.
func (t *AACToOpus) feed(stdin io.Writer, clk *aacClock, stop <-chan struct{}) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			last := time.Unix(0, t.lastOutAt.Load())
			if clk.pending() > stallFrames && time.Since(last) > stallAfter {
				t.Logger.Warn("ffmpeg produces no Opus; killing it", "name", t.sup.Name,
					"waiting_frames", clk.pending(), "since", time.Since(last).Round(time.Millisecond))
				t.sup.Kill()
				return
			}
		case q := <-t.queue:
			if time.Since(q.at) > staleAfter {
				t.droppedIn.Add(1)
				continue
			}
			if t.haveIn && q.u.PTS <= t.lastIn {
				t.invalid.Add(1)
				continue
			}
			buf, err := t.adts(q.u.Frame)
			if err != nil {
				t.invalid.Add(1)
				continue
			}
			t.lastIn, t.haveIn = q.u.PTS, true
			clk.add(q.u.PTS, q.at)
			if _, err := stdin.Write(buf); err != nil {
				return
			}
		}
	}
}

// adts wraps one AU in an ADTS header for the stream's configuration.
// ADTS can only say AAC LC/Main/SSR/LTP; HE-AAC travels as LC at the core
// rate (implicit SBR signalling), which ffmpeg's decoder detects.
func (t *AACToOpus) adts(au []byte) ([]byte, error) {
	cfg := t.Input.AAC
	return mpeg4audio.ADTSPackets{{
		Type: cfg.Type, SampleRate: cfg.SampleRate, ChannelConfig: cfg.ChannelConfig, AU: au,
	}}.Marshal()
}

// drain reads the child's Ogg stream until it ends and sends the Opus
// packets on, timed on the input's clock.
func (t *AACToOpus) drain(stdout io.Reader, clk *aacClock) error {
	r, err := oggreader.NewWithOptions(stdout)
	if err != nil {
		return err
	}
	payload, _, err := r.ParseNextPage()
	if err != nil {
		return eofOK(err)
	}
	head, err := oggreader.ParseOpusHead(payload)
	if err != nil {
		return fmt.Errorf("first Ogg page: %w", err)
	}
	preSkip := int64(head.PreSkip)

	var expect int64 // 48 kHz position the next packet should start at
	var prevGranule uint64
	first := true
	for {
		payload, hdr, err := r.ParseNextPage()
		if err != nil {
			return eofOK(err)
		}
		if typ, ok := hdr.HeaderType(payload); ok && typ == oggreader.HeaderOpusTags {
			continue
		}
		now := time.Now()
		g := hdr.GranulePosition
		dur := opus.PacketDuration2(payload)
		if dur <= 0 || g == ^uint64(0) || (!first && abs64(int64(g-prevGranule)-dur) > 48) {
			// ffmpeg writes one packet per page (-page_duration 1); a page
			// with several (the granule advances by more than the first
			// packet's duration, not just ffmpeg's rounding) would need its
			// lacing values to split it.
			t.invalid.Add(1)
			prevGranule = g
			continue
		}
		prevGranule = g

		// Granule g counts the samples decoded up to the end of this packet,
		// the encoder's pre-skip included: the packet holds input samples
		// [g-dur-preSkip, g-preSkip). ffmpeg rounds its timestamps, so the
		// granule can be a sample off; keep the timeline exact when it is.
		start := int64(g) - dur - preSkip
		if !first && abs64(start-expect) <= 48 {
			start = expect
		}
		first = false
		expect = start + dur

		pts, ok := clk.pts(start)
		if !ok {
			continue
		}
		if at, ok := clk.writtenAt(start + dur + preSkip - 1); ok {
			t.observeLatency(now.Sub(at))
		}
		clk.release(start)
		t.lastOutAt.Store(now.UnixNano())

		d := time.Duration(dur) * time.Second / 48000
		if t.haveOut {
			switch diff := pts - t.lastOut; {
			case diff > -snapWithin && diff < snapWithin:
				// RTMP timestamps are whole milliseconds: follow on from the
				// previous packet exactly, so RTP timestamps step by the
				// packet duration, until the input clock has drifted away.
				pts = t.lastOut
			case diff < -d/2:
				// Would go back in time (a restarted child repeating what
				// the previous one sent): drop.
				t.invalid.Add(1)
				continue
			case diff < 0:
				// A restarted child's first packet overlaps the previous
				// child's last one by the encoder delay.
				pts = t.lastOut
			}
		}
		t.lastOut, t.haveOut = pts+d, true

		u := &ingest.Unit{
			Kind:     ingest.KindAudio,
			DTS:      pts,
			PTS:      pts,
			Received: now,
			Key:      true,
			Frame:    payload,
		}
		select {
		case t.units <- u:
			t.framesOut.Add(1)
		default:
			t.droppedOut.Add(1)
		}
	}
}

func (t *AACToOpus) observeLatency(d time.Duration) {
	old := t.latency.Load()
	if old == 0 {
		t.latency.Store(int64(d))
		return
	}
	t.latency.Store(old + (int64(d)-old)/16)
}

func eofOK(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return err
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
