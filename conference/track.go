package conference

// Track is one live stream of an event (a room or stage). Its slug is unique
// across all events and names the stream in URLs (/watch/<slug>, /hls/<slug>/).
type Track struct {
	ID      int64
	EventID int64
	Slug    string
	Title   string
	// Order sorts an event's tracks (ascending, then by id).
	Order int
	// Room is the key of the timetable room this track was imported from
	// (the room's guid, or its name); empty for a track made in kast. A
	// re-import matches rooms to tracks on it.
	Room string
}

// Validate checks the track's fields; the error is a *FieldError.
func (t Track) Validate() error {
	if err := checkSlug("slug", t.Slug); err != nil {
		return err
	}
	if err := checkText("name", t.Title, true, false, MaxNameLen); err != nil {
		return err
	}
	if t.Order < -1_000_000 || t.Order > 1_000_000 {
		return fieldErr("order", "must be between -1000000 and 1000000")
	}
	return checkText("room", t.Room, false, false, MaxNameLen)
}

// TrackAccess is who may watch a track: its event's access mode (what
// TrackStore.TrackAccess lists for a playback gate to keep in memory).
type TrackAccess struct {
	TrackID   int64
	Track     string // slug
	EventID   int64
	EventSlug string
	Access    Access
}
