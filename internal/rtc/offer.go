package rtc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// MaxOfferSize bounds an SDP offer. Browsers send 4-10 KB.
const MaxOfferSize = 64 << 10

// Limits that keep the parse cheap; browsers offer 2-3 m-lines and about
// 30 payload types on a video line.
const (
	maxMediaLines = 16
	maxFormats    = 64
)

// ErrBadOffer marks an offer that is not valid SDP or breaks WebRTC's
// rules. The wrapping error says what is wrong.
var ErrBadOffer = errors.New("malformed SDP offer")

// Offer is a parsed SDP offer.
type Offer struct {
	SDP   string
	Media []OfferedMedia // m-lines, in order; rejected ones (port 0) left out
}

// OfferedMedia is one m-line of an offer.
type OfferedMedia struct {
	Kind      string // "audio", "video" or "application"
	Mid       string
	Direction string // "sendrecv", "recvonly", "sendonly" or "inactive"
	Codecs    []OfferedCodec
}

// OfferedCodec is one payload type of an m-line.
type OfferedCodec struct {
	PayloadType uint8
	Name        string // as in the rtpmap, e.g. "H264", "opus"
	ClockRate   uint32
	Channels    int // audio; 0 when the rtpmap gives none
	Fmtp        string
}

// String names the codec like Codec.String, e.g.
// "H264/90000 packetization-mode=1;profile-level-id=42e01f".
func (c OfferedCodec) String() string {
	s := fmt.Sprintf("%s/%d", c.Name, c.ClockRate)
	if c.Channels > 1 {
		s += "/" + strconv.Itoa(c.Channels)
	}
	if f := essentialFmtp(c.Name, c.Fmtp); f != "" {
		s += " " + f
	}
	return s
}

