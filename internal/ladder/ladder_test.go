package ladder_test

import (
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"github.com/kastlive/kast/internal/testutil"
)

// The functional tests publish 640x360 at 1 Mbit/s with a 240p,160p
// ladder: a quarter of the CPU of 720p with 480p,360p (benchmarked in
// internal/transcode), so that they keep real time on a busy machine.
const (
	testSize    = "640x360"
	testBitrate = "1000k"
	testRungs   = "240p,160p"
)

// wantVariants are the variants in the multivariant playlist's order.
var wantVariants = []struct {
	uri, resolution string
}{
	{"media.m3u8", "640x360"},
	{"240p/media.m3u8", "426x240"},
	{"160p/media.m3u8", "284x160"},
}

// With renditions on, the multivariant playlist lists the source and both
// renditions with BANDWIDTH, AVERAGE-BANDWIDTH, CODECS, RESOLUTION and
// FRAME-RATE; ffmpeg decodes each variant without an error at its size;
// and the variants are aligned: the same media sequence number has the
// same duration, date, parts and media times in each (checked on the
// playlists, parsed with gohlslib, and on the segments' fMP4), with the
// publisher sending B-frames (OBS's default) and without.
//
// The tests of this package run one after the other: each ladder takes
// about half a core.
func TestRenditions(t *testing.T) {
	for _, bf := range []int{0, 2} {
		t.Run("bframes="+itoa(bf), func(t *testing.T) {
			r := newRig(t, testRungs, nil)
			pub := testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 90 * time.Second, BFrames: bf,
				Size: testSize, Bitrate: testBitrate})
			mv, raw := r.multivariant(3, 20*time.Second)
			t.Logf("multivariant playlist:\n%s", raw)
			checkVariants(t, mv, raw)

			time.Sleep(4 * time.Second) // six segments or so in each
			var uris []string
			for _, v := range mv.Variants {
				uris = append(uris, v.URI)
			}
			checkAligned(t, r, r.sameEdge(uris), uris)

			for _, v := range wantVariants {
				t.Logf("decoding %s", v.uri)
				testutil.DecodeFiveSeconds(t, r.url(v.uri), func() string { return "publisher: " + pub.Output() })
				if got := probeSize(t, r.url(v.uri)); got != v.resolution {
					t.Errorf("%s decodes at %s, want %s", v.uri, got, v.resolution)
				}
			}
			st := r.ladder.Stats()
			t.Logf("ladder: %+v", st.PerTrack["main"])
			if tr := st.PerTrack["main"]; tr.DroppedIn+tr.DroppedOut+tr.Lost+tr.Invalid != 0 || tr.FramesOut == 0 {
				t.Errorf("ladder lost pictures: %+v", tr)
			}
		})
	}
}

func checkVariants(t *testing.T, mv *playlist.Multivariant, raw []byte) {
	t.Helper()
	for i, want := range wantVariants {
		v := mv.Variants[i]
		if v.URI != want.uri || v.Resolution != want.resolution {
			t.Fatalf("variant %d is %s %s, want %s %s", i, v.URI, v.Resolution, want.uri, want.resolution)
		}
		if v.FrameRate == nil || *v.FrameRate != 30 {
			t.Errorf("%s: FRAME-RATE %v, want 30", v.URI, v.FrameRate)
		}
		if v.AverageBandwidth == nil || *v.AverageBandwidth <= 0 || *v.AverageBandwidth > v.Bandwidth {
			t.Errorf("%s: AVERAGE-BANDWIDTH %v, BANDWIDTH %d", v.URI, v.AverageBandwidth, v.Bandwidth)
		}
		if len(v.Codecs) != 2 || !strings.HasPrefix(v.Codecs[0], "avc1.") || v.Codecs[1] != "mp4a.40.2" {
			t.Errorf("%s: CODECS %v", v.URI, v.Codecs)
		}
		if i > 0 && v.Bandwidth >= mv.Variants[i-1].Bandwidth {
			t.Errorf("%s: BANDWIDTH %d not below the variant before it (%d)", v.URI, v.Bandwidth, mv.Variants[i-1].Bandwidth)
		}
	}
	// The source at 1 Mbit/s with 128 kbit/s of audio; the rungs at 300
	// and 150 kbit/s. BANDWIDTH is the peak segment's with 10 % on top,
	// and x264's buffer (one second) starts 90 % full, so the first
	// segment may carry nearly twice the rate; the test pattern needs less
	// than the rate after that.
	for i, lim := range [][2]int{{800_000, 3_000_000}, {150_000, 900_000}, {130_000, 600_000}} {
		if b := mv.Variants[i].Bandwidth; b < lim[0] || b > lim[1] {
			t.Errorf("%s: BANDWIDTH %d out of %v\n%s", mv.Variants[i].URI, b, lim, raw)
		}
	}
}

