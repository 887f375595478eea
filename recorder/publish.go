package recorder

import "time"

// Publish is one publisher connection's recording on a track: its init
// sections and segments, in the order they were written.
type Publish struct {
	Track  string
	ID     string
	Epoch  string // the packager muxer's life it was packaged in
	Source string
	// EventID is the event that owned the track when the publish began
	// (0: not known).
	EventID int64
	Started time.Time
	// Ended is when the publish ended; zero while it is being recorded.
	Ended    time.Time
	Inits    map[int]int64 // init id -> file size
	Segments []Segment
	// Size is the bytes of its files (segments, inits and index).
	Size int64

	removed bool // deleted; the writer must not append to it
}

// Segment is one recorded segment. Start and Duration are on the track
// timeline of the packager (continuous within Epoch); PDT is the
// wall-clock time of its first frame.
type Segment struct {
	MSN      int
	Init     int
	Start    time.Duration
	Duration time.Duration
	PDT      time.Time
	Disc     bool
	Size     int64
}

// End returns the wall-clock end of the segment.
func (s *Segment) End() time.Time { return s.PDT.Add(s.Duration) }

// Live reports whether the publish is still being recorded.
func (p *Publish) Live() bool { return p.Ended.IsZero() }

// Duration is the recorded media time.
func (p *Publish) Duration() time.Duration {
	var d time.Duration
	for i := range p.Segments {
		d += p.Segments[i].Duration
	}
	return d
}

// lastEnd is the wall-clock end of the last segment, or Started.
func (p *Publish) lastEnd() time.Time {
	if n := len(p.Segments); n > 0 {
		return p.Segments[n-1].End()
	}
	return p.Started
}

// firstPDT is the wall-clock start of the first segment, or Started.
func (p *Publish) firstPDT() time.Time {
	if len(p.Segments) > 0 {
		return p.Segments[0].PDT
	}
	return p.Started
}

// endOrNow is when the publish ended, or now while it is live.
func (p *Publish) endOrNow(now time.Time) time.Time {
	if p.Live() {
		return now
	}
	return p.Ended
}
