// Package avclip turns a whole H.264 elementary stream (Annex-B, with
// access unit delimiters) and an ADTS AAC stream into access units. It
// reads the clip the bench program publishes, for the bench and for the
// packager's benchmarks.
package avclip

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Clip is a parsed clip.
type Clip struct {
	Video       [][][]byte // access units, NAL units without the delimiters
	SPS, PPS    []byte     // the first ones in the stream
	Audio       [][]byte   // raw AAC frames
	AudioConfig mpeg4audio.AudioSpecificConfig
}

// Parse splits video into access units at its delimiters and audio into
// frames. The first access unit must be a keyframe.
func Parse(video, audio []byte) (*Clip, error) {
	c := &Clip{}
	var au [][]byte
	ForEachNALU(video, func(n []byte) bool {
		if len(n) == 0 {
			return true
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeAccessUnitDelimiter:
			if len(au) > 0 {
				c.Video = append(c.Video, au)
			}
			au = nil
			return true
		case h264.NALUTypeSPS:
			if c.SPS == nil {
				c.SPS = n
			}
		case h264.NALUTypePPS:
			if c.PPS == nil {
				c.PPS = n
			}
		}
		au = append(au, n)
		return true
	})
	if len(au) > 0 {
		c.Video = append(c.Video, au)
	}
	if len(c.Video) == 0 || c.SPS == nil || c.PPS == nil || !h264.IsRandomAccess(c.Video[0]) {
		return nil, fmt.Errorf("no usable H.264 access units")
	}

	var adts mpeg4audio.ADTSPackets
	if err := adts.Unmarshal(audio); err != nil {
		return nil, fmt.Errorf("AAC: %w", err)
	}
	for _, p := range adts {
		c.Audio = append(c.Audio, p.AU)
	}
	c.AudioConfig = mpeg4audio.AudioSpecificConfig{
		Type:          adts[0].Type,
		SampleRate:    adts[0].SampleRate,
		ChannelConfig: adts[0].ChannelConfig,
	}
	return c, nil
}

// ForEachNALU calls fn with each NAL unit of an Annex-B byte stream until
// fn returns false. Unlike mediacommon's AnnexB it takes streams of any
// length.
func ForEachNALU(b []byte, fn func([]byte) bool) {
	start := -1
	i := 0
	for i+2 < len(b) {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && b[end-1] == 0 {
					end--
				}
				if !fn(b[start:end]) {
					return
				}
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		fn(b[start:])
	}
}
