package testutil

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// FrameCRC runs ffmpeg reading url (an HLS playlist, say) for dur and
// returns its output, which has one line per decoded frame: "stream, dts,
// pts, duration, size, crc", and ffmpeg's warnings and errors.
func FrameCRC(t testing.TB, url string, dur time.Duration) string {
	t.Helper()
	out, err := Run(t, dur+40*time.Second, "-hide_banner", "-loglevel", "warning",
		"-i", url, "-t", fmt.Sprintf("%.1f", dur.Seconds()), "-f", "framecrc", "-")
	if err != nil {
		t.Fatalf("ffmpeg reading %s: %v\n%s", url, err, Tail(out, 30))
	}
	return out
}

// CountFrames counts FrameCRC's lines per stream (0 video, 1 audio) and
// collects ffmpeg's warnings and errors (lines that are not frames or
// comments).
func CountFrames(out string) (video, audio int, problems []string) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "0,"):
			video++
		case strings.HasPrefix(line, "1,"):
			audio++
		case strings.Contains(line, "Found duplicated MOOV Atom"), strings.HasPrefix(line, "Last message repeated"):
			// ffmpeg's HLS reader hands the init segment to its MP4
			// demuxer again after each playlist reload: harmless.
		default:
			problems = append(problems, line)
		}
	}
	return video, audio, problems
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// DecodeFiveSeconds has ffmpeg read url for 6 s and fails the test unless
// it decoded at least 5 s of the test publish's video (30 fps) and audio
// (44.1 kHz AAC, 1024 samples a frame) without a warning. context is added
// to the failure report.
func DecodeFiveSeconds(t testing.TB, url string, context func() string) {
	t.Helper()
	out := FrameCRC(t, url, 6*time.Second)
	video, audio, problems := CountFrames(out)
	t.Logf("decoded %d video and %d audio frames", video, audio)
	if len(problems) > 0 {
		t.Errorf("ffmpeg reported problems:\n%s", strings.Join(problems, "\n"))
	}
	if video < 150 || audio < 5*44100/1024 {
		t.Errorf("decoded %d video, %d audio frames; want at least 5 s of each\n%s", video, audio, context())
	}
}
