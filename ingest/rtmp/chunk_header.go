package rtmp

import "fmt"

// Chunk-layer facts (RTMP 1.0, 5.3.1) and the limits gortmplib v1.0.2 keeps.
const (
	// handshakeC0C1 and handshakeLen count the bytes a client sends before
	// its first chunk: C0 (1), C1 (1536), C2 (1536).
	handshakeC0C1 = 1 + 1536
	handshakeLen  = handshakeC0C1 + 1536

	// maxChunkHeader is the longest chunk header: a 3-byte basic header,
	// an 11-byte message header and a 4-byte extended timestamp.
	maxChunkHeader = 3 + 11 + 4

	// gortmplib reads only 1-byte basic headers, chunk stream IDs 2-63.
	minTargetID = 2
	maxTargetID = 63

	// maxKnownStreams bounds the chunk streams one connection may open
	// (RTMP allows 65,598; real publishers use fewer than ten).
	maxKnownStreams = 1024

	// maxMessageSize is gortmplib's limit on a message body (10 MiB).
	maxMessageSize = 10 << 20

	// Before the stream key is accepted a client has sent only connect,
	// createStream, publish and a few small control messages (about 2 KB
	// in all), so a stranger gets little: messages up to 16 KiB (gortmplib
	// allocates a whole chunk as soon as it reads a header), 16 chunk
	// streams, 32 KiB in all. That bounds what each of thousands of
	// unauthenticated connections can make kast hold.
	preAuthMaxMessage = 16 << 10
	preAuthMaxStreams = 16
	preAuthMaxBytes   = 32 << 10

	extendedTimestamp = 0xFFFFFF

	msgTypeSetChunkSize = 1
	msgTypeAbort        = 2
)

// chunkError is a violation of the chunk protocol found by the rewriter.
// Its text carries numbers only, never bytes of the client's, so it can be
// logged as it is.
type chunkError struct{ msg string }

func (e *chunkError) Error() string { return "rtmp chunk stream: " + e.msg }

func chunkErrorf(format string, a ...any) error { return &chunkError{msg: fmt.Sprintf(format, a...)} }

// chunkHeader is the header state of one chunk stream exactly as
// gortmplib's reader keeps it (rawmessage.readerChunkStream), so that the
// rewriter can tell what gortmplib will make of the bytes it is given.
// Where gortmplib departs from the letter of the spec (after a type 0
// chunk the delta is 0; type 3 chunks carry an extended timestamp when the
// stream's last timestamp or delta is 0xFFFFFF or more), so does this.
type chunkHeader struct {
	valid  bool // a type 0 chunk was seen
	ts     uint32
	delta  uint32
	length uint32
	typ    uint8
	msid   uint32 // big-endian, as gortmplib reads it
	ext    bool   // type 3 chunks carry a 4-byte extended timestamp
	recv   uint32 // bytes of the current message received; 0 between messages
}

// rawHeader is one chunk header as the client sent it.
type rawHeader struct {
	fmt    byte
	csid   uint32
	field  uint32 // the 24-bit timestamp or delta (types 0-2)
	length uint32 // types 0 and 1
	typ    uint8  // types 0 and 1
	msid   uint32 // type 0
	hasExt bool
	extVal uint32
	msg    [11]byte // the message header bytes as read
	msgLen int
	extRaw [4]byte
}

// messageHeaderLen is the message header size of each chunk type.
var messageHeaderLen = [4]int{11, 7, 3, 0}

// apply advances h by one chunk header at the start of a message, or by a
// continuation chunk, as gortmplib does, and fails where gortmplib fails.
func (h *chunkHeader) apply(rh *rawHeader) error {
	val := rh.field
	if rh.fmt < 3 && rh.field == extendedTimestamp {
		val = rh.extVal
	}
	switch rh.fmt {
	case 0:
		if h.recv != 0 {
			return chunkErrorf("type 0 chunk inside a message on chunk stream %d", rh.csid)
		}
		*h = chunkHeader{valid: true, ts: val, length: rh.length, typ: rh.typ, msid: rh.msid, ext: val >= extendedTimestamp}
	case 1, 2:
		if !h.valid {
			return chunkErrorf("type %d chunk before any type 0 chunk on chunk stream %d", rh.fmt, rh.csid)
		}
		if h.recv != 0 {
			return chunkErrorf("type %d chunk inside a message on chunk stream %d", rh.fmt, rh.csid)
		}
		h.ts += val
		h.delta = val
		h.ext = val >= extendedTimestamp
		if rh.fmt == 1 {
			h.length = rh.length
			h.typ = rh.typ
		}
	default:
		if h.recv == 0 {
			if !h.valid {
				return chunkErrorf("type 3 chunk before any type 0 chunk on chunk stream %d", rh.csid)
			}
			h.ts += h.delta
		}
	}
	return nil
}

// appendType0 appends a type 0 chunk header for the message h describes,
// on gortmplib chunk stream id.
func (h *chunkHeader) appendType0(b []byte, id byte) []byte {
	ts := min(h.ts, extendedTimestamp)
	b = append(b, id,
		byte(ts>>16), byte(ts>>8), byte(ts),
		byte(h.length>>16), byte(h.length>>8), byte(h.length),
		h.typ,
		byte(h.msid>>24), byte(h.msid>>16), byte(h.msid>>8), byte(h.msid))
	if h.ts >= extendedTimestamp {
		b = append(b, byte(h.ts>>24), byte(h.ts>>16), byte(h.ts>>8), byte(h.ts))
	}
	return b
}
