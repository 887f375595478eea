package main

import (
	"bytes"
	"encoding/binary"
)

// seiUUID marks the bench's latency SEI among other user-data-unregistered messages
// (x264 writes one too). It is ASCII so it never needs emulation prevention.
var seiUUID = [16]byte{'k', 'a', 's', 't', '-', 'b', 'e', 'n', 'c', 'h', '-', 's', 'e', 'i', 'v', '1'}

const (
	naluTypeSEI            = 6
	seiUserDataUnregistred = 5
	seiPayloadSize         = 16 + 8
)

// buildSEI appends to dst an H.264 SEI NAL unit (type 6) holding one
// user_data_unregistered message (payload type 5): seiUUID followed by
// sendNanos as a big-endian unix-nano wall-clock time. Emulation prevention
// bytes are inserted, so the result can be sent as is.
func buildSEI(dst []byte, sendNanos int64) []byte {
	var rbsp [2 + seiPayloadSize + 1]byte
	rbsp[0] = seiUserDataUnregistred
	rbsp[1] = seiPayloadSize
	copy(rbsp[2:], seiUUID[:])
	binary.BigEndian.PutUint64(rbsp[18:], uint64(sendNanos))
	rbsp[len(rbsp)-1] = 0x80 // rbsp_trailing_bits

	dst = append(dst, naluTypeSEI)
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}

// unescapeRBSP appends src to dst without its emulation prevention bytes.
func unescapeRBSP(dst, src []byte) []byte {
	zeros := 0
	for _, b := range src {
		if zeros >= 2 && b == 3 {
			zeros = 0
			continue
		}
		dst = append(dst, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}

// parseSEI looks for the bench's send-time message in an H.264 NAL unit.
// scratch is reused to unescape the payload; the (possibly grown) scratch is
// returned for the next call. ok is false when nalu is not an SEI or holds no
// bench message.
func parseSEI(nalu, scratch []byte) (sendNanos int64, ok bool, scratchOut []byte) {
	if len(nalu) < 2 || nalu[0]&0x1f != naluTypeSEI {
		return 0, false, scratch
	}
	rbsp := unescapeRBSP(scratch[:0], nalu[1:])
	p := rbsp
	for len(p) > 2 {
		if p[0] == 0x80 && len(p) == 1 {
			break
		}
		var typ, size int
		var ok bool
		if typ, p, ok = readSEIValue(p); !ok {
			break
		}
		if size, p, ok = readSEIValue(p); !ok {
			break
		}
		if size > len(p) {
			break
		}
		if typ == seiUserDataUnregistred && size >= seiPayloadSize && bytes.Equal(p[:16], seiUUID[:]) {
			return int64(binary.BigEndian.Uint64(p[16:24])), true, rbsp
		}
		p = p[size:]
	}
	return 0, false, rbsp
}

// readSEIValue reads an SEI payload type or size: 0xff bytes each add 255,
// the first other byte ends the value.
func readSEIValue(p []byte) (v int, rest []byte, ok bool) {
	for len(p) > 0 && p[0] == 0xff {
		v += 255
		p = p[1:]
	}
	if len(p) == 0 {
		return 0, nil, false
	}
	return v + int(p[0]), p[1:], true
}
