package transcode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// flvReader reads the FLV that ffmpeg writes on the re-encoder's stdout:
// its header, then tags. FLV frames every picture with its length, so a
// picture can be passed on as soon as it is read (raw H.264 would only end
// when the next picture begins).
type flvReader struct {
	r      io.Reader
	header bool
	hdr    [15]byte
}

// maxFLVTag bounds a tag's size (FLV allows 16 MB): a 4K keyframe at a high
// bitrate fits.
const maxFLVTag = 8 << 20

// flvTag is one FLV tag.
type flvTag struct {
	Type uint8 // 8 audio, 9 video, 18 script data
	Data []byte
}

var errNotFLV = errors.New("not an FLV stream")

// next returns the next tag.
func (f *flvReader) next() (flvTag, error) {
	if !f.header {
		var h [13]byte // FLV header (9 bytes) and PreviousTagSize0
		if _, err := io.ReadFull(f.r, h[:]); err != nil {
			return flvTag{}, err
		}
		if !bytes.Equal(h[:3], []byte("FLV")) {
			return flvTag{}, errNotFLV
		}
		if off := binary.BigEndian.Uint32(h[5:9]); off != 9 {
			return flvTag{}, fmt.Errorf("FLV header of %d bytes", off)
		}
		f.header = true
	}
	// Tag header (11 bytes); the PreviousTagSize after the data is read
	// with the next tag's header.
	if _, err := io.ReadFull(f.r, f.hdr[:11]); err != nil {
		return flvTag{}, err
	}
	size := int(f.hdr[1])<<16 | int(f.hdr[2])<<8 | int(f.hdr[3])
	if size > maxFLVTag {
		return flvTag{}, fmt.Errorf("FLV tag of %d bytes", size)
	}
	data := make([]byte, size+4)
	if _, err := io.ReadFull(f.r, data); err != nil {
		return flvTag{}, err
	}
	if prev := binary.BigEndian.Uint32(data[size:]); prev != uint32(size+11) {
		return flvTag{}, fmt.Errorf("FLV tag size %d, previous tag size says %d", size+11, prev)
	}
	return flvTag{Type: f.hdr[0] & 0x1f, Data: data[:size]}, nil
}

// parseAVCConfig returns the first SPS and PPS of an
// AVCDecoderConfigurationRecord (ISO 14496-15 5.3.3.1). kast's units carry
// NAL units with 4-byte lengths, as ffmpeg writes them.
func parseAVCConfig(b []byte) (sps, pps []byte, err error) {
	if len(b) < 7 || b[0] != 1 {
		return nil, nil, errors.New("invalid AVCDecoderConfigurationRecord")
	}
	if b[4]&3 != 3 {
		return nil, nil, fmt.Errorf("AVC NAL length size %d, want 4", b[4]&3+1)
	}
	pos := 5
	read := func() []byte {
		if pos+2 > len(b) {
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[pos:]))
		if pos+2+n > len(b) || n == 0 {
			return nil
		}
		v := b[pos+2 : pos+2+n]
		pos += 2 + n
		return v
	}
	nSPS := int(b[pos] & 0x1f)
	pos++
	for i := range nSPS {
		v := read()
		if v == nil {
			return nil, nil, errors.New("truncated SPS in AVCDecoderConfigurationRecord")
		}
		if i == 0 {
			sps = v
		}
	}
	if pos >= len(b) {
		return nil, nil, errors.New("no PPS in AVCDecoderConfigurationRecord")
	}
	nPPS := int(b[pos])
	pos++
	for i := range nPPS {
		v := read()
		if v == nil {
			return nil, nil, errors.New("truncated PPS in AVCDecoderConfigurationRecord")
		}
		if i == 0 {
			pps = v
		}
	}
	if sps == nil || pps == nil {
		return nil, nil, errors.New("AVCDecoderConfigurationRecord without SPS or PPS")
	}
	return sps, pps, nil
}
