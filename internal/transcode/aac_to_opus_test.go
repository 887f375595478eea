package transcode

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

func newAACToOpus(t *testing.T, in *ingest.Audio) *AACToOpus {
	t.Helper()
	testutil.RequireTool(t, "ffmpeg")
	tr := &AACToOpus{Input: in, Name: t.Name()}
	if err := tr.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// checkTimeline checks that packets follow each other without overlap and
// returns the largest gap between them.
func checkTimeline(t *testing.T, out []*ingest.Unit) time.Duration {
	t.Helper()
	var gap time.Duration
	for i := 1; i < len(out); i++ {
		prevEnd := out[i-1].PTS + 20*time.Millisecond
		if out[i].PTS < prevEnd {
			t.Fatalf("packet %d at %v starts before packet %d ends (%v)", i, out[i].PTS, i-1, prevEnd)
		}
		if out[i].DTS != out[i].PTS {
			t.Fatalf("packet %d: DTS %v != PTS %v", i, out[i].DTS, out[i].PTS)
		}
		gap = max(gap, out[i].PTS-prevEnd)
	}
	return gap
}

// An AAC sine comes out as Opus packets that decode to the same tone, on
// the input's clock, 20 ms apart; and a tone burst is heard at the time it
// was sent, within one Opus frame.
func TestAACToOpusTone(t *testing.T) {
	for _, tc := range []struct {
		name           string
		rate, channels int
	}{
		{"48k-stereo", 48000, 2},
		{"44.1k-mono", 44100, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// 1 s of silence, 0.3 s of a 1 kHz tone, then a 440 Hz sine.
			src := "aevalsrc=exprs='if(between(t\\,1\\,1.3)\\,0.5*sin(2*PI*1000*t)\\,if(gte(t\\,1.6)\\,0.5*sin(2*PI*440*t)\\,0))':s=" +
				itoa(tc.rate)
			clip := makeAAC(t, src, tc.rate, tc.channels, 3*time.Second)
			tr := newAACToOpus(t, clip.audio)
			if got := tr.Opus(); got.Codec != ingest.CodecOpus || got.Channels != tc.channels || got.SampleRate != 48000 {
				t.Fatalf("output parameters %+v", got)
			}
			base := 7 * time.Second
			in := clip.units(base)
			res := collect(tr.Output())
			feedPaced(tr, in, 1, nil)
			time.Sleep(200 * time.Millisecond)
			st := tr.Stats()
			tr.Close()
			out := <-res

			if st.State != StateRunning || st.FramesIn != uint64(len(in)) || st.DroppedIn+st.DroppedOut+st.Invalid != 0 {
				t.Fatalf("stats %+v", st)
			}
			// All but the packet the Ogg muxer holds until the next one.
			want := int((clip.frame * time.Duration(len(in))) / (20 * time.Millisecond))
			if len(out) < want-2 || len(out) > want+1 {
				t.Fatalf("%d Opus packets for %d AAC frames, want about %d", len(out), len(in), want)
			}
			if gap := checkTimeline(t, out); gap != 0 {
				t.Fatalf("gap of %v between packets of a continuous input", gap)
			}
			if d := out[0].PTS - base; d > 0 || d < -20*time.Millisecond {
				t.Fatalf("first packet at %v, input starts at %v", out[0].PTS, base)
			}
			t.Logf("%d packets, first at %v (input %v), latency %v, CPU %v", len(out), out[0].PTS, base, st.Latency, st.CPU)

			// Decode both; time each signal on its own clock.
			ref := decodeMono(t, clip.path, 48000) // ADTS sample 0 is at base
			got := decodeMono(t, writeOgg(t, out, tc.channels), 48000)
			gotStart := out[0].PTS + oggPreSkip*time.Second/48000 // sample 0 after oggwriter's pre-skip

			burstIn := base + time.Duration(onset(ref[:48000*3/2]))*time.Second/48000
			burstOut := gotStart + time.Duration(onset(got[:48000*3/2]))*time.Second/48000
			offset := burstOut - burstIn
			t.Logf("tone burst at %v in the AAC, %v in the Opus: offset %v", burstIn, burstOut, offset)
			if offset < -20*time.Millisecond || offset > 20*time.Millisecond {
				t.Fatalf("Opus is %v off the AAC timeline, want within one Opus frame", offset)
			}

			// The 440 Hz part, away from its edges.
			from := int((base + 1800*time.Millisecond - gotStart) * 48000 / time.Second)
			to := from + 48000
			if to > len(got) {
				t.Fatalf("decoded Opus too short: %d samples", len(got))
			}
			tone := got[from:to]
			if r := rms(tone); r < 0.2 {
				t.Fatalf("decoded tone RMS %.3f, want about 0.35", r)
			}
			if f := frequency(tone, 48000); math.Abs(f-440) > 5 {
				t.Fatalf("decoded tone at %.1f Hz, want 440", f)
			}
			if r := rms(got[:int((base+900*time.Millisecond-gotStart)*48000/time.Second)]); r > 0.01 {
				t.Fatalf("the silent first second decodes with RMS %.3f", r)
			}
		})
	}
}

