package conference

import "time"

// Event is a conference or meetup: a set of tracks.
type Event struct {
	ID        int64
	Slug      string
	Title     string
	CreatedAt time.Time
}
