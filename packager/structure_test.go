package packager_test

import (
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/packager"
)

// partNumber returns N of a part URI "part-EPOCH-N.m4s".
func partNumber(t *testing.T, uri string) int64 {
	t.Helper()
	i := strings.LastIndexByte(uri, '-')
	n, err := strconv.ParseInt(strings.TrimSuffix(uri[i+1:], ".m4s"), 10, 64)
	if err != nil {
		t.Fatalf("part URI %q: %v", uri, err)
	}
	return n
}

func parseMedia(t *testing.T, b []byte) *playlist.Media {
	t.Helper()
	var m playlist.Media
	if err := m.Unmarshal(b); err != nil {
		t.Fatalf("playlist does not parse: %v\n%s", err, b)
	}
	return &m
}

// TestPlaylistStructure follows the playlist for 10 s the way hls.js does,
// with blocking reloads for the next part, and checks it against RFC 8216bis.
func TestPlaylistStructure(t *testing.T) {
	t.Parallel()
	r := newRig(t, packager.Config{})
	testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 25 * time.Second})
	r.waitPlaylist(t, 10*time.Second)

	_, b := get(t, r.url("media.m3u8"))
	first := parseMedia(t, b)
	partTarget := first.PartInf.PartTarget
	targetDur := first.TargetDuration
	if first.ServerControl == nil || !first.ServerControl.CanBlockReload {
		t.Fatalf("no CAN-BLOCK-RELOAD")
	}
	if hb := first.ServerControl.PartHoldBack; hb == nil || *hb < 2*partTarget {
		t.Fatalf("PART-HOLD-BACK %v < 2 x PART-TARGET %v", hb, partTarget)
	}

	seen := map[int64]time.Duration{} // part number -> duration
	var delays, listed []time.Duration
	m := first
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// The next part: after the trailing parts, or part 0 of the next segment.
		msn := m.MediaSequence + len(m.Segments)
		part := len(m.Parts)
		url := fmt.Sprintf("%s?_HLS_msn=%d&_HLS_part=%d", r.url("media.m3u8"), msn, part)
		code, b := get(t, url)
		arrived := time.Now()
		if code != http.StatusOK {
			t.Fatalf("blocking reload %s: %d %s", url, code, b)
		}
		m = parseMedia(t, b)

		if m.TargetDuration != targetDur || m.PartInf == nil || m.PartInf.PartTarget != partTarget {
			t.Fatalf("TARGETDURATION/PART-TARGET changed: %d/%v, was %d/%v", m.TargetDuration, m.PartInf, targetDur, partTarget)
		}
		checkParts(t, m, partTarget, seen)

		// When did the requested part become complete? Its end on the wall
		// clock is the PROGRAM-DATE-TIME of its segment plus the durations
		// up to its end.
		last := m.Segments[len(m.Segments)-1]
		start := last.DateTime.Add(last.Duration)
		parts := m.Parts
		if msn < m.MediaSequence+len(m.Segments) { // the part closed its segment
			start = *last.DateTime
			parts = last.Parts
		}
		if part >= len(parts) {
			continue // the segment ended before that part: ask again
		}
		end := start
		for _, p := range parts[:part+1] {
			end = end.Add(p.Duration)
		}
		delays = append(delays, arrived.Sub(end))
		listed = append(listed, arrived.Sub(end.Add(-parts[part].Duration)))
	}
	if len(delays) < 30 {
		t.Fatalf("only %d blocking reloads in 10 s", len(delays))
	}
	slices.Sort(delays)
	slices.Sort(listed)
	p := func(s []time.Duration, q float64) time.Duration {
		return s[int(q*float64(len(s)-1))].Round(time.Millisecond)
	}
	t.Logf("%d blocking reloads: answered after the part's end p50 %v p95 %v max %v; first frame of a part listed after it was received p50 %v p95 %v",
		len(delays), p(delays, 0.5), p(delays, 0.95), p(delays, 1), p(listed, 0.5), p(listed, 0.95))
	// How soon the answer comes is a figure (logged above; the bench
	// measures it under load), not something a loaded test machine can
	// hold to: what must hold is that a blocking reload is answered when
	// its part closes, not when the three-target-duration wait runs out.
	if p(delays, 0.5) > 2*time.Second {
		t.Errorf("blocking reloads answered %v after the part existed (p50): they wait for the timeout, not for the part", p(delays, 0.5))
	}
}

