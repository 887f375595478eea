package packager

import (
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"

	"github.com/kastlive/kast/ingest"
)

const videoTimescale = 90000

// marshalInit returns the init segment (ftyp+moov) for the media.
func marshalInit(m ingest.Media) ([]byte, error) {
	var init fmp4.Init
	if m.Video != nil {
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{
			ID:        videoTrackID,
			TimeScale: videoTimescale,
			Codec:     &fmp4.CodecH264{SPS: m.Video.SPS, PPS: m.Video.PPS},
		})
	}
	if m.Audio != nil {
		init.Tracks = append(init.Tracks, &fmp4.InitTrack{
			ID:        audioTrackID,
			TimeScale: uint32(m.Audio.Config.SampleRate),
			Codec:     &fmp4.CodecMPEG4Audio{Config: m.Audio.Config},
		})
	}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
