package ingest

import "time"

// Kind says which elementary stream a Unit belongs to.
type Kind uint8

// Kinds of units.
const (
	KindVideo Kind = iota
	KindAudio
)

// String returns "video" or "audio".
func (k Kind) String() string {
	if k == KindVideo {
		return "video"
	}
	return "audio"
}

// Unit is one access unit: a whole video picture or one audio frame.
// Units are shared by every reader of a stream and must not be modified.
type Unit struct {
	Kind Kind

	// DTS and PTS on the publisher's clock, from an arbitrary origin.
	DTS time.Duration
	PTS time.Duration

	// Received is the wall-clock time the unit was read from the publisher.
	Received time.Time

	// Key is true for video units decodable on their own (an H.264 IDR
	// picture, a VP8 keyframe) and for every audio unit.
	Key bool

	// NALUs holds the NAL units of an H.264 picture, without start codes or
	// length prefixes.
	NALUs [][]byte

	// Frame holds one audio frame (an AAC raw_data_block, an Opus packet)
	// or one VP8 frame.
	Frame []byte
}

// Size returns the payload size of the unit in bytes.
func (u *Unit) Size() int {
	if u.NALUs == nil {
		return len(u.Frame)
	}
	n := 0
	for _, nalu := range u.NALUs {
		n += len(nalu)
	}
	return n
}
