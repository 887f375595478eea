package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// frameFunc receives the SEI send time of a video frame and the time its
// last byte was read.
type frameFunc func(sendNanos int64, now time.Time)

var errParse = errors.New("parse error")

// fmp4Track is what the bench needs from an fMP4 initialization segment.
type fmp4Track struct {
	videoID    uint32 // track_ID of the video track, 0 if unknown
	lengthSize int    // NAL unit length size (avcC lengthSizeMinusOne+1)
}

// parseFMP4Init finds the video track (hdlr "vide") and its NAL length size in
// an initialization segment (ftyp+moov).
func parseFMP4Init(b []byte) (fmp4Track, error) {
	t := fmp4Track{lengthSize: 4}
	moov, ok := findBox(b, "moov")
	if !ok {
		return t, fmt.Errorf("%w: no moov", errParse)
	}
	for trak := range boxes(moov) {
		if trak.typ != "trak" {
			continue
		}
		var id uint32
		video := false
		lsize := 0
		for c := range boxes(trak.body) {
			switch c.typ {
			case "tkhd":
				if len(c.body) < 24 {
					continue
				}
				if c.body[0] == 1 {
					id = binary.BigEndian.Uint32(c.body[20:])
				} else {
					id = binary.BigEndian.Uint32(c.body[12:])
				}
			case "mdia":
				if hdlr, ok := findBox(c.body, "hdlr"); ok && len(hdlr) >= 12 && string(hdlr[8:12]) == "vide" {
					video = true
				}
				if avcC, ok := findPath(c.body, "minf", "stbl", "stsd"); ok && len(avcC) > 8 {
					// stsd: fullbox(4) entry_count(4) then sample entries.
					for e := range boxes(avcC[8:]) {
						if e.typ == "avc1" || e.typ == "avc3" {
							// VisualSampleEntry header is 78 bytes.
							if len(e.body) > 78 {
								if cfg, ok := findBox(e.body[78:], "avcC"); ok && len(cfg) > 4 {
									lsize = int(cfg[4]&3) + 1
								}
							}
						}
					}
				}
			}
		}
		if video && t.videoID == 0 {
			t.videoID = id
			if lsize != 0 {
				t.lengthSize = lsize
			}
		}
	}
	return t, nil
}

type box struct {
	typ  string
	body []byte
}

// boxes iterates over the ISO-BMFF boxes in b, stopping at the first malformed one.
func boxes(b []byte) func(func(box) bool) {
	return func(yield func(box) bool) {
		for len(b) >= 8 {
			size := uint64(binary.BigEndian.Uint32(b))
			hdr := uint64(8)
			if size == 1 {
				if len(b) < 16 {
					return
				}
				size = binary.BigEndian.Uint64(b[8:])
				hdr = 16
			} else if size == 0 {
				size = uint64(len(b))
			}
			if size < hdr || size > uint64(len(b)) {
				return
			}
			if !yield(box{typ: string(b[4:8]), body: b[hdr:size]}) {
				return
			}
			b = b[size:]
		}
	}
}

func findBox(b []byte, typ string) ([]byte, bool) {
	for c := range boxes(b) {
		if c.typ == typ {
			return c.body, true
		}
	}
	return nil, false
}

func findPath(b []byte, path ...string) ([]byte, bool) {
	for _, p := range path {
		var ok bool
		if b, ok = findBox(b, p); !ok {
			return nil, false
		}
	}
	return b, true
}

// sampleRef locates one video sample in the response body.
type sampleRef struct {
	off  int64
	size int64
}

// fmp4Reader reads fMP4 fragments (moof+mdat, any number of them) from a
// response body as it arrives, and reports each video sample that carries a
// bench SEI once the sample's last byte has been read. Buffers are reused
// across calls.
type fmp4Reader struct {
	track   fmp4Track
	moof    []byte
	samples []sampleRef
	nalu    []byte
	scratch []byte
}

