package rtc

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Payload types kast offers and answers with. An answer reuses the
// offerer's payload types; these matter only where kast offers.
const (
	ptH264ConstrainedBaseline webrtc.PayloadType = 102
	ptH264Baseline            webrtc.PayloadType = 104
	ptH264Main                webrtc.PayloadType = 106
	ptH264High                webrtc.PayloadType = 108
	ptH264ConstrainedHigh     webrtc.PayloadType = 110
	ptVP8                     webrtc.PayloadType = 96
	ptOpus                    webrtc.PayloadType = 111
)

// videoFeedback is what kast reads from viewers (NACK, PLI, FIR, REMB) and
// sends to publishers.
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "goog-remb"},
	{Type: "ccm", Parameter: "fir"},
	{Type: "nack"},
	{Type: "nack", Parameter: "pli"},
}

// h264Profiles are the profile-level-ids browsers offer (pion matches the
// profile and constraint bytes, not the level). The H.264 that kast sends
// is the publisher's; the profile only has to be one the browser decodes.
var h264Profiles = []struct {
	pt  webrtc.PayloadType
	pli string
}{
	{ptH264ConstrainedBaseline, "42e01f"},
	{ptH264Baseline, "42001f"},
	{ptH264Main, "4d001f"},
	{ptH264High, "64001f"},
	{ptH264ConstrainedHigh, "640c1f"},
}

// Codecs returns kast's codec table: H.264 packetization-mode 1 in the
// profiles browsers offer, VP8, and Opus 48 kHz stereo.
func Codecs() []Codec {
	var out []Codec
	for _, p := range h264Profiles {
		out = append(out, Codec{Kind: webrtc.RTPCodecTypeVideo, Params: webrtc.RTPCodecParameters{
			PayloadType: p.pt,
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType:     webrtc.MimeTypeH264,
				ClockRate:    90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + p.pli,
				RTCPFeedback: videoFeedback,
			},
		}})
	}
	out = append(out,
		Codec{Kind: webrtc.RTPCodecTypeVideo, Params: webrtc.RTPCodecParameters{
			PayloadType: ptVP8,
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback,
			},
		}},
		Codec{Kind: webrtc.RTPCodecTypeAudio, Params: webrtc.RTPCodecParameters{
			PayloadType: ptOpus,
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
				SDPFmtpLine: "minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1",
			},
		}},
	)
	return out
}

// Codec is one entry of the codec table.
type Codec struct {
	Kind   webrtc.RTPCodecType
	Params webrtc.RTPCodecParameters
}

// String names the codec as in an SDP rtpmap plus its fmtp, e.g.
// "H264/90000 packetization-mode=1;profile-level-id=42e01f".
func (c Codec) String() string { return describeCodec(c.Params.RTPCodecCapability) }

func describeCodec(c webrtc.RTPCodecCapability) string {
	name := strings.TrimPrefix(strings.TrimPrefix(c.MimeType, "video/"), "audio/")
	s := fmt.Sprintf("%s/%d", name, c.ClockRate)
	if c.Channels > 1 {
		s += fmt.Sprintf("/%d", c.Channels)
	}
	if f := essentialFmtp(name, c.SDPFmtpLine); f != "" {
		s += " " + f
	}
	return s
}

// essentialFmtp keeps the fmtp parameters that decide whether kast can
// send a codec, so that error messages stay readable.
func essentialFmtp(name, fmtp string) string {
	if !strings.EqualFold(name, "H264") {
		return ""
	}
	var keep []string
	for _, kv := range strings.Split(fmtp, ";") {
		kv = strings.TrimSpace(kv)
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "packetization-mode", "profile-level-id":
			keep = append(keep, kv)
		}
	}
	return strings.Join(keep, ";")
}

// newMediaEngine registers the codec table.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range Codecs() {
		if err := m.RegisterCodec(c.Params, c.Kind); err != nil {
			return nil, fmt.Errorf("register %s: %w", c, err)
		}
	}
	return m, nil
}
