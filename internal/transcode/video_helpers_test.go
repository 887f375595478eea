package transcode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

// h264Clip is H.264 made by ffmpeg's libx264, as hub units in decode order.
type h264Clip struct {
	video *ingest.Video
	units []*ingest.Unit
	bytes int
	dur   time.Duration
}

// makeH264 encodes a moving test pattern like OBS's x264 does by default
// (bframes as given, keyframe every second).
func makeH264(t testing.TB, size string, fps, bframes int, bitrate string, dur time.Duration) h264Clip {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.ts")
	out, err := testutil.Run(t, 2*time.Minute, "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate="+strconv.Itoa(fps),
		"-t", strconv.FormatFloat(dur.Seconds(), 'f', 3, 64),
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
		"-g", strconv.Itoa(fps), "-keyint_min", strconv.Itoa(fps), "-sc_threshold", "0",
		"-bf", strconv.Itoa(bframes), "-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate,
		"-f", "mpegts", "-y", path)
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &mpegts.Reader{R: f}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	var c h264Clip
	for _, tr := range r.Tracks() {
		if _, ok := tr.Codec.(*tscodecs.H264); !ok {
			continue
		}
		r.OnDataH264(tr, func(pts, dts int64, au [][]byte) error {
			u := &ingest.Unit{
				Kind:  ingest.KindVideo,
				DTS:   time.Duration(dts) * time.Second / 90000,
				PTS:   time.Duration(pts) * time.Second / 90000,
				Key:   h264.IsRandomAccess(au),
				NALUs: au,
			}
			c.units = append(c.units, u)
			c.bytes += u.Size()
			if c.video == nil {
				var sps, pps []byte
				for _, n := range au {
					switch h264.NALUType(n[0] & 0x1f) {
					case h264.NALUTypeSPS:
						sps = n
					case h264.NALUTypePPS:
						pps = n
					}
				}
				if sps != nil && pps != nil {
					v, err := ingest.NewH264(sps, pps)
					if err != nil {
						return err
					}
					c.video = v
				}
			}
			return nil
		})
	}
	for {
		if err := r.Read(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	if c.video == nil || len(c.units) == 0 {
		t.Fatal("no H.264 in the clip")
	}
	c.dur = time.Duration(len(c.units)) * time.Second / time.Duration(fps)
	return c
}

// writeAnnexB writes units as an H.264 elementary stream.
func writeAnnexB(t testing.TB, us []*ingest.Unit) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.h264")
	var b []byte
	for _, u := range us {
		for _, n := range u.NALUs {
			b = append(append(b, 0, 0, 0, 1), n...)
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pictTypes returns the picture types (I, P, B) ffprobe reads in a file,
// in decode order, and whether ffprobe reported any error.
func pictTypes(t testing.TB, path string) string {
	t.Helper()
	ffprobe := testutil.RequireTool(t, "ffprobe")
	out, err := runTool(ffprobe, "-v", "error", "-show_entries", "frame=pict_type", "-of", "csv=p=0", path)
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	return strings.Join(strings.Fields(out), "")
}

// runTool runs a program and returns its stdout; anything on stderr is an
// error.
func runTool(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil && stderr.Len() > 0 {
		err = errors.New(strings.TrimSpace(stderr.String()))
	}
	return string(out), err
}