// checkAligned compares the variants' playlists segment by segment (all
// hold the same newest segment) and the media times inside the two newest
// segments in common.
func checkAligned(t *testing.T, r *rig, ms []*playlist.Media, uris []string) {
	t.Helper()
	src := ms[0]
	for k, m := range ms[1:] {
		name := uris[k+1]
		if m.MediaSequence+len(m.Segments) != src.MediaSequence+len(src.Segments) {
			t.Fatalf("%s ends at segment %d, the source at %d", name, m.MediaSequence+len(m.Segments), src.MediaSequence+len(src.Segments))
		}
		if m.TargetDuration != src.TargetDuration || m.PartInf.PartTarget != src.PartInf.PartTarget ||
			*m.DiscontinuitySequence != *src.DiscontinuitySequence {
			t.Fatalf("%s: target %d/%v, discontinuity sequence %d; source %d/%v, %d", name, m.TargetDuration, m.PartInf.PartTarget,
				*m.DiscontinuitySequence, src.TargetDuration, src.PartInf.PartTarget, *src.DiscontinuitySequence)
		}
		common := 0
		for i, s := range m.Segments {
			j := m.MediaSequence + i - src.MediaSequence
			if j < 0 {
				continue
			}
			ss := src.Segments[j]
			if s.Duration != ss.Duration || !s.DateTime.Equal(*ss.DateTime) || len(s.Parts) != len(ss.Parts) {
				t.Fatalf("%s segment %d: %v at %v, %d parts; source %v at %v, %d parts", name, m.MediaSequence+i,
					s.Duration, s.DateTime, len(s.Parts), ss.Duration, ss.DateTime, len(ss.Parts))
			}
			for p := range s.Parts {
				if s.Parts[p].Duration != ss.Parts[p].Duration || s.Parts[p].Independent != ss.Parts[p].Independent {
					t.Fatalf("%s segment %d part %d: %+v; source %+v", name, m.MediaSequence+i, p, s.Parts[p], ss.Parts[p])
				}
			}
			common++
		}
		if common < 4 {
			t.Fatalf("%s has %d segments in common with the source", name, common)
		}
		// Inside: each segment starts with a keyframe at the source's
		// first decode time, and its pictures are presented at the source
		// pictures' times.
		n := len(m.Segments)
		for i := n - 2; i < n; i++ {
			msn := m.MediaSequence + i
			seg := src.Segments[msn-src.MediaSequence]
			sk, sa := segmentTimes(t, r, seg.URI)
			rk, ra := segmentTimes(t, r, path.Dir(name)+"/"+m.Segments[i].URI)
			if sk != rk || !slices.Equal(sa, ra) {
				t.Fatalf("%s segment %d: starts at %d, presents %v; the source starts at %d, presents %v", name, msn, rk, ra, sk, sa)
			}
		}
	}
	t.Logf("aligned: %d variants, segments %d-%d", len(ms), src.MediaSequence, src.MediaSequence+len(src.Segments)-1)
}

// segmentTimes returns the decode time of a segment's first picture, which
// must be a keyframe, and its pictures' presentation times in order.
func segmentTimes(t *testing.T, r *rig, name string) (int64, []int64) {
	t.Helper()
	code, b := r.get(name)
	if code != 200 {
		t.Fatalf("%s: %d", name, code)
	}
	var ps fmp4.Parts
	if err := ps.Unmarshal(b); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	first := int64(-1)
	var pts []int64
	for _, p := range ps {
		for _, tr := range p.Tracks {
			if tr.ID != 1 {
				continue
			}
			dts := int64(tr.BaseTime)
			for _, s := range tr.Samples {
				if first < 0 {
					if s.IsNonSyncSample {
						t.Fatalf("%s starts with a picture that is not a keyframe", name)
					}
					first = dts
				}
				pts = append(pts, dts+int64(s.PTSOffset))
				dts += int64(s.Duration)
			}
		}
	}
	slices.Sort(pts)
	return first, pts
}

// probeSize returns the picture size ffprobe reads from a playlist.
func probeSize(t *testing.T, url string) string {
	t.Helper()
	ffprobe := testutil.RequireTool(t, "ffprobe")
	out, err := runOut(ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "json", url)
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", url, err, out)
	}
	var res struct {
		Streams []struct{ Width, Height int } `json:"streams"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Streams) == 0 {
		t.Fatalf("ffprobe %s: %v\n%s", url, err, out)
	}
	return itoa(res.Streams[0].Width) + "x" + itoa(res.Streams[0].Height)
}
