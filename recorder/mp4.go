package recorder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"sort"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// MP4 is a recording as one progressive MP4 built on the fly: the first
// init section (with the recording's duration written into it, so players
// know it before reading on), then every segment's moof+mdat fragments
// with their decode times (tfdt) rebased so that the file starts at 0 and
// runs on without a jump across publishes and gaps. A fragmented MP4 like
// this plays as an ordinary download in ffmpeg and browsers. Its size is
// known without reading the segments, and it is an io.ReadSeeker, so
// http.ServeContent answers Range requests from it: a read opens only the
// segment files it touches.
//
// When the recording's publishes differ in codec parameters (an encoder
// restarted with other settings), the MP4 still carries only the first
// init section; the HLS playlist, which has one per timeline, is exact.
type MP4 struct {
	pieces []piece
	size   int64
	off    int64

	// ModTime and ETag identify this content for conditional requests.
	ModTime time.Time
	ETag    string
	// MixedInits is true when the recording has init sections that differ
	// from the first (see above).
	MixedInits bool

	cur    int // piece whose file is open
	f      *os.File
	layout map[int][]tfdtPos
}

// piece is a byte range of the MP4: bytes in memory or a segment file.
type piece struct {
	off, size int64
	data      []byte
	path      string
	shift     []trackShift
}

type trackShift struct {
	track uint32
	ticks int64
}

// tfdtPos is where a fragment's base decode time sits in a segment file.
type tfdtPos struct {
	off   int64
	v1    bool
	track uint32
	value uint64
}

// MP4 returns the recording as a progressive MP4. Close it after use.
func (rec *Recording) MP4() (*MP4, error) {
	if len(rec.Entries) == 0 {
		return nil, ErrNotFound
	}
	first := &rec.Entries[0]
	initBytes, err := os.ReadFile(rec.InitPath(first))
	if err != nil {
		return nil, err
	}
	var init fmp4.Init
	if err := init.Unmarshal(bytes.NewReader(initBytes)); err != nil {
		return nil, fmt.Errorf("init section: %w", err)
	}
	if len(init.Tracks) == 0 {
		return nil, errors.New("init section without tracks")
	}
	timescale := map[uint32]int64{}
	for _, t := range init.Tracks {
		timescale[uint32(t.ID)] = int64(t.TimeScale)
	}
	ref := uint32(init.Tracks[0].ID)

	m := &MP4{cur: -1, layout: map[int][]tfdtPos{}}
	seenInit := map[string]bool{rec.InitPath(first): true}
	h := fnv.New64a()
	var out time.Duration // output time at the start of the current group
	var shift []trackShift
	var lead time.Duration
	pieces := []piece{{}} // the init, filled in below
	off := int64(0)
	for i := range rec.Entries {
		e := &rec.Entries[i]
		p := rec.InitPath(e)
		if !seenInit[p] {
			seenInit[p] = true
			if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, initBytes) {
				m.MixedInits = true
			}
		}
		path := rec.Path(e)
		if i == 0 || !e.Cont {
			// A new group: rebase its decode times so it starts at out.
			base, err := firstDecodeTimes(path)
			if err != nil {
				return nil, err
			}
			refTicks, ok := base[ref]
			if !ok {
				return nil, fmt.Errorf("%s: no fragment of track %d", path, ref)
			}
			refTime := ticksToDuration(int64(refTicks), timescale[ref])
			if i == 0 {
				// Start the earliest track at 0, not before it.
				for id, b := range base {
					if ts := timescale[id]; ts > 0 {
						lead = max(lead, refTime-ticksToDuration(int64(b), ts))
					}
				}
				out = lead
			}
			shift = shift[:0:0]
			for id, ts := range timescale {
				// The same shift in time for every track keeps them in sync.
				shift = append(shift, trackShift{track: id, ticks: durationToTicks(out, ts) - durationToTicks(refTime, ts)})
			}
		}
		pieces = append(pieces, piece{size: e.Size, path: path, shift: shift})
		out += e.Duration
		fmt.Fprintf(h, "%s/%s/%d/%d;", e.Track, e.Publish, e.MSN, e.Size)
		if end := e.End(); end.After(m.ModTime) {
			m.ModTime = end
		}
	}
	pieces[0].data, err = withDuration(initBytes, out)
	if err != nil {
		return nil, err
	}
	pieces[0].size = int64(len(pieces[0].data))
	for i := range pieces {
		pieces[i].off = off
		off += pieces[i].size
	}
	m.pieces, m.size = pieces, off
	m.ETag = fmt.Sprintf("\"%x-%x\"", h.Sum64(), off)
	return m, nil
}

