package conference

import (
	"sync"
	"time"
	_ "time/tzdata" // time zones validate the same on every machine
)

// Access says who may watch an event's tracks.
type Access string

// Access modes.
const (
	// AccessPublic: anyone may watch.
	AccessPublic Access = "public"
	// AccessRegistered: only accounts registered for the event may watch.
	AccessRegistered Access = "registered"
)

// EventStatus is where an event is in its life.
type EventStatus string

// Event statuses.
const (
	StatusScheduled EventStatus = "scheduled"
	StatusLive      EventStatus = "live"
	StatusEnded     EventStatus = "ended"
)

// MaxEventDuration bounds an event's length: a typo in a year is caught.
const MaxEventDuration = 366 * 24 * time.Hour

// Event is a conference or meetup: a set of tracks and their timetable.
type Event struct {
	ID    int64
	Slug  string
	Title string
	// Start and End bound the event; every talk lies inside them. Both are
	// zero for an event created without dates (the bootstrap default).
	Start time.Time
	End   time.Time
	// TimeZone is the IANA name of the venue's zone ("Europe/Berlin"): the
	// timetable's days and the iCalendar export are in it.
	TimeZone string
	Access   Access
	// OfflineCapacity is the number of seats at the venue: at most that
	// many registrations are for offline participation.
	OfflineCapacity int
	Status          EventStatus
	// AutoOnAir: the scheduler moves each track's on-air talk at the
	// timetable's times (a manual switch wins until the next slot).
	AutoOnAir bool
	CreatedAt time.Time
}

// Location returns the event's time zone (UTC when unset or unknown).
func (e Event) Location() *time.Location {
	if e.TimeZone == "" {
		return time.UTC
	}
	if loc, ok := locations.Load(e.TimeZone); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(e.TimeZone)
	if err != nil {
		return time.UTC
	}
	locations.Store(e.TimeZone, loc)
	return loc
}

// locations caches loaded time zones: LoadLocation parses zone data on
// every call, and answers render every talk's times.
var locations sync.Map

// HasDates reports whether the event has a start and an end.
func (e Event) HasDates() bool { return !e.Start.IsZero() && !e.End.IsZero() }

// Normalize fills defaults for empty optional fields.
func (e *Event) Normalize() {
	if e.TimeZone == "" {
		e.TimeZone = "UTC"
	}
	if e.Access == "" {
		e.Access = AccessPublic
	}
	if e.Status == "" {
		e.Status = StatusScheduled
	}
}

// Validate checks the event's fields; the error is a *FieldError.
func (e Event) Validate() error {
	if err := checkSlug("slug", e.Slug); err != nil {
		return err
	}
	if err := checkText("name", e.Title, true, false, MaxNameLen); err != nil {
		return err
	}
	if e.TimeZone == "" || e.TimeZone == "Local" {
		return fieldErr("timezone", "is required (an IANA name such as Europe/Berlin)")
	}
	if _, err := time.LoadLocation(e.TimeZone); err != nil {
		return fieldErr("timezone", "unknown time zone %q (want an IANA name such as Europe/Berlin)", e.TimeZone)
	}
	switch e.Access {
	case AccessPublic, AccessRegistered:
	default:
		return fieldErr("access", "must be public or registered")
	}
	switch e.Status {
	case StatusScheduled, StatusLive, StatusEnded:
	default:
		return fieldErr("status", "must be scheduled, live or ended")
	}
	if e.OfflineCapacity < 0 || e.OfflineCapacity > 1_000_000 {
		return fieldErr("offline_capacity", "must be between 0 and 1000000")
	}
	if e.Start.IsZero() != e.End.IsZero() {
		if e.Start.IsZero() {
			return fieldErr("start", "is required when end is set")
		}
		return fieldErr("end", "is required when start is set")
	}
	if e.HasDates() {
		if !e.End.After(e.Start) {
			return fieldErr("end", "must be after start")
		}
		if e.End.Sub(e.Start) > MaxEventDuration {
			return fieldErr("end", "is more than a year after start")
		}
	}
	return nil
}

// Contains reports whether [start, end] lies inside the event (always true
// for an event without dates).
func (e Event) Contains(start, end time.Time) bool {
	if !e.HasDates() {
		return true
	}
	return !start.Before(e.Start) && !end.After(e.End)
}
