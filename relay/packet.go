package relay

// packet is one RTP packet of a stream, shared by every viewer and never
// modified once made. Sequence number and timestamp are the stream's;
// each down-track adds its own offsets.
type packet struct {
	seq     uint16
	ts      uint32
	marker  bool
	key     bool // first packet of a keyframe access unit
	payload []byte
}
