package packager

import "time"

// snapshot is an immutable view of a track's presentation, published after
// every part. Requests read it without locks; next is closed when a newer
// snapshot replaces it.
type snapshot struct {
	epoch string
	live  bool // a publisher feeds the track
	gone  bool // the track's muxer is gone; answer 404

	msn      int         // MSN of the segment receiving parts
	parts    int         // parts complete in segment msn
	nextPart int64       // number of the next part, the preload hint
	building *partStream // part nextPart, while it is being built

	segments  []segment // complete ones, then the open one if any
	inits     map[int][]byte
	targetDur int
	partHold  time.Duration

	playlist     []byte // full media playlist
	delta        []byte // _HLS_skip=YES form; nil when nothing can be skipped
	multivariant []byte // nil until the media is known

	// Content-Length values of the above
	playlistLen, deltaLen, multivariantLen []string

	next chan struct{}
}

// has reports whether the snapshot lists part p of segment msn (p < 0: the
// whole segment msn).
func (s *snapshot) has(msn, p int) bool {
	if msn < s.msn {
		return true
	}
	if msn > s.msn {
		return false
	}
	return p >= 0 && p < s.parts
}

// segment returns complete segment msn.
func (s *snapshot) segment(msn int) *segment {
	if len(s.segments) == 0 {
		return nil
	}
	i := msn - s.segments[0].msn
	if i < 0 || i >= len(s.segments) || !s.segments[i].complete {
		return nil
	}
	return &s.segments[i]
}

// part returns part number n.
func (s *snapshot) part(n int64) *part {
	for i := len(s.segments) - 1; i >= 0; i-- {
		ps := s.segments[i].parts
		if len(ps) == 0 || ps[0].n > n {
			continue
		}
		if j := n - ps[0].n; j < int64(len(ps)) {
			return ps[j]
		}
		return nil
	}
	return nil
}
