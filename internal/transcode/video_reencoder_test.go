package transcode

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

func newReencoder(t *testing.T, in *ingest.Video) *VideoReencoder {
	t.Helper()
	testutil.RequireTool(t, "ffmpeg")
	v := &VideoReencoder{Input: in, Name: t.Name()}
	if err := v.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// feedVideo writes units at speed x real time (paced by their DTS).
func feedVideo(w interface{ Write(*ingest.Unit) error }, us []*ingest.Unit, speed float64, stop <-chan struct{}) {
	start := time.Now()
	for _, u := range us {
		due := start.Add(time.Duration(float64(u.DTS-us[0].DTS) / speed))
		select {
		case <-time.After(time.Until(due)):
		case <-stop:
			return
		}
		w.Write(u)
	}
}

func hasBFrames(pictTypes string) bool { return strings.Contains(pictTypes, "B") }

// A stream with B-frames (OBS's x264 default, bframes=2) comes out without
// any, with its keyframes where the input has them, every picture on the
// input's PTS, at about the input's bitrate, and decodes without errors.
func TestVideoReencoderRemovesBFrames(t *testing.T) {
	clip := makeH264(t, "640x360", 30, 2, "1000k", 4*time.Second)
	if types := pictTypes(t, writeAnnexB(t, clip.units)); !hasBFrames(types) {
		t.Fatalf("the input has no B-frames: %s", types)
	}
	v := newReencoder(t, clip.video)
	res := collect(v.Output())
	feedVideo(v, clip.units, 1, nil)
	time.Sleep(300 * time.Millisecond)
	st := v.Stats()
	v.Close()
	out := <-res
	t.Logf("%d pictures in, %d out; stats %+v", len(clip.units), len(out), st)

	if st.DroppedIn+st.DroppedOut+st.Invalid+st.Lost != 0 || st.State != StateRunning {
		t.Fatalf("stats %+v", st)
	}
	p := v.H264()
	if p == nil || p.Width != 640 || p.Height != 360 {
		t.Fatalf("output parameters %+v", p)
	}
	// ffmpeg's decoder holds up to two pictures to reorder them; they are
	// still inside when the input ends.
	if len(out) < len(clip.units)-3 {
		t.Fatalf("%d pictures out of %d", len(out), len(clip.units))
	}
	inPTS := map[time.Duration]bool{}
	var inKeys []time.Duration
	for _, u := range clip.units {
		inPTS[u.PTS] = true
		if u.Key {
			inKeys = append(inKeys, u.PTS)
		}
	}
	var outKeys []time.Duration
	for i, u := range out {
		if u.DTS != u.PTS {
			t.Fatalf("picture %d: DTS %v != PTS %v", i, u.DTS, u.PTS)
		}
		if i > 0 && u.PTS <= out[i-1].PTS {
			t.Fatalf("picture %d at %v after %v", i, u.PTS, out[i-1].PTS)
		}
		if !inPTS[u.PTS] {
			t.Fatalf("picture %d at %v: no input picture has that PTS", i, u.PTS)
		}
		if u.Key {
			outKeys = append(outKeys, u.PTS)
			if !slices.ContainsFunc(u.NALUs, func(n []byte) bool { return h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS }) {
				t.Fatalf("keyframe %d without SPS", i)
			}
		}
		for _, n := range u.NALUs {
			if _, _, ok := readTagSEI(n); ok {
				t.Fatalf("picture %d still carries kast's tag", i)
			}
		}
	}
	if !out[0].Key || !slices.Equal(outKeys, inKeys[:len(outKeys)]) || len(outKeys) < len(inKeys)-1 {
		t.Fatalf("keyframes at %v, input's at %v", outKeys, inKeys)
	}

	path := writeAnnexB(t, out)
	types := pictTypes(t, path)
	if hasBFrames(types) {
		t.Fatalf("B-frames in the output: %s", types)
	}
	t.Logf("output pictures: %s", types)
	// Decodes with no error at all (-xerror stops at the first).
	if o, err := testutil.Run(t, time.Minute, "-hide_banner", "-v", "error", "-xerror", "-i", path, "-f", "null", "-"); err != nil || o != "" {
		t.Fatalf("decoding the output: %v\n%s", err, o)
	}

	outBytes := 0
	for _, u := range out {
		outBytes += u.Size()
	}
	ratio := float64(outBytes) / float64(clip.bytes) * float64(len(clip.units)) / float64(len(out))
	t.Logf("output %d bytes for input %d (ratio %.2f); latency %v, CPU %v", outBytes, clip.bytes, ratio, st.Latency, st.CPU)
	if ratio < 0.5 || ratio > 1.5 {
		t.Fatalf("output/input size ratio %.2f", ratio)
	}
}

// Close returns while the re-encoder still waits for its first keyframe.
func TestVideoReencoderCloseBeforeStart(t *testing.T) {
	clip := makeH264(t, "320x240", 30, 0, "300k", time.Second)
	v := newReencoder(t, clip.video)
	for _, u := range clip.units[1:5] { // no keyframe
		v.Write(u)
	}
	time.Sleep(50 * time.Millisecond)
	if v.sup.Load() != nil {
		t.Fatal("ffmpeg started without a keyframe")
	}
	done := make(chan struct{})
	go func() {
		v.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked")
	}
	if _, ok := <-v.Output(); ok {
		t.Fatal("Output() open after Close")
	}
	if st := v.Stats(); st.State != StateStopped || st.DroppedIn != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestVideoReencoderWithoutFFmpeg(t *testing.T) {
	clip := makeH264(t, "320x240", 30, 0, "300k", time.Second/2)
	t.Setenv("PATH", t.TempDir())
	v := &VideoReencoder{Input: clip.video}
	err := v.Initialize()
	if !errors.Is(err, ErrUnavailable) || v.Stats().State != StateUnavailable {
		t.Fatalf("Initialize without ffmpeg: %v, state %v", err, v.Stats().State)
	}
	v.Write(clip.units[0])
	v.Close()
	if (&VideoReencoder{Input: ingest.NewVP8(640, 360)}).Initialize() == nil {
		t.Fatal("VP8 input accepted")
	}
}

func TestRateFromDTS(t *testing.T) {
	mk := func(steps ...time.Duration) []queued {
		var qs []queued
		var d time.Duration
		for _, s := range steps {
			d += s
			qs = append(qs, queued{u: &ingest.Unit{DTS: d}})
		}
		return qs
	}
	ms := time.Millisecond
	for _, tc := range []struct {
		qs   []queued
		want float64
	}{
		{mk(0, 33*ms, 34*ms, 33*ms), 30},
		{mk(0, 40*ms, 40*ms), 25},
		{mk(0, 17*ms, 16*ms, 17*ms), 60000.0 / 1001}, // RTMP's 16/17 ms steps: either fits
		{mk(0, 100*ms, 100*ms), 10},
		{mk(0), 30},
	} {
		if got := rateFromDTS(tc.qs); got != tc.want {
			t.Errorf("rateFromDTS = %v, want %v", got, tc.want)
		}
	}
}