// checkParts verifies that a playlist's parts are numbered without gaps,
// keep the durations they had in earlier playlists and respect PART-TARGET.
func checkParts(t *testing.T, m *playlist.Media, target time.Duration, seen map[int64]time.Duration) {
	t.Helper()
	var all []*playlist.MediaPart
	for _, s := range m.Segments {
		if s.Duration > time.Duration(m.TargetDuration)*time.Second+time.Second/2 {
			t.Errorf("segment %s of %v exceeds TARGETDURATION %d", s.URI, s.Duration, m.TargetDuration)
		}
		all = append(all, s.Parts...)
	}
	all = append(all, m.Parts...)
	prev := int64(-1)
	for _, p := range all {
		n := partNumber(t, p.URI)
		if prev >= 0 && n != prev+1 {
			t.Fatalf("parts not contiguous: %d after %d", n, prev)
		}
		prev = n
		if p.Duration > target+time.Millisecond {
			t.Errorf("part %s lasts %v, over PART-TARGET %v", p.URI, p.Duration, target)
		}
		if d, ok := seen[n]; ok && d != p.Duration {
			t.Errorf("part %d changed duration: %v, was %v", n, p.Duration, d)
		}
		seen[n] = p.Duration
	}
}

// TestBFrames publishes with two B-frames, as OBS's x264 defaults do, and
// checks the composition offsets survive: decode order and display order
// differ and display times are evenly spaced.
func TestBFrames(t *testing.T) {
	t.Parallel()
	r := newRig(t, packager.Config{})
	testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 20 * time.Second, BFrames: 2})
	r.waitPlaylist(t, 10*time.Second)
	time.Sleep(3 * time.Second)
	file := fetchConcat(t, r, 3)

	pts, dts := probePackets(t, file)
	reordered := 0
	for i := range pts {
		if i > 0 && dts[i] <= dts[i-1] {
			t.Fatalf("DTS not increasing at packet %d: %d after %d", i, dts[i], dts[i-1])
		}
		if pts[i] < dts[i] {
			t.Fatalf("PTS %d before DTS %d at packet %d", pts[i], dts[i], i)
		}
		if pts[i] != dts[i] {
			reordered++
		}
	}
	if reordered == 0 {
		t.Fatalf("no composition offsets: B-frames lost their order")
	}
	sorted := slices.Clone(pts)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		// 90 kHz / 30 fps, give or take FLV's millisecond rounding
		if d := sorted[i] - sorted[i-1]; d < 3000-90 || d > 3000+90 {
			t.Fatalf("display times not evenly spaced: %d then %d", sorted[i-1], sorted[i])
		}
	}
	out := testutil.FrameCRC(t, r.url("index.m3u8"), 3*time.Second)
	if video, _, problems := testutil.CountFrames(out); len(problems) > 0 || video < 85 {
		t.Fatalf("ffmpeg decoded %d frames, problems:\n%s", video, strings.Join(problems, "\n"))
	}
}

// TestLongGOP publishes with an 8 s keyframe interval: segments are as long
// as the GOP and TARGETDURATION says so.
func TestLongGOP(t *testing.T) {
	t.Parallel()
	r := newRig(t, packager.Config{})
	testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 30 * time.Second, GOP: 240})
	r.waitPlaylist(t, 15*time.Second)
	deadline := time.Now().Add(15 * time.Second)
	var m *playlist.Media
	for {
		_, b := get(t, r.url("media.m3u8"))
		m = parseMedia(t, b)
		if len(m.Segments) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(m.Segments) < 2 {
		t.Fatalf("fewer than 2 segments after 8 s GOPs")
	}
	if m.TargetDuration != 8 {
		t.Fatalf("TARGETDURATION %d, want 8", m.TargetDuration)
	}
	for _, s := range m.Segments {
		if s.Duration < 7900*time.Millisecond || s.Duration > 8100*time.Millisecond {
			t.Fatalf("segment of %v, want the 8 s GOP", s.Duration)
		}
	}
	file := fetchConcat(t, r, 2)
	out, err := testutil.Run(t, 30*time.Second, "-hide_banner", "-loglevel", "warning", "-i", file, "-f", "framecrc", "-")
	video, audio, problems := testutil.CountFrames(out)
	if err != nil || len(problems) > 0 || video != 480 {
		t.Fatalf("decoding 2 segments: %v, %d video %d audio frames (want 480 video), problems:\n%s", err, video, audio, strings.Join(problems, "\n"))
	}
}

// probePackets returns the video packets' PTS and DTS in decode order.
func probePackets(t *testing.T, file string) (pts, dts []int64) {
	t.Helper()
	bin := testutil.RequireTool(t, "ffprobe")
	out, err := exec.Command(bin, "-v", "error", "-select_streams", "v:0",
		"-show_entries", "packet=pts,dts", "-of", "csv=p=0", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 2 {
			continue
		}
		p, err1 := strconv.ParseInt(f[0], 10, 64)
		d, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("ffprobe line %q", line)
		}
		pts = append(pts, p)
		dts = append(dts, d)
	}
	return pts, dts
}
