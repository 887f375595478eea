package main

import (
	"embed"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/kastlive/kast/internal/avclip"
)

// testdata holds the shipped source: 3 s of 1280x720 30 fps testsrc2 encoded
// with x264 (main profile, no B-frames, an IDR every 30 frames with SPS/PPS
// in band, access unit delimiters) at two bitrates, and 3 s of 48 kHz stereo
// AAC-LC sine as ADTS. See testdata/README.
//
//go:embed testdata/*.h264 testdata/*.aac
var testdata embed.FS

// clip is a loopable source: video access units (NAL units without AUD) and
// raw AAC frames.
type clip struct {
	name      string
	fps       int
	video     [][][]byte
	sps, pps  []byte
	audio     [][]byte
	audioConf mpeg4audio.AudioSpecificConfig
	bitrate   int // video+audio, bit/s, as encoded
}

// clipFiles lists the shipped video clips by their nominal bitrate.
var clipFiles = []struct {
	file    string
	bitrate int
}{
	{"testdata/clip600k.h264", 600_000},
	{"testdata/clip2500k.h264", 2_500_000},
}

// loadClip returns the shipped clip with the highest bitrate not above want
// (the smallest one if all are above).
func loadClip(want int) (*clip, error) {
	f := clipFiles[0].file
	for _, c := range clipFiles {
		if c.bitrate <= want {
			f = c.file
		}
	}
	vb, err := testdata.ReadFile(f)
	if err != nil {
		return nil, err
	}
	ab, err := testdata.ReadFile("testdata/sine48k.aac")
	if err != nil {
		return nil, err
	}
	parsed, err := avclip.Parse(vb, ab)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	c := &clip{name: f, fps: 30, video: parsed.Video, sps: parsed.SPS, pps: parsed.PPS,
		audio: parsed.Audio, audioConf: parsed.AudioConfig}

	vbytes := 0
	for _, au := range c.video {
		for _, n := range au {
			vbytes += len(n)
		}
	}
	abytes := 0
	for _, a := range c.audio {
		abytes += len(a)
	}
	c.bitrate = int(float64(vbytes*8)/c.videoDuration().Seconds() + float64(abytes*8)/c.audioDuration().Seconds())
	return c, nil
}

func (c *clip) videoDuration() time.Duration {
	return time.Duration(len(c.video)) * time.Second / time.Duration(c.fps)
}

func (c *clip) audioDuration() time.Duration {
	return time.Duration(len(c.audio)) * 1024 * time.Second / time.Duration(c.audioConf.SampleRate)
}

// fillerNALU returns a filler-data NAL unit (type 12) of n bytes.
func fillerNALU(n int) []byte {
	if n < 2 {
		return nil
	}
	b := make([]byte, n)
	b[0] = byte(h264.NALUTypeFillerData)
	for i := 1; i < n-1; i++ {
		b[i] = 0xff
	}
	b[n-1] = 0x80
	return b
}
