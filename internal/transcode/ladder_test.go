package transcode

import (
	"slices"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

var testRungs = []Rung{{Name: "480p", Height: 480, Bitrate: 1_200_000}, {Name: "360p", Height: 360, Bitrate: 700_000}}

// One ffmpeg makes every rendition: each has every input picture, on the
// input's PTS, keyframes exactly where the input has them, the rung's
// size and about its bitrate, and decodes with no error.
func TestLadderRenditions(t *testing.T) {
	for _, bf := range []int{0, 2} {
		t.Run("bframes="+itoa(bf), func(t *testing.T) {
			clip := makeH264(t, "1280x720", 30, bf, "2500k", 4*time.Second)
			testutil.RequireTool(t, "ffmpeg")
			l := &Ladder{Input: clip.video, Rungs: testRungs, Name: t.Name()}
			if err := l.Initialize(); err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			res := []<-chan []*ingest.Unit{collect(l.Output(0)), collect(l.Output(1))}
			feedVideo(l, clip.units, 1, nil)
			time.Sleep(400 * time.Millisecond)
			st := l.Stats()
			l.Close()
			t.Logf("stats %+v", st)
			if st.DroppedIn+st.DroppedOut+st.Invalid+st.Lost != 0 || st.State != StateRunning || st.CPU <= 0 {
				t.Fatalf("stats %+v", st)
			}
			inPTS := map[time.Duration]bool{}
			var inKeys []time.Duration
			for _, u := range clip.units {
				inPTS[u.PTS] = true
				if u.Key {
					inKeys = append(inKeys, u.PTS)
				}
			}
			for i, want := range [][2]int{{854, 480}, {640, 360}} {
				out := <-res[i]
				p := l.H264(i)
				if p == nil || p.Width != want[0] || p.Height != want[1] {
					t.Fatalf("rendition %d: parameters %+v, want %dx%d", i, p, want[0], want[1])
				}
				// The decoder holds up to two pictures to reorder.
				if len(out) < len(clip.units)-3 {
					t.Fatalf("rendition %d: %d pictures of %d", i, len(out), len(clip.units))
				}
				var keys []time.Duration
				bytes := 0
				for j, u := range out {
					if u.DTS != u.PTS || !inPTS[u.PTS] || (j > 0 && u.PTS <= out[j-1].PTS) {
						t.Fatalf("rendition %d picture %d: DTS %v PTS %v", i, j, u.DTS, u.PTS)
					}
					if u.Key {
						keys = append(keys, u.PTS)
						if !slices.ContainsFunc(u.NALUs, func(n []byte) bool { return h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS }) {
							t.Fatalf("rendition %d keyframe %d without SPS", i, j)
						}
					}
					bytes += u.Size()
				}
				if !slices.Equal(keys, inKeys[:len(keys)]) || len(keys) < len(inKeys)-1 {
					t.Fatalf("rendition %d: keyframes at %v, input's at %v", i, keys, inKeys)
				}
				path := writeAnnexB(t, out)
				if types := pictTypes(t, path); hasBFrames(types) {
					t.Fatalf("rendition %d has B-frames: %s", i, types)
				}
				if o, err := testutil.Run(t, time.Minute, "-hide_banner", "-v", "error", "-xerror", "-i", path, "-f", "null", "-"); err != nil || o != "" {
					t.Fatalf("decoding rendition %d: %v\n%s", i, err, o)
				}
				rate := float64(bytes*8) / clip.dur.Seconds()
				t.Logf("rendition %s: %d pictures, %.0f kbit/s (rung %d)", testRungs[i].Name, len(out), rate/1000, testRungs[i].Bitrate/1000)
				if r := rate / float64(testRungs[i].Bitrate); r < 0.6 || r > 1.4 {
					t.Fatalf("rendition %d at %.0f bit/s, rung says %d", i, rate, testRungs[i].Bitrate)
				}
			}
		})
	}
}

func TestLadderBadConfig(t *testing.T) {
	v := &ingest.Video{Codec: ingest.CodecH264, SPS: []byte{0x67, 0x42, 0xc0, 0x1f}, PPS: []byte{0x68}}
	for _, l := range []*Ladder{
		{Input: nil, Rungs: testRungs},
		{Input: v},
		{Input: v, Rungs: []Rung{{Name: "odd", Height: 481, Bitrate: 1_000_000}}},
		{Input: v, Rungs: []Rung{{Name: "slow", Height: 360, Bitrate: 10}}},
	} {
		if err := l.Initialize(); err == nil {
			t.Errorf("%+v: no error", l)
		}
		if len(l.Rungs) > 0 {
			if _, ok := <-l.Output(0); ok {
				t.Errorf("output open after a failed Initialize")
			}
		}
		if err := l.Write(&ingest.Unit{Kind: ingest.KindVideo, NALUs: [][]byte{{0x65}}}); err != ErrClosed {
			t.Errorf("Write after a failed Initialize: %v", err)
		}
		l.Close()
	}
}
