package packager

import (
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/kastlive/kast/ingest"
)

func testTimeline(t *testing.T, m ingest.Media) *timeline {
	t.Helper()
	cfg := Config{}
	if err := cfg.setDefaults(); err != nil {
		t.Fatal(err)
	}
	tl := newTimeline(cfg, discard, func() {})
	if err := tl.startSession(m); err != nil {
		t.Fatal(err)
	}
	return tl
}

var (
	testVideo = &ingest.Video{Codec: ingest.CodecH264, // x264, 320x240 baseline
		SPS: []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x03, 0xc5, 0x0a, 0xa8},
		PPS: []byte{0x68, 0xce, 0x0f, 0xc8}, Width: 320, Height: 240}
	testAudio, _ = ingest.NewAAC(&mpeg4audio.AudioSpecificConfig{Type: 2, SampleRate: 48000, ChannelConfig: 2})
)

func pushVideo(tl *timeline, dts time.Duration, key bool) {
	tl.push(&ingest.Unit{Kind: ingest.KindVideo, DTS: dts, PTS: dts, Key: key, NALUs: [][]byte{{0x65, 0, 0, 0}}, Received: time.Unix(0, 0).Add(dts)})
}

func allParts(tl *timeline) []*part {
	var ps []*part
	for _, s := range tl.segments {
		ps = append(ps, s.parts...)
	}
	if tl.open != nil {
		ps = append(ps, tl.open.parts...)
	}
	return ps
}

// TestPartsNeverExceedTarget feeds frame rates whose frames do not divide
// 200 ms: every part must still fit PART-TARGET (RFC 8216bis 4.4.4.9).
func TestPartsNeverExceedTarget(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame func(i int) time.Duration
	}{
		{"24fps", func(i int) time.Duration { return time.Duration(i) * time.Second / 24 }},
		{"29.97fps-ms", func(i int) time.Duration {
			return (time.Duration(i) * 1001 * time.Second / 30000).Truncate(time.Millisecond)
		}},
		{"30fps-exact", func(i int) time.Duration { return time.Duration(i) * time.Second / 30 }},
		{"30fps-ms", func(i int) time.Duration { return (time.Duration(i) * time.Second / 30).Truncate(time.Millisecond) }},
		{"30fps-ms-rounded", func(i int) time.Duration { return (time.Duration(i) * time.Second / 30).Round(time.Millisecond) }},
		{"25fps-ms", func(i int) time.Duration { return time.Duration(i) * time.Second / 25 }},
		{"60fps-ms-rounded", func(i int) time.Duration { return (time.Duration(i) * time.Second / 60).Round(time.Millisecond) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := testTimeline(t, ingest.Media{Video: testVideo})
			for i := range 600 {
				pushVideo(tl, tc.frame(i), i%60 == 0)
			}
			short := 0
			for _, p := range allParts(tl) {
				if p.duration > tl.cfg.PartTarget+partTolerance {
					t.Fatalf("part %d lasts %v", p.n, p.duration)
				}
				if p.duration < tl.cfg.PartTarget*85/100 {
					short++
				}
			}
			t.Logf("%d parts, %d under 85%% of the target", len(allParts(tl)), short)
		})
	}
	t.Run("aac-48k", func(t *testing.T) {
		tl := testTimeline(t, ingest.Media{Audio: testAudio})
		for i := range 1000 {
			d := (time.Duration(i) * 1024 * time.Second / 48000).Truncate(time.Millisecond)
			tl.push(&ingest.Unit{Kind: ingest.KindAudio, DTS: d, PTS: d, Key: true, Frame: []byte{1, 2, 3}})
		}
		for _, seg := range tl.segments {
			for i, p := range seg.parts {
				last := i == len(seg.parts)-1 // may be short: the segment ends there
				if p.duration > tl.cfg.PartTarget+partTolerance || (!last && p.duration < tl.cfg.PartTarget*85/100) {
					t.Fatalf("part %d lasts %v", p.n, p.duration)
				}
			}
		}
	})
}

// TestClockJumpStartsOver: a publisher whose timestamps jump forward or
// back keeps streaming after a discontinuity, with TARGETDURATION intact.
func TestClockJumpStartsOver(t *testing.T) {
	for _, jump := range []time.Duration{20 * time.Second, -10 * time.Minute} {
		tl := testTimeline(t, ingest.Media{Video: testVideo})
		frame := time.Second / 30
		for i := range 90 {
			pushVideo(tl, time.Duration(i)*frame, i%30 == 0)
		}
		base := 90*frame + jump
		for i := range 150 {
			pushVideo(tl, base+time.Duration(i)*frame, i%30 == 0)
		}
		if tl.targetDur != 1 {
			t.Fatalf("jump %v: TARGETDURATION %d", jump, tl.targetDur)
		}
		disc := 0
		for _, s := range tl.segments {
			if s.discontinuity {
				disc++
			}
			if s.duration > 1100*time.Millisecond {
				t.Fatalf("jump %v: segment of %v", jump, s.duration)
			}
		}
		if disc != 1 || len(tl.segments) < 6 {
			t.Fatalf("jump %v: %d segments, %d discontinuities", jump, len(tl.segments), disc)
		}
	}
}

// TestWholeParts: at frame rates whose frames add up to 200 ms, with the
// millisecond timestamps RTMP carries, a 1 s GOP makes segments of five
// 200 ms parts, with no short part before the keyframe (ffmpeg's FLV
// muxer rounds 30 fps to 33, 34, 33 ms). The first segment is left out:
// the cadence is judged from the frames before, and it has too few.
func TestWholeParts(t *testing.T) {
	for _, tc := range []struct {
		name string
		fps  int
	}{{"25fps", 25}, {"30fps", 30}, {"50fps", 50}, {"60fps", 60}} {
		for _, round := range []bool{false, true} {
			name := tc.name + "-truncated"
			if round {
				name = tc.name + "-rounded"
			}
			t.Run(name, func(t *testing.T) {
				tl := testTimeline(t, ingest.Media{Video: testVideo})
				for i := range 10 * tc.fps {
					d := time.Duration(i) * time.Second / time.Duration(tc.fps)
					if round {
						d = d.Round(time.Millisecond)
					} else {
						d = d.Truncate(time.Millisecond)
					}
					pushVideo(tl, d, i%tc.fps == 0)
				}
				if len(tl.segments) != 9 {
					t.Fatalf("%d segments, want 9", len(tl.segments))
				}
				for _, seg := range tl.segments[1:] {
					if len(seg.parts) != 5 {
						var ds []time.Duration
						for _, p := range seg.parts {
							ds = append(ds, p.duration)
						}
						t.Fatalf("segment %d: %d parts %v, want five of 200ms", seg.msn, len(seg.parts), ds)
					}
					for _, p := range seg.parts {
						if p.duration != 200*time.Millisecond {
							t.Fatalf("segment %d: part of %v", seg.msn, p.duration)
						}
					}
				}
			})
		}
	}
}
