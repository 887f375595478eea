package packager

import (
	"encoding/binary"

	"github.com/kastlive/kast/ingest"
)

// Track IDs in the init segment and in every part.
const (
	videoTrackID = 1
	audioTrackID = 2
)

// sample flags (ISO/IEC 14496-12 8.8.3.1)
const (
	sampleFlagsSync    = 0x02000000 // sample_depends_on=2 (independent)
	sampleFlagsNonSync = 0x01010000 // sample_depends_on=1, sample_is_non_sync_sample
)

// trun flags
const (
	trunDataOffset = 0x000001
	trunDuration   = 0x000100
	trunSize       = 0x000200
	trunFlags      = 0x000400
	trunCTS        = 0x000800
)

// sample is one access unit waiting in the part being built.
type sample struct {
	unit  *ingest.Unit
	dur   uint32 // in track timescale
	cts   int32  // PTS-DTS in track timescale
	size  uint32 // bytes in mdat
	flags uint32
}

// trackRun is the samples of one track in the part being built.
type trackRun struct {
	id       uint32
	base     uint64 // decode time of the first sample, in track timescale
	samples  []sample
	withCTS  bool
	dataSize int
}

func (t *trackRun) reset() {
	clear(t.samples) // drop unit references
	t.samples = t.samples[:0]
	t.withCTS = false
	t.dataSize = 0
}

func (t *trackRun) add(s sample) {
	if s.cts != 0 {
		t.withCTS = true
	}
	t.dataSize += int(s.size)
	t.samples = append(t.samples, s)
}

func (t *trackRun) trafSize() int {
	entry := 12
	if t.withCTS {
		entry += 4
	}
	// traf header + tfhd + tfdt(v1) + trun header with data offset
	return 8 + 16 + 20 + 20 + entry*len(t.samples)
}

// videoSampleSize is the size of a picture in mdat: each NAL unit with a
// 4-byte length prefix.
func videoSampleSize(u *ingest.Unit) uint32 {
	n := 0
	for _, nalu := range u.NALUs {
		n += 4 + len(nalu)
	}
	return uint32(n)
}

// marshalPart writes a moof+mdat holding the given runs (empty runs are
// left out) into a buffer of the exact size obtained from alloc.
func marshalPart(alloc func(int) []byte, seq uint32, runs ...*trackRun) []byte {
	moofSize := 8 + 16
	dataSize := 0
	for _, r := range runs {
		if len(r.samples) > 0 {
			moofSize += r.trafSize()
			dataSize += r.dataSize
		}
	}
	buf := alloc(moofSize + 8 + dataSize)
	be := binary.BigEndian

	p := putBoxHeader(buf, moofSize, "moof")
	p += putBoxHeader(buf[p:], 16, "mfhd")
	be.PutUint32(buf[p:], 0) // version, flags
	be.PutUint32(buf[p+4:], seq)
	p += 8

	dataOffset := moofSize + 8
	for _, r := range runs {
		if len(r.samples) == 0 {
			continue
		}
		p += putBoxHeader(buf[p:], r.trafSize(), "traf")

		p += putBoxHeader(buf[p:], 16, "tfhd")
		be.PutUint32(buf[p:], 0x020000) // default-base-is-moof
		be.PutUint32(buf[p+4:], r.id)
		p += 8

		p += putBoxHeader(buf[p:], 20, "tfdt")
		be.PutUint32(buf[p:], 1<<24) // version 1
		be.PutUint64(buf[p+4:], r.base)
		p += 12

		entry := 12
		flags := uint32(trunDataOffset | trunDuration | trunSize | trunFlags)
		if r.withCTS {
			entry += 4
			flags |= trunCTS
		}
		p += putBoxHeader(buf[p:], 20+entry*len(r.samples), "trun")
		be.PutUint32(buf[p:], 1<<24|flags) // version 1: signed composition offsets
		be.PutUint32(buf[p+4:], uint32(len(r.samples)))
		be.PutUint32(buf[p+8:], uint32(dataOffset))
		p += 12
		for i := range r.samples {
			s := &r.samples[i]
			be.PutUint32(buf[p:], s.dur)
			be.PutUint32(buf[p+4:], s.size)
			be.PutUint32(buf[p+8:], s.flags)
			p += 12
			if r.withCTS {
				be.PutUint32(buf[p:], uint32(s.cts))
				p += 4
			}
		}
		dataOffset += r.dataSize
	}

	p += putBoxHeader(buf[p:], 8+dataSize, "mdat")
	for _, r := range runs {
		for i := range r.samples {
			u := r.samples[i].unit
			if u.Kind == ingest.KindAudio {
				p += copy(buf[p:], u.Frame)
				continue
			}
			for _, nalu := range u.NALUs {
				be.PutUint32(buf[p:], uint32(len(nalu)))
				p += 4 + copy(buf[p+4:], nalu)
			}
		}
	}
	return buf
}

func putBoxHeader(b []byte, size int, typ string) int {
	binary.BigEndian.PutUint32(b, uint32(size))
	copy(b[4:8], typ)
	return 8
}
