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
	Video *Video
	Audio *Audio
}

// Video holds the parameters of a video elementary stream.
type Video struct {
	Codec Codec // CodecH264 or CodecVP8

	// SPS and PPS of an H.264 stream, without start codes or length
	// prefixes. Empty for other codecs.
	SPS []byte
	PPS []byte

	// Picture size, 0 when unknown (a VP8 stream before its first keyframe).
	Width  int
	Height int
}

// Audio holds the parameters of an audio elementary stream.
type Audio struct {
	Codec Codec // CodecAAC or CodecOpus

	SampleRate int // Opus: always 48000, its RTP and fMP4 clock
	Channels   int // 0 when an AAC program config element defines them

	// AAC is the AudioSpecificConfig of an AAC stream, nil for other codecs.
	AAC *mpeg4audio.AudioSpecificConfig
}

// NewH264 returns the parameters for the given SPS and PPS.
func NewH264(sps, pps []byte) (*Video, error) {
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("invalid H.264 SPS: %w", err)
	}
	if len(pps) == 0 {
		return nil, fmt.Errorf("empty H.264 PPS")
	}
	return &Video{
		Codec:  CodecH264,
		SPS:    bytes.Clone(sps),
		PPS:    bytes.Clone(pps),
		Width:  s.Width(),
		Height: s.Height(),
	}, nil
}

// NewVP8 returns the parameters of a VP8 stream of the given size.
func NewVP8(width, height int) *Video {
	return &Video{Codec: CodecVP8, Width: width, Height: height}
}

// NewAAC returns the parameters for an AudioSpecificConfig.
func NewAAC(c *mpeg4audio.AudioSpecificConfig) (*Audio, error) {
	if c == nil || c.SampleRate <= 0 {
		return nil, fmt.Errorf("invalid AAC configuration")
	}
	cfg := *c
	ch := int(c.ChannelConfig)
	switch {
	case c.ChannelConfig == 7:
		ch = 8
	case c.ChannelConfig > 7:
		ch = 0
	}
	return &Audio{Codec: CodecAAC, SampleRate: c.SampleRate, Channels: ch, AAC: &cfg}, nil
}

// NewOpus returns the parameters of an Opus stream with the given channel
// count (1 or 2).
func NewOpus(channels int) *Audio {
	return &Audio{Codec: CodecOpus, SampleRate: 48000, Channels: channels}
}

// Codecs returns the RFC 6381 codec strings of the media, as used in the
// CODECS attribute of an HLS multivariant playlist.
func (m Media) Codecs() []string {
	var out []string
	if m.Video != nil {
		if c := m.Video.CodecString(); c != "" {
			out = append(out, c)
		}
	}
	if m.Audio != nil {
		if c := m.Audio.CodecString(); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// CodecString returns the RFC 6381 codec string, e.g. "avc1.42c01f".
func (v *Video) CodecString() string {
	switch v.Codec {
	case CodecH264:
		if len(v.SPS) >= 4 {
			return fmt.Sprintf("avc1.%02x%02x%02x", v.SPS[1], v.SPS[2], v.SPS[3])
		}
	case CodecVP8:
		return "vp8"
	}
	return ""
}

// CodecString returns the RFC 6381 codec string, e.g. "mp4a.40.2" or "opus".
func (a *Audio) CodecString() string {
	switch a.Codec {
	case CodecAAC:
		return fmt.Sprintf("mp4a.40.%d", a.AAC.Type)
	case CodecOpus:
		return "opus"
	}
	return ""
}

// Equal reports whether two media descriptions have the same parameters.
func (m Media) Equal(o Media) bool {
	if (m.Video == nil) != (o.Video == nil) || (m.Audio == nil) != (o.Audio == nil) {
		return false
	}
	if m.Video != nil {
		a, b := m.Video, o.Video
		if a.Codec != b.Codec || !bytes.Equal(a.SPS, b.SPS) || !bytes.Equal(a.PPS, b.PPS) ||
			a.Width != b.Width || a.Height != b.Height {
			return false
		}
	}
	if m.Audio != nil {
		a, b := m.Audio, o.Audio
		if a.Codec != b.Codec || a.SampleRate != b.SampleRate || a.Channels != b.Channels ||
			(a.AAC == nil) != (b.AAC == nil) || (a.AAC != nil && *a.AAC != *b.AAC) {
			return false
		}
	}
	return true
}

// String describes the media for logs, e.g. "H.264 1280x720, AAC 44100 Hz 2 ch".
func (m Media) String() string {
	var s string
	if m.Video != nil {
		s = fmt.Sprintf("%s %dx%d", m.Video.Codec, m.Video.Width, m.Video.Height)
	}
	if m.Audio != nil {
		if s != "" {
			s += ", "
		}
		s += fmt.Sprintf("%s %d Hz %d ch", m.Audio.Codec, m.Audio.SampleRate, m.Audio.Channels)
	}
	return s
}
