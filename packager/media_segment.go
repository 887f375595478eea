package packager

import "time"

// part is a closed fMP4 part. Immutable once published.
type part struct {
	n           int64 // number within the muxer's life, names the file
	msn         int   // segment it belongs to
	duration    time.Duration
	independent bool   // starts with a keyframe
	data        []byte // moof+mdat
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
		n += len(p.data)
	}
	return n
}
