package whip

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/internal/rtc"
)

// What kast takes from a publisher, as error messages name it.
var (
	videoTaken = []string{"H264/90000 packetization-mode=1", "VP8/90000"}
	audioTaken = []string{"opus/48000/2"}
)

// offeredMedia is what a checked offer will send.
type offeredMedia struct {
	video, audio bool
}

// checkOffer decides whether kast can take what an offer sends: at most
// one video and one audio m-line that send, in codecs kast takes, and no
// simulcast. Errors wrap rtc.ErrBadOffer or are *rtc.NoCommonCodecError.
func checkOffer(o *rtc.Offer) (offeredMedia, error) {
	var m offeredMedia
	var kinds []string
	for _, om := range o.Media {
		if (om.Kind != "video" && om.Kind != "audio") || !om.Sends() {
			continue
		}
		kinds = append(kinds, om.Kind)
		switch om.Kind {
		case "video":
			if m.video {
				return m, fmt.Errorf("%w: more than one video m-line; a WHIP publisher sends one video and one audio track", rtc.ErrBadOffer)
			}
			m.video = true
			if !hasCodec(om, func(c rtc.OfferedCodec) bool { return c.IsH264PM1() || c.IsVP8() }) {
				return m, rtc.NewNoCommonCodecError(om, videoTaken...)
			}
		case "audio":
			if m.audio {
				return m, fmt.Errorf("%w: more than one audio m-line; a WHIP publisher sends one video and one audio track", rtc.ErrBadOffer)
			}
			m.audio = true
			if !hasCodec(om, rtc.OfferedCodec.IsOpus) {
				return m, rtc.NewNoCommonCodecError(om, audioTaken...)
			}
		}
	}
	if len(kinds) == 0 {
		return m, fmt.Errorf("%w: no audio or video m-line sends media (a WHIP offer is sendonly)", rtc.ErrBadOffer)
	}
	if hasLine(o.SDP, "a=simulcast:") {
		return m, fmt.Errorf("%w: simulcast is not supported: publish a single encoding", rtc.ErrBadOffer)
	}
	return m, nil
}

func hasCodec(m rtc.OfferedMedia, ok func(rtc.OfferedCodec) bool) bool {
	for _, c := range m.Codecs {
		if ok(c) {
			return true
		}
	}
	return false
}

// hasLine reports whether an SDP has a line starting with prefix.
func hasLine(sdp, prefix string) bool {
	for line := range strings.Lines(sdp) {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}

// videoPreferences returns the offer's video codecs kast takes, H.264
// first, with the offer's payload types and fmtp lines: what the answer
// must list. (Preferences taken from kast's own codec table would carry
// kast's payload types into the answer, and a sender would then use
// payload types the receiver does not know.) An H.264 profile outside the
// codec table is left out: pion would not accept its packets.
func videoPreferences(o *rtc.Offer) []webrtc.RTPCodecParameters {
	m, ok := o.Kind("video")
	if !ok {
		return nil
	}
	profiles := map[string]bool{}
	var fb []webrtc.RTCPFeedback
	for _, c := range rtc.Codecs() {
		if c.Params.MimeType == webrtc.MimeTypeH264 {
			profiles[profileOf(rtc.OfferedCodec{Fmtp: c.Params.SDPFmtpLine})] = true
			fb = c.Params.RTCPFeedback
		}
	}
	// pion answers with the intersection of these and what it registered
	// (transport-cc comes from the TWCC feedback of the publisher engine).
	fb = append(append([]webrtc.RTCPFeedback(nil), fb...), webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC})
	var h264, vp8 []webrtc.RTPCodecParameters
	for _, c := range m.Codecs {
		p := webrtc.RTPCodecParameters{
			PayloadType: webrtc.PayloadType(c.PayloadType),
			RTPCodecCapability: webrtc.RTPCodecCapability{
				ClockRate: c.ClockRate, SDPFmtpLine: c.Fmtp, RTCPFeedback: fb,
			},
		}
		switch {
		case c.IsH264PM1() && profiles[profileOf(c)]:
			p.MimeType = webrtc.MimeTypeH264
			h264 = append(h264, p)
		case c.IsVP8():
			p.MimeType = webrtc.MimeTypeVP8
			vp8 = append(vp8, p)
		}
	}
	return append(h264, vp8...)
}

// profileOf returns the profile and constraint bytes of an H.264 codec's
// profile-level-id (lowercase hex), without the level, which any
// receiver may differ in.
func profileOf(c rtc.OfferedCodec) string {
	plid, _ := c.Param("profile-level-id")
	if len(plid) < 4 {
		return ""
	}
	return strings.ToLower(plid[:4])
}