// read consumes r to EOF.
func (p *fmp4Reader) read(r *bufio.Reader, onFrame frameFunc) error {
	var pos int64
	var hdr [16]byte
	for {
		if _, err := io.ReadFull(r, hdr[:8]); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		size := int64(binary.BigEndian.Uint32(hdr[:]))
		typ := string(hdr[4:8])
		hlen := int64(8)
		if size == 1 {
			if _, err := io.ReadFull(r, hdr[8:16]); err != nil {
				return err
			}
			size = int64(binary.BigEndian.Uint64(hdr[8:]))
			hlen = 16
		}
		toEOF := size == 0
		if !toEOF && size < hlen {
			return fmt.Errorf("%w: box size %d", errParse, size)
		}
		switch typ {
		case "moof":
			if toEOF || size > 16<<20 {
				return fmt.Errorf("%w: moof size %d", errParse, size)
			}
			p.moof = grow(p.moof, int(size-hlen))
			if _, err := io.ReadFull(r, p.moof); err != nil {
				return err
			}
			p.samples = p.parseMoof(p.samples[:0], p.moof, pos)
		case "mdat":
			end := pos + size
			if toEOF {
				end = 1 << 62
			}
			if err := p.readMdat(r, pos+hlen, end, onFrame); err != nil {
				return err
			}
			p.samples = p.samples[:0]
			if toEOF {
				return nil
			}
		default:
			if toEOF {
				_, err := io.Copy(io.Discard, r)
				return err
			}
			if _, err := r.Discard(int(size - hlen)); err != nil {
				return err
			}
		}
		pos += size
	}
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// parseMoof appends the video samples described by a moof body that starts
// (header included) at body offset moofPos.
func (p *fmp4Reader) parseMoof(dst []sampleRef, moof []byte, moofPos int64) []sampleRef {
	prevEnd := moofPos
	first := true
	for traf := range boxes(moof) {
		if traf.typ != "traf" {
			continue
		}
		var trackID uint32
		var defSize uint32
		base := moofPos
		for c := range boxes(traf.body) {
			switch c.typ {
			case "tfhd":
				b := c.body
				if len(b) < 8 {
					return dst
				}
				flags := binary.BigEndian.Uint32(b) & 0xffffff
				trackID = binary.BigEndian.Uint32(b[4:])
				b = b[8:]
				switch {
				case flags&0x1 != 0:
					if len(b) < 8 {
						return dst
					}
					base = int64(binary.BigEndian.Uint64(b))
					b = b[8:]
				case flags&0x20000 != 0 || first:
					base = moofPos
				default:
					base = prevEnd
				}
				if flags&0x2 != 0 {
					b = b[min(4, len(b)):]
				}
				if flags&0x8 != 0 {
					b = b[min(4, len(b)):]
				}
				if flags&0x10 != 0 && len(b) >= 4 {
					defSize = binary.BigEndian.Uint32(b)
				}
			case "trun":
				b := c.body
				if len(b) < 8 {
					return dst
				}
				flags := binary.BigEndian.Uint32(b) & 0xffffff
				count := binary.BigEndian.Uint32(b[4:])
				b = b[8:]
				dataPos := prevEnd
				if flags&0x1 != 0 {
					if len(b) < 4 {
						return dst
					}
					dataPos = base + int64(int32(binary.BigEndian.Uint32(b)))
					b = b[4:]
				} else if first {
					dataPos = base
				}
				if flags&0x4 != 0 {
					b = b[min(4, len(b)):]
				}
				for range count {
					if flags&0x100 != 0 {
						b = b[min(4, len(b)):]
					}
					size := defSize
					if flags&0x200 != 0 {
						if len(b) < 4 {
							return dst
						}
						size = binary.BigEndian.Uint32(b)
						b = b[4:]
					}
					if flags&0x400 != 0 {
						b = b[min(4, len(b)):]
					}
					if flags&0x800 != 0 {
						b = b[min(4, len(b)):]
					}
					if p.track.videoID == 0 || trackID == p.track.videoID {
						dst = append(dst, sampleRef{off: dataPos, size: int64(size)})
					}
					dataPos += int64(size)
				}
				prevEnd = dataPos
				first = false
			}
		}
	}
	return dst
}

// readMdat consumes the mdat payload [start, end) and reports video samples.
func (p *fmp4Reader) readMdat(r *bufio.Reader, start, end int64, onFrame frameFunc) error {
	cur := start
	for _, s := range p.samples {
		if s.off < cur || s.off+s.size > end {
			continue
		}
		if _, err := r.Discard(int(s.off - cur)); err != nil {
			return err
		}
		send, ok, err := p.readSample(r, s.size)
		if err != nil {
			return err
		}
		cur = s.off + s.size
		if ok {
			onFrame(send, time.Now())
		}
	}
	if end == 1<<62 {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	_, err := r.Discard(int(end - cur))
	return err
}

// readSample reads one length-prefixed H.264 sample and returns the SEI send
// time it holds, if any.
func (p *fmp4Reader) readSample(r *bufio.Reader, size int64) (int64, bool, error) {
	ls := int64(p.track.lengthSize)
	var send int64
	found := false
	var lb [4]byte
	for size > 0 {
		if size < ls {
			_, err := r.Discard(int(size))
			return send, found, err
		}
		if _, err := io.ReadFull(r, lb[:ls]); err != nil {
			return 0, false, err
		}
		size -= ls
		var n int64
		for _, b := range lb[:ls] {
			n = n<<8 | int64(b)
		}
		if n > size { // not H.264 after all: skip the rest
			_, err := r.Discard(int(size))
			return send, found, err
		}
		size -= n
		if n == 0 {
			continue
		}
		first, err := r.Peek(1)
		if err != nil {
			return 0, false, err
		}
		if first[0]&0x1f != naluTypeSEI || found || n > 64<<10 {
			if _, err := r.Discard(int(n)); err != nil {
				return 0, false, err
			}
			continue
		}
		p.nalu = grow(p.nalu, int(n))
		if _, err := io.ReadFull(r, p.nalu); err != nil {
			return 0, false, err
		}
		send, found, p.scratch = parseSEI(p.nalu, p.scratch)
	}
	return send, found, nil
}
