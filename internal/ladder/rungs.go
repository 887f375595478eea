package ladder

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kastlive/kast/internal/transcode"
)

// ParseRungs reads a ladder: comma-separated rungs, each a height with a
// "p" ("480p") and optionally a bitrate after a colon ("480p:1200k",
// "720p:2.5M", bits/s without a suffix). Without a bitrate a rung gets
// DefaultBitrate. An empty string is no ladder.
func ParseRungs(s string) ([]transcode.Rung, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var rungs []transcode.Rung
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, br, hasBR := strings.Cut(part, ":")
		hs, ok := strings.CutSuffix(strings.ToLower(name), "p")
		h, err := strconv.Atoi(hs)
		if !ok || err != nil || h < 16 || h > 4320 || h%2 != 0 {
			return nil, fmt.Errorf("rendition %q: want a height like 480p (even, 16-4320), optionally with a bitrate like 480p:1200k", part)
		}
		if seen[h] {
			return nil, fmt.Errorf("rendition %dp given twice", h)
		}
		seen[h] = true
		r := transcode.Rung{Name: strconv.Itoa(h) + "p", Height: h, Bitrate: DefaultBitrate(h)}
		if hasBR {
			b, err := parseBitrate(br)
			if err != nil {
				return nil, fmt.Errorf("rendition %q: %v", part, err)
			}
			r.Bitrate = b
		}
		rungs = append(rungs, r)
	}
	return rungs, nil
}

// DefaultBitrate is a rung's bitrate when none is given: 0.1 bit per pixel
// of a 16:9 picture at 30 frames per second (x264 veryfast, zerolatency),
// rounded to 50 kbit/s: 480p 1.25 Mbit/s, 360p 700 kbit/s, 240p 300 kbit/s.
func DefaultBitrate(height int) int {
	width := float64(height) * 16 / 9
	bps := 0.1 * width * float64(height) * 30
	return max(50_000, int(math.Round(bps/50_000))*50_000)
}

func parseBitrate(s string) (int, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		mult, s = 1e6, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	b := int(v * mult)
	if err != nil || b < 50_000 || b > 50_000_000 {
		return 0, fmt.Errorf("bitrate %q: want 50k to 50M", s)
	}
	return b, nil
}
