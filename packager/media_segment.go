package packager

import (
	"strconv"
	"time"
)

// part is a closed LL-HLS part: a run of CMAF chunks (moof+mdat), one per
// video frame, the same bytes that were streamed while it was being built.
// Immutable once published.
type part struct {
	n           int64 // number within the muxer's life, names the file
	msn         int   // segment it belongs to
	duration    time.Duration
	independent bool // starts with a keyframe
	chunks      [][]byte
	data        []byte // the chunks as one contiguous buffer, when they are
	size        int
	sizeHeader  []string // Content-Length value, shared by every response
}

func newPart(n int64, msn int, duration time.Duration, independent bool, chunks [][]byte) *part {
	p := &part{n: n, msn: msn, duration: duration, independent: independent, chunks: chunks}
	for _, c := range chunks {
		p.size += len(c)
	}
	p.sizeHeader = []string{strconv.Itoa(p.size)}
	return p
}

// segment is a list of parts. A segment in a snapshot is a copy whose parts
// slice is never appended to, so readers need no lock.
type segment struct {
	msn           int
	parts         []*part
	start         time.Duration // on the track timeline
	duration      time.Duration // set when the segment is complete
	pdt           time.Time
	discontinuity bool
	initID        int
	complete      bool
}

func (s *segment) size() int {
	n := 0
	for _, p := range s.parts {
		n += p.size
	}
	return n
}
