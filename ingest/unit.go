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

	// Key is true for video units that start with an IDR picture (decodable
	// on their own) and for every audio unit.
	Key bool

	// NALUs holds the NAL units of a video picture, without start codes or
	// length prefixes.
	NALUs [][]byte

	// Frame holds one raw audio frame (an AAC raw_data_block).
	Frame []byte
}

// Size returns the payload size of the unit in bytes.
func (u *Unit) Size() int {
	if u.Kind == KindAudio {
		return len(u.Frame)
	}
	n := 0
	for _, nalu := range u.NALUs {
		n += len(nalu)
	}
	return n
}
