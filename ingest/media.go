package ingest

import (
	"bytes"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
)

// Media describes the elementary streams of a publishing session.
// At least one of Video and Audio is set.
type Media struct {
	Video *H264
	Audio *AAC
}

// H264 holds the parameters of an H.264 video stream.
type H264 struct {
	SPS []byte
	PPS []byte

	// Decoded from the SPS.
	Width  int
	Height int
}

// AAC holds the parameters of an MPEG-4 audio (AAC) stream.
type AAC struct {
	Config mpeg4audio.AudioSpecificConfig
}

// NewH264 returns the parameters for the given SPS and PPS.
func NewH264(sps, pps []byte) (*H264, error) {
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("invalid H.264 SPS: %w", err)
	}
	if len(pps) == 0 {
		return nil, fmt.Errorf("empty H.264 PPS")
	}
	return &H264{
		SPS:    bytes.Clone(sps),
		PPS:    bytes.Clone(pps),
		Width:  s.Width(),
		Height: s.Height(),
	}, nil
}

// Codecs returns the RFC 6381 codec strings of the media, as used in the
// CODECS attribute of an HLS multivariant playlist.
func (m Media) Codecs() []string {
	var out []string
	if m.Video != nil && len(m.Video.SPS) >= 4 {
		out = append(out, fmt.Sprintf("avc1.%02x%02x%02x", m.Video.SPS[1], m.Video.SPS[2], m.Video.SPS[3]))
	}
	if m.Audio != nil {
		out = append(out, fmt.Sprintf("mp4a.40.%d", m.Audio.Config.Type))
	}
	return out
}

// Equal reports whether two media descriptions have the same parameters.
func (m Media) Equal(o Media) bool {
	if (m.Video == nil) != (o.Video == nil) || (m.Audio == nil) != (o.Audio == nil) {
		return false
	}
	if m.Video != nil && (!bytes.Equal(m.Video.SPS, o.Video.SPS) || !bytes.Equal(m.Video.PPS, o.Video.PPS)) {
		return false
	}
	if m.Audio != nil && m.Audio.Config != o.Audio.Config {
		return false
	}
	return true
}

// String describes the media for logs, e.g. "H.264 1280x720, AAC 44100 Hz 2 ch".
func (m Media) String() string {
	var s string
	if m.Video != nil {
		s = fmt.Sprintf("H.264 %dx%d", m.Video.Width, m.Video.Height)
	}
	if m.Audio != nil {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("AAC %d Hz %d ch", m.Audio.Config.SampleRate, m.Audio.Channels())
	}
	return s
}

// Channels returns the channel count, 0 when a program config element defines it.
func (a *AAC) Channels() int {
	if a.Config.ChannelConfig == 7 {
		return 8
	}
	if a.Config.ChannelConfig > 7 {
		return 0
	}
	return int(a.Config.ChannelConfig)
}
