package transcode

import (
	"bytes"
	"strconv"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// The video re-encoder tags every picture it writes to ffmpeg with a
// user-data-unregistered SEI holding a sequence number. ffmpeg's H.264
// decoder exports such SEI with the decoded picture and libx264 (-udu_sei 1)
// writes it into the re-encoded picture, so each output picture names the
// input it came from, whatever ffmpeg reorders or drops.

// seiUUID identifies kast's tag among other user data SEI (x264 writes its
// version string as one).
var seiUUID = []byte("kast-reencode-id")

// seiTagLen is the payload size: the UUID and 16 hex digits. Hex digits and
// the UUID contain no zero bytes, so the NAL needs no emulation prevention.
const seiTagLen = 16 + 16

// tagSEI returns an SEI NAL unit carrying id.
func tagSEI(id uint64) []byte {
	n := make([]byte, 0, 3+seiTagLen+1)
	n = append(n, byte(h264.NALUTypeSEI), 5, seiTagLen) // user_data_unregistered
	n = append(n, seiUUID...)
	hex := strconv.FormatUint(id, 16)
	for range 16 - len(hex) {
		n = append(n, '0')
	}
	n = append(n, hex...)
	return append(n, 0x80) // rbsp_trailing_bits
}

// readTagSEI returns the id of kast's tag when nalu is an SEI NAL unit that
// carries it, and whether the NAL holds nothing else (it can be dropped).
func readTagSEI(nalu []byte) (id uint64, only, ok bool) {
	if len(nalu) < 2 || h264.NALUType(nalu[0]&0x1f) != h264.NALUTypeSEI {
		return 0, false, false
	}
	b := h264.EmulationPreventionRemove(nalu[1:])
	messages := 0
	for len(b) > 0 && !(len(b) == 1 && b[0] == 0x80) {
		typ, n1 := seiValue(b)
		b = b[n1:]
		size, n2 := seiValue(b)
		b = b[n2:]
		if n1 == 0 || n2 == 0 || size > len(b) {
			return 0, false, false
		}
		payload := b[:size]
		b = b[size:]
		messages++
		if typ == 5 && size == seiTagLen && bytes.Equal(payload[:16], seiUUID) {
			v, err := strconv.ParseUint(string(payload[16:]), 16, 64)
			if err == nil {
				id, ok = v, true
			}
		}
	}
	return id, ok && messages == 1, ok
}

// seiValue reads an SEI payload type or size (a run of 0xff bytes, then
// the last byte) and returns it with the bytes it took; n is 0 when b ends
// first.
func seiValue(b []byte) (v, n int) {
	for n < len(b) {
		c := b[n]
		n++
		v += int(c)
		if c != 0xff {
			return v, n
		}
		if v > 1<<20 {
			return 0, 0
		}
	}
	return 0, 0
}
