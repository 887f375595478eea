package conference

import "time"

// OnAir is what a track shows now. TalkID is 0 when nothing is on air.
type OnAir struct {
	TrackID int64
	TalkID  int64
	// Manual is set when an organizer chose the talk; the scheduler leaves
	// the track alone until ManualUntil (the next slot boundary after the
	// switch; zero: until the next manual switch).
	Manual      bool
	ManualUntil time.Time
	ChangedAt   time.Time
}
