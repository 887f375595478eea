package ingest

// Codec names the coding of an elementary stream.
type Codec uint8

// Codecs kast carries. Publishers refuse the others with an error that
// names them.
const (
	CodecH264 Codec = iota + 1
	CodecVP8
	CodecAAC
	CodecOpus
)

// String returns the codec's usual name, e.g. "H.264".
func (c Codec) String() string {
	switch c {
	case CodecH264:
		return "H.264"
	case CodecVP8:
		return "VP8"
	case CodecAAC:
		return "AAC"
	case CodecOpus:
		return "Opus"
	}
	return "unknown codec"
}