// Size is the length of the MP4 in bytes.
func (m *MP4) Size() int64 { return m.size }

// Seek implements io.Seeker.
func (m *MP4) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += m.off
	case io.SeekEnd:
		offset += m.size
	default:
		return 0, errors.New("bad whence")
	}
	if offset < 0 {
		return 0, errors.New("negative position")
	}
	m.off = offset
	return offset, nil
}

// Read implements io.Reader.
func (m *MP4) Read(b []byte) (int, error) {
	if m.off >= m.size {
		return 0, io.EOF
	}
	i := sort.Search(len(m.pieces), func(i int) bool { return m.pieces[i].off+m.pieces[i].size > m.off }) // first piece ending after off
	p := &m.pieces[i]
	rel := m.off - p.off
	n := int(min(int64(len(b)), p.size-rel))
	b = b[:n]
	if p.data != nil {
		copy(b, p.data[rel:])
		m.off += int64(n)
		return n, nil
	}
	if m.cur != i {
		if m.f != nil {
			m.f.Close()
			m.f = nil
		}
		f, err := os.Open(p.path)
		if err != nil {
			return 0, err
		}
		m.f, m.cur = f, i
	}
	if _, err := m.f.ReadAt(b, rel); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // the file is shorter than listed
		}
		return 0, err
	}
	lay, ok := m.layout[i]
	if !ok {
		var err error
		if lay, err = fragmentLayout(m.f, p.size); err != nil {
			return 0, err
		}
		m.layout[i] = lay
	}
	patch(b, rel, lay, p.shift)
	m.off += int64(n)
	return n, nil
}

// Close closes the open segment file.
func (m *MP4) Close() error {
	if m.f != nil {
		m.f.Close()
		m.f = nil
	}
	m.cur = -1
	return nil
}

// patch rewrites the decode times that fall in b, which holds the bytes
// of a segment from offset rel.
func patch(b []byte, rel int64, lay []tfdtPos, shift []trackShift) {
	var v [8]byte
	for _, t := range lay {
		n := int64(4)
		if t.v1 {
			n = 8
		}
		if t.off+n <= rel || t.off >= rel+int64(len(b)) {
			continue
		}
		var d int64
		for _, s := range shift {
			if s.track == t.track {
				d = s.ticks
			}
		}
		nv := max(int64(t.value)+d, 0)
		if t.v1 {
			binary.BigEndian.PutUint64(v[:], uint64(nv))
		} else {
			binary.BigEndian.PutUint32(v[:4], uint32(nv))
		}
		for k := range n {
			if at := t.off + k - rel; at >= 0 && at < int64(len(b)) {
				b[at] = v[k]
			}
		}
	}
}

// fragmentLayout finds the tfdt boxes of a segment file: it reads the
// box headers and each moof (a few hundred bytes), skipping the media.
func fragmentLayout(f io.ReaderAt, size int64) ([]tfdtPos, error) {
	var out []tfdtPos
	var hdr [8]byte
	for off := int64(0); off+8 <= size; {
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			return nil, err
		}
		boxSize := int64(binary.BigEndian.Uint32(hdr[:4]))
		if boxSize < 8 || off+boxSize > size {
			return out, nil // not ours: leave the rest as it is
		}
		if string(hdr[4:8]) == "moof" && boxSize <= 1<<20 {
			moof := make([]byte, boxSize)
			if _, err := f.ReadAt(moof, off); err != nil {
				return nil, err
			}
			out = moofDecodeTimes(moof, off, out)
		}
		off += boxSize
	}
	return out, nil
}