// Param returns an fmtp parameter (keys compared without case).
func (c OfferedCodec) Param(key string) (string, bool) {
	for _, kv := range strings.Split(c.Fmtp, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// IsH264PM1 reports whether the codec is H.264 in packetization mode 1
// (the only mode kast sends: STAP-A and FU-A).
func (c OfferedCodec) IsH264PM1() bool {
	if !strings.EqualFold(c.Name, "H264") || c.ClockRate != 90000 {
		return false
	}
	pm, _ := c.Param("packetization-mode")
	return pm == "1"
}

// IsOpus reports whether the codec is Opus at 48 kHz.
func (c OfferedCodec) IsOpus() bool {
	return strings.EqualFold(c.Name, "opus") && c.ClockRate == 48000
}

// IsVP8 reports whether the codec is VP8.
func (c OfferedCodec) IsVP8() bool {
	return strings.EqualFold(c.Name, "VP8") && c.ClockRate == 90000
}

// Receives reports whether the offerer accepts media on this m-line.
func (m OfferedMedia) Receives() bool { return m.Direction == "sendrecv" || m.Direction == "recvonly" }

// Sends reports whether the offerer sends media on this m-line.
func (m OfferedMedia) Sends() bool { return m.Direction == "sendrecv" || m.Direction == "sendonly" }

// Kind returns the first m-line of the given kind, if any.
func (o *Offer) Kind(kind string) (OfferedMedia, bool) {
	for _, m := range o.Media {
		if m.Kind == kind {
			return m, true
		}
	}
	return OfferedMedia{}, false
}

// ParseOffer parses and checks an SDP offer. Errors wrap ErrBadOffer and
// say what is wrong.
func ParseOffer(raw []byte) (*Offer, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrBadOffer)
	}
	if len(raw) > MaxOfferSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadOffer, len(raw), MaxOfferSize)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(raw)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	o := &Offer{SDP: string(raw)}
	sessUfrag, _ := sd.Attribute("ice-ufrag")
	sessPwd, _ := sd.Attribute("ice-pwd")
	_, sessFP := sd.Attribute("fingerprint")
	if len(sd.MediaDescriptions) > maxMediaLines {
		return nil, fmt.Errorf("%w: %d m-lines, at most %d", ErrBadOffer, len(sd.MediaDescriptions), maxMediaLines)
	}
	audioVideo := 0
	for i, md := range sd.MediaDescriptions {
		kind := md.MediaName.Media
		if md.MediaName.Port.Value == 0 {
			continue
		}
		om := OfferedMedia{Kind: kind, Direction: "sendrecv"}
		om.Mid, _ = md.Attribute("mid")
		for _, d := range []string{"sendrecv", "recvonly", "sendonly", "inactive"} {
			if _, ok := md.Attribute(d); ok {
				om.Direction = d
			}
		}
		if kind != "audio" && kind != "video" {
			o.Media = append(o.Media, om)
			continue
		}
		audioVideo++
		if !hasProto(md.MediaName.Protos, "SAVPF") {
			return nil, fmt.Errorf("%w: m-line %d (%s) uses %s, WebRTC needs UDP/TLS/RTP/SAVPF",
				ErrBadOffer, i+1, kind, strings.Join(md.MediaName.Protos, "/"))
		}
		ufrag, ok := md.Attribute("ice-ufrag")
		if !ok {
			ufrag = sessUfrag
		}
		pwd, ok := md.Attribute("ice-pwd")
		if !ok {
			pwd = sessPwd
		}
		if ufrag == "" || pwd == "" {
			return nil, fmt.Errorf("%w: m-line %d (%s) has no ice-ufrag/ice-pwd", ErrBadOffer, i+1, kind)
		}
		if _, ok := md.Attribute("fingerprint"); !ok && !sessFP {
			return nil, fmt.Errorf("%w: m-line %d (%s) has no DTLS fingerprint", ErrBadOffer, i+1, kind)
		}
		if len(md.MediaName.Formats) > maxFormats {
			return nil, fmt.Errorf("%w: m-line %d (%s) lists %d payload types, at most %d",
				ErrBadOffer, i+1, kind, len(md.MediaName.Formats), maxFormats)
		}
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.ParseUint(f, 10, 8)
			if err != nil || pt > 127 {
				return nil, fmt.Errorf("%w: m-line %d (%s): payload type %q", ErrBadOffer, i+1, kind, f)
			}
			c, err := sd.GetCodecForPayloadType(uint8(pt))
			if err != nil {
				// A static payload type without rtpmap: nothing kast sends.
				continue
			}
			ch := 0
			if c.EncodingParameters != "" {
				ch, _ = strconv.Atoi(c.EncodingParameters)
			}
			om.Codecs = append(om.Codecs, OfferedCodec{
				PayloadType: uint8(pt), Name: c.Name, ClockRate: c.ClockRate, Channels: ch, Fmtp: c.Fmtp,
			})
		}
		o.Media = append(o.Media, om)
	}
	if audioVideo == 0 {
		return nil, fmt.Errorf("%w: no audio or video m-line", ErrBadOffer)
	}
	return o, nil
}

func hasProto(protos []string, want string) bool {
	for _, p := range protos {
		if p == want {
			return true
		}
	}
	return false
}

// NoCommonCodecError says that an offer has no codec kast can use for a
// kind of media, naming both sides.
type NoCommonCodecError struct {
	Kind    string   // "audio" or "video"
	Offered []string // what the offer lists for that kind
	Have    []string // what kast can send (or receive) for it
}

func (e *NoCommonCodecError) Error() string {
	offered := "none"
	if len(e.Offered) > 0 {
		offered = strings.Join(e.Offered, ", ")
	}
	return fmt.Sprintf("no common %s codec: the offer has %s; kast has %s",
		e.Kind, offered, strings.Join(e.Have, ", "))
}

// NewNoCommonCodecError builds the error for media m.
func NewNoCommonCodecError(m OfferedMedia, have ...string) *NoCommonCodecError {
	e := &NoCommonCodecError{Kind: m.Kind, Have: have}
	seen := map[string]bool{}
	for _, c := range m.Codecs {
		s := c.String()
		// rtx, red, ulpfec, flexfec are not media codecs: leave them out.
		switch strings.ToLower(c.Name) {
		case "rtx", "red", "ulpfec", "flexfec-03", "cn", "telephone-event":
			continue
		}
		if !seen[s] {
			seen[s] = true
			e.Offered = append(e.Offered, s)
		}
	}
	return e
}
