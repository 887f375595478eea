package transcode

import (
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/kastlive/kast/ingest"
)

// ReorderDepth reports how many pictures an H.264 stream may present out
// of decode order (B-frames), from its SPS: 0 for the Baseline profile and
// for picture order count type 2, else the VUI's max_num_reorder_frames
// (x264 writes it: 2 for OBS's default bframes=2 with b-pyramid, 0 with
// bframes=0). ok is false when the SPS does not say; the units then tell:
// a picture with PTS != DTS has been reordered.
//
// Chromium's WebRTC decoder cannot play a stream with a depth above 0 (see
// the package documentation): such a stream needs VideoReencoder for
// WebRTC viewers.
func ReorderDepth(v *ingest.Video) (depth int, ok bool) {
	if v == nil || v.Codec != ingest.CodecH264 {
		return 0, false
	}
	var s h264.SPS
	if err := s.Unmarshal(v.SPS); err != nil {
		return 0, false
	}
	if s.ProfileIdc == 66 || s.PicOrderCntType == 2 {
		return 0, true
	}
	if s.VUI != nil && s.VUI.BitstreamRestriction != nil {
		return int(s.VUI.BitstreamRestriction.MaxNumReorderFrames), true
	}
	return 0, false
}