// Without ffmpeg, Available says so and the transcoder refuses to start
// with an error that says what is missing.
func TestAACToOpusWithoutFFmpeg(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if Available() {
		t.Fatal("Available() with an empty PATH")
	}
	a, err := ingest.NewAAC(&mpegASC)
	if err != nil {
		t.Fatal(err)
	}
	tr := &AACToOpus{Input: a}
	err = tr.Initialize()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "install ffmpeg") {
		t.Fatalf("Initialize without ffmpeg: %v", err)
	}
	if st := tr.Stats(); st.State != StateUnavailable {
		t.Fatalf("state %v", st.State)
	}
	if _, ok := <-tr.Output(); ok {
		t.Fatal("Output() open")
	}
	if err := tr.Write(&ingest.Unit{Kind: ingest.KindAudio, Frame: []byte{1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write without ffmpeg: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(tr.Err(), ErrUnavailable) {
		t.Fatalf("Err() = %v", tr.Err())
	}
}

// Input that is not AAC is refused by Initialize, and units that are not
// AAC frames by Write.
func TestAACToOpusBadInput(t *testing.T) {
	if err := (&AACToOpus{Input: ingest.NewOpus(2)}).Initialize(); err == nil {
		t.Fatal("Opus input accepted")
	}
	if err := (&AACToOpus{}).Initialize(); err == nil {
		t.Fatal("nil input accepted")
	}
	a, _ := ingest.NewAAC(&mpegASC)
	tr := newAACToOpus(t, a)
	for _, u := range []*ingest.Unit{
		nil,
		{Kind: ingest.KindVideo, NALUs: [][]byte{{5}}},
		{Kind: ingest.KindAudio},
		{Kind: ingest.KindAudio, Frame: make([]byte, 9000)},
	} {
		if err := tr.Write(u); err == nil || !strings.Contains(err.Error(), "not an AAC frame") {
			t.Fatalf("Write(%+v): %v", u, err)
		}
	}
	if st := tr.Stats(); st.Invalid != 4 || st.FramesIn != 0 {
		t.Fatalf("stats %+v", st)
	}
	tr.Close()
	if err := tr.Write(&ingest.Unit{Kind: ingest.KindAudio, Frame: []byte{1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
}

// Frames missing from the input (the publisher's audio paused, a reader
// lost some) leave the same gap in the Opus timeline, and what follows is
// still heard at its time.
func TestAACToOpusInputGap(t *testing.T) {
	src := "aevalsrc=exprs='if(between(t\\,2\\,2.3)\\,0.5*sin(2*PI*1000*t)\\,0)':s=48000"
	clip := makeAAC(t, src, 48000, 2, 3*time.Second)
	tr := newAACToOpus(t, clip.audio)
	all := clip.units(0)
	var in []*ingest.Unit
	for _, u := range all {
		if u.PTS < 800*time.Millisecond || u.PTS >= 1300*time.Millisecond {
			in = append(in, u)
		}
	}
	res := collect(tr.Output())
	feedPaced(tr, in, 1, nil)
	time.Sleep(200 * time.Millisecond)
	tr.Close()
	out := <-res
	gap := checkTimeline(t, out)
	if gap < 450*time.Millisecond || gap > 520*time.Millisecond {
		t.Fatalf("largest gap %v, want about the 500 ms missing", gap)
	}
	// The burst, 2 s into the input, in the packets after the gap.
	var after []*ingest.Unit
	for _, u := range out {
		if u.PTS >= 1300*time.Millisecond {
			after = append(after, u)
		}
	}
	got := decodeMono(t, writeOgg(t, after, 2), 48000)
	at := after[0].PTS + oggPreSkip*time.Second/48000 + time.Duration(onset(got))*time.Second/48000
	ref := decodeMono(t, clip.path, 48000)
	want := time.Duration(onset(ref)) * time.Second / 48000
	t.Logf("gap %v; burst at %v, sent at %v", gap, at, want)
	if d := at - want; d < -20*time.Millisecond || d > 20*time.Millisecond {
		t.Fatalf("after the gap the burst is %v off", d)
	}
}

// A consumer that stops reading loses packets, counted; the transcoder
// never waits for it.
func TestAACToOpusSlowConsumer(t *testing.T) {
	clip := makeAAC(t, "sine=frequency=440:sample_rate=48000", 48000, 2, 3*time.Second)
	tr := newAACToOpus(t, clip.audio)
	feedPaced(tr, clip.units(0), 2, nil)
	time.Sleep(300 * time.Millisecond)
	st := tr.Stats()
	if st.FramesOut != DefaultAudioQueue || st.DroppedOut == 0 || st.DroppedIn != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// The relay's consumer-side interfaces (relay.AudioTranscoder, CPUReporter)
// as of this writing: *AACToOpus satisfies them without an adapter.
var _ interface {
	Write(*ingest.Unit) error
	Output() <-chan *ingest.Unit
	Close() error
	CPUSeconds() float64
} = (*AACToOpus)(nil)
