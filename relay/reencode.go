package relay

import (
	"sync"

	"github.com/kastlive/kast/ingest"
)

// reencodedProfile is the H.264 profile the answer offers for re-encoded
// video: x264's default, High, which browsers decode over WebRTC.
const reencodedProfile = 100

// videoReencode is a forwarder's re-encoding of its stream's video without
// B-frames (Relay.ReencodeBFrames). The transcoder starts aside, so that
// the audio does not wait for ffmpeg; until it is ready video units are
// dropped (its output starts on a keyframe anyway).
type videoReencode struct {
	ready chan VideoTranscoder // the transcoder once started (nil when it failed)
	wg    sync.WaitGroup

	mu sync.Mutex // guards vt for cpu
	vt VideoTranscoder

	out <-chan *ingest.Unit // goroutine only
	on  bool                // goroutine only: video goes through vt
}

// startReencode starts the video transcoder of f when its stream's video
// needs one.
func (f *forwarder) startReencode(v *ingest.Video) {
	r := f.relay
	if r.ReencodeBFrames == nil || r.BFrames == nil || v.Codec != ingest.CodecH264 || !r.BFrames(v) {
		return
	}
	re := &videoReencode{ready: make(chan VideoTranscoder, 1), on: true}
	f.reencode = re
	re.wg.Add(1)
	go func() {
		defer re.wg.Done()
		vt, err := r.ReencodeBFrames(v)
		if err != nil {
			r.stats.videoTranscoderFailures.Add(1)
			r.Logger.Warn("WebRTC viewers get the video as it is (browsers show its keyframes only): the re-encode without B-frames did not start",
				"track", f.stream.Track, "err", err)
			re.ready <- nil
			return
		}
		r.stats.videoTranscoders.Add(1)
		select {
		case <-f.stop:
			re.closeVT(r, vt)
		default:
			re.ready <- vt
		}
	}()
}

// reencodeReady takes the started transcoder (nil: it failed).
func (f *forwarder) reencodeReady(vt VideoTranscoder) {
	re := f.reencode
	if vt == nil {
		re.on = false
		return
	}
	re.mu.Lock()
	re.vt = vt
	re.mu.Unlock()
	re.out = vt.Output()
}

// reencodedOutput is the running transcoder's output, nil without one.
func (f *forwarder) reencodedOutput() <-chan *ingest.Unit {
	if f.reencode == nil {
		return nil
	}
	return f.reencode.out
}

// reencodeUnit hands a unit of the source's video to the transcoder.
func (f *forwarder) reencodeUnit(u *ingest.Unit) {
	re := f.reencode
	re.mu.Lock()
	vt := re.vt
	re.mu.Unlock()
	if vt == nil {
		return // not started yet
	}
	if err := vt.Write(u); err != nil {
		f.relay.stats.dropWrite.Add(1)
	}
}

// reencodedUnit sends one re-encoded unit, or notes a transcoder that
// stopped (it restarts its own process; a closed output means it gave
// up): the source's video goes out as it is from then on.
func (f *forwarder) reencodedUnit(u *ingest.Unit, ok bool) {
	re := f.reencode
	if !ok {
		re.out, re.on = nil, false
		select {
		case <-f.stop:
			return
		default:
		}
		f.relay.stats.videoTranscoderFailures.Add(1)
		f.relay.Logger.Warn("WebRTC viewers get the video as it is (browsers show its keyframes only): the re-encode without B-frames stopped",
			"track", f.stream.Track)
		re.close(f.relay)
		return
	}
	t := f.videoTrack
	re.mu.Lock()
	params := re.vt.H264()
	re.mu.Unlock()
	if t == nil || params == nil || !f.origin {
		return
	}
	f.send(t, true, packetizeH264(u.NALUs, u.Key, params.SPS, params.PPS, maxPayload), u.PTS, u.Key)
}

// cpu reports the running transcoder's CPU seconds.
func (re *videoReencode) cpu() (float64, bool) {
	re.mu.Lock()
	defer re.mu.Unlock()
	if c, ok := re.vt.(CPUReporter); ok {
		return c.CPUSeconds(), true
	}
	return 0, false
}

// close stops the transcoder, also one that finished starting after the
// forwarder's goroutine left.
func (re *videoReencode) close(r *Relay) {
	re.mu.Lock()
	vt := re.vt
	re.vt = nil
	re.mu.Unlock()
	if vt != nil {
		re.closeVT(r, vt)
	}
}

func (re *videoReencode) closeVT(r *Relay, vt VideoTranscoder) {
	if c, ok := vt.(CPUReporter); ok {
		r.stats.videoTranscoderCPUPastE6.Add(uint64(c.CPUSeconds() * 1e6))
	}
	vt.Close()
	r.stats.videoTranscoders.Add(-1)
}

// closeAfterStart closes the transcoder of a forwarder that has stopped,
// waiting for one still starting.
func (re *videoReencode) closeAfterStart(r *Relay) {
	re.close(r)
	re.wg.Wait()
	select {
	case vt := <-re.ready:
		if vt != nil {
			re.closeVT(r, vt)
		}
	default:
	}
}
