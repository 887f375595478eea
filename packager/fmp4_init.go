package packager

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"

	"github.com/kastlive/kast/ingest"
)

const videoTimescale = 90000

// hlsMedia returns the part of m that fMP4 HLS carries: H.264 video, AAC
// or Opus audio. A VP8 picture (a WebRTC publisher's choice) has no
// sample entry browsers' MSE take in MP4, so such a stream is served as
// audio only over HLS, and in full over WebRTC. The error names what was
// left out when nothing remains.
func hlsMedia(m ingest.Media) (ingest.Media, error) {
	out := m
	if m.Video != nil && m.Video.Codec != ingest.CodecH264 {
		out.Video = nil
	}
	if m.Audio != nil && m.Audio.Codec != ingest.CodecAAC && m.Audio.Codec != ingest.CodecOpus {
		out.Audio = nil
	}
	if out.Video == nil && out.Audio == nil {
		return out, fmt.Errorf("HLS cannot carry %s: publish H.264 video with AAC or Opus audio", m)
	}
	return out, nil
}

// marshalInit returns the init segment (ftyp+moov) for the media, which
// hlsMedia has filtered.
func marshalInit(m ingest.Media) ([]byte, error) {
	var init fmp4.Init
	if m.Video != nil {
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{
			ID:        videoTrackID,
			TimeScale: videoTimescale,
			Codec:     &codecs.H264{SPS: m.Video.SPS, PPS: m.Video.PPS},
		})
	}
	if m.Audio != nil {
		t := &fmp4.InitTrack{ID: audioTrackID, TimeScale: uint32(m.Audio.SampleRate)}
		switch m.Audio.Codec {
		case ingest.CodecAAC:
			t.Codec = &codecs.MPEG4Audio{Config: *m.Audio.AAC}
		case ingest.CodecOpus:
			t.Codec = &codecs.Opus{ChannelCount: max(1, m.Audio.Channels)}
		}
		init.Tracks = append(init.Tracks, t)
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