// moofDecodeTimes appends the tfdt positions of one moof box at off.
func moofDecodeTimes(moof []byte, off int64, out []tfdtPos) []tfdtPos {
	be := binary.BigEndian
	for c := 8; c+8 <= len(moof); {
		size := int(be.Uint32(moof[c:]))
		if size < 8 || c+size > len(moof) {
			break
		}
		if string(moof[c+4:c+8]) == "traf" {
			var track uint32
			var pos []tfdtPos
			for d := c + 8; d+8 <= c+size; {
				s := int(be.Uint32(moof[d:]))
				if s < 8 || d+s > c+size {
					break
				}
				switch string(moof[d+4 : d+8]) {
				case "tfhd":
					if s >= 16 {
						track = be.Uint32(moof[d+12:])
					}
				case "tfdt":
					if s >= 20 && moof[d+8] == 1 {
						pos = append(pos, tfdtPos{off: off + int64(d+12), v1: true, value: be.Uint64(moof[d+12:])})
					} else if s >= 16 {
						pos = append(pos, tfdtPos{off: off + int64(d+12), value: uint64(be.Uint32(moof[d+12:]))})
					}
				}
				d += s
			}
			for _, p := range pos {
				p.track = track
				out = append(out, p)
			}
		}
		c += size
	}
	return out
}

// firstDecodeTimes returns the first decode time of each track in a
// segment file.
func firstDecodeTimes(path string) (map[uint32]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	lay, err := fragmentLayout(f, info.Size())
	if err != nil {
		return nil, err
	}
	out := map[uint32]uint64{}
	for _, t := range lay {
		if _, ok := out[t.track]; !ok {
			out[t.track] = t.value
		}
	}
	return out, nil
}

// withDuration returns a copy of an init section whose mvhd says the
// duration and whose mvex has a mehd (movie extends header) with it:
// players then know the length of a fragmented file from its start.
func withDuration(init []byte, d time.Duration) ([]byte, error) {
	be := binary.BigEndian
	out := make([]byte, 0, len(init)+20)
	for off := 0; off+8 <= len(init); {
		size := int(be.Uint32(init[off:]))
		if size < 8 || off+size > len(init) {
			return nil, errors.New("init section: bad box")
		}
		box := init[off : off+size]
		off += size
		if string(box[4:8]) != "moov" {
			out = append(out, box...)
			continue
		}
		var moov []byte
		var timescale uint32 = 1000
		for c := 8; c+8 <= len(box); {
			s := int(be.Uint32(box[c:]))
			if s < 8 || c+s > len(box) {
				return nil, errors.New("init section: bad moov")
			}
			child := append([]byte(nil), box[c:c+s]...)
			c += s
			switch string(child[4:8]) {
			case "mvhd":
				if child[8] == 0 && len(child) >= 32 {
					timescale = be.Uint32(child[20:])
					be.PutUint32(child[24:], uint32(min(durationToTicks(d, int64(timescale)), 0xFFFFFFFF)))
				} else if child[8] == 1 && len(child) >= 44 {
					timescale = be.Uint32(child[28:])
					be.PutUint64(child[32:], uint64(durationToTicks(d, int64(timescale))))
				}
			case "mvex":
				mehd := make([]byte, 20)
				be.PutUint32(mehd, 20)
				copy(mehd[4:], "mehd")
				mehd[8] = 1 // version 1: 64-bit duration
				be.PutUint64(mehd[12:], uint64(durationToTicks(d, int64(timescale))))
				body := append(mehd, child[8:]...)
				child = make([]byte, 8, 8+len(body))
				be.PutUint32(child, uint32(8+len(body)))
				copy(child[4:], "mvex")
				child = append(child, body...)
			}
			moov = append(moov, child...)
		}
		hdr := make([]byte, 8)
		be.PutUint32(hdr, uint32(8+len(moov)))
		copy(hdr[4:], "moov")
		out = append(out, hdr...)
		out = append(out, moov...)
	}
	return out, nil
}

// durationToTicks converts to a timescale, rounding toward minus infinity.
func durationToTicks(d time.Duration, timescale int64) int64 {
	sec, rem := int64(d/time.Second), int64(d%time.Second)
	if rem < 0 {
		sec--
		rem += int64(time.Second)
	}
	return sec*timescale + rem*timescale/int64(time.Second)
}

func ticksToDuration(ticks, timescale int64) time.Duration {
	return time.Duration(ticks/timescale)*time.Second + time.Duration(ticks%timescale)*time.Second/time.Duration(timescale)
}
