package conference

import (
	"context"
	"time"
)

// The storage interfaces, one per entity. Implementations are safe for
// concurrent use; a write that must be atomic is one transaction. A
// PostgreSQL store implements the same interfaces and passes the same
// tests (store/storetest).

// EventStore keeps events.
type EventStore interface {
	// CreateEvent stores ev (ID, CreatedAt set by the store); a slug in
	// use is ErrConflict.
	CreateEvent(ctx context.Context, ev Event) (Event, error)
	// UpdateEvent replaces the event with ev.ID; ErrNotFound, ErrConflict,
	// or a *FieldError (field "start") when a talk of the event would lie
	// outside ev's dates, checked in the transaction that writes them.
	UpdateEvent(ctx context.Context, ev Event) (Event, error)
	// DeleteEvent removes the event with its tracks, talks and
	// registrations.
	DeleteEvent(ctx context.Context, id int64) error
	EventByID(ctx context.Context, id int64) (Event, error)
	EventBySlug(ctx context.Context, slug string) (Event, error)
	// Events returns all events, newest start first.
	Events(ctx context.Context) ([]Event, error)
}

// TrackStore keeps tracks and their stream keys.
type TrackStore interface {
	// CreateTrack stores t with a new random stream key, returned in
	// plaintext (the only time it is shown); a slug in use anywhere is
	// ErrConflict.
	CreateTrack(ctx context.Context, t Track) (Track, string, error)
	// UpdateTrack replaces slug, title, order and room of the track t.ID.
	UpdateTrack(ctx context.Context, t Track) (Track, error)
	// DeleteTrack removes the track, its talks and its stream key.
	DeleteTrack(ctx context.Context, id int64) error
	TrackByID(ctx context.Context, id int64) (Track, error)
	// TrackBySlug returns the track with that slug, or ErrNotFound.
	TrackBySlug(ctx context.Context, slug string) (Track, error)
	// Tracks returns all tracks ordered by event, then order, then id.
	Tracks(ctx context.Context) ([]Track, error)
	// EventTracks returns the event's tracks by order, then id.
	EventTracks(ctx context.Context, eventID int64) ([]Track, error)
	// TrackByStreamKey returns the track that key publishes to, or ErrNotFound.
	TrackByStreamKey(ctx context.Context, key string) (Track, error)
	// RotateStreamKey replaces the track's stream key with a new random one
	// and returns it in plaintext (the only time it is shown). The old key
	// stops working at once. ErrNotFound if the track does not exist.
	RotateStreamKey(ctx context.Context, trackID int64) (string, error)
	// TrackAccess returns, for every track, its event and the event's
	// access mode: what a playback gate caches in memory.
	TrackAccess(ctx context.Context) ([]TrackAccess, error)
}

// TalkFilter selects talks. Zero fields select everything.
type TalkFilter struct {
	EventID int64
	TrackID int64
	// From and To select talks starting in [From, To).
	From, To time.Time
}

// TalkStore keeps the timetable.
type TalkStore interface {
	// CreateTalk stores t with a new id, never one a deleted talk had
	// (recordings are named by talk id).
	CreateTalk(ctx context.Context, t Talk) (Talk, error)
	// UpdateTalk replaces the talk t.ID (a guid in use in the event is
	// ErrConflict).
	UpdateTalk(ctx context.Context, t Talk) (Talk, error)
	// DeleteTalk removes the talk; a track showing it shows nothing.
	DeleteTalk(ctx context.Context, id int64) error
	TalkByID(ctx context.Context, id int64) (Talk, error)
	// Talks returns the selected talks by start, then track order, then id.
	Talks(ctx context.Context, f TalkFilter) ([]Talk, error)
}

// OnAirStore keeps what each track shows.
type OnAirStore interface {
	// OnAir returns the track's state; a track never set has TalkID 0.
	OnAir(ctx context.Context, trackID int64) (OnAir, error)
	// SetOnAir stores o (the talk, when set, must be on the track: else
	// ErrNotFound).
	SetOnAir(ctx context.Context, o OnAir) error
	// EventOnAir returns the state of every track of the event that was
	// ever set, by track id.
	EventOnAir(ctx context.Context, eventID int64) (map[int64]OnAir, error)
}

// TimetableStore imports timetables.
type TimetableStore interface {
	// ImportTimetable plans (PlanImport) and, unless dryRun, applies the
	// import of tt into the event, reading and writing in one
	// transaction: concurrent imports and edits never interleave.
	ImportTimetable(ctx context.Context, eventID int64, tt Timetable, dryRun bool) (ImportReport, error)
}

// AccountStore keeps accounts.
type AccountStore interface {
	// AccountByEmail looks up a normalized email.
	AccountByEmail(ctx context.Context, email string) (Account, error)
	AccountByID(ctx context.Context, id int64) (Account, error)
}

// RegistrationStore keeps registrations.
type RegistrationStore interface {
	// Register stores reg for acct in one transaction, creating acct
	// first when acct.ID is 0 (an email in use is ErrConflict). An
	// offline registration takes a seat only while the event has one
	// left (the count and the insert are one conditional statement in
	// the transaction): otherwise ErrVenueFull, and nothing is stored.
	// An account already registered for the event is ErrConflict.
	Register(ctx context.Context, acct Account, reg Registration) (Account, Registration, error)
	// RegistrationFor returns the account's registration for the event,
	// or ErrNotFound: whether an account may watch a registered event.
	RegistrationFor(ctx context.Context, eventID, accountID int64) (Registration, error)
	// AccountRegistrations returns the account's registrations, oldest first.
	AccountRegistrations(ctx context.Context, accountID int64) ([]Registration, error)
	// EventRegistrations returns the event's registrations with their
	// accounts, oldest first.
	EventRegistrations(ctx context.Context, eventID int64) ([]Registration, []Account, error)
	// OfflineCount returns how many offline seats of the event are taken.
	OfflineCount(ctx context.Context, eventID int64) (int, error)
	// CheckIn marks the offline registration with ticket as arrived at
	// at, once: a second check-in is *AlreadyCheckedInError, an unknown
	// ticket ErrNotFound, an online ticket a *FieldError.
	CheckIn(ctx context.Context, eventID int64, ticket string, at time.Time) (Registration, Account, error)
}

// SessionStore keeps login sessions by token hash.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) (Session, error)
	// SessionByTokenHash returns the session and its account, or ErrNotFound.
	SessionByTokenHash(ctx context.Context, hash []byte) (Account, Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteExpiredSessions removes sessions that expired before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
}

// AdminStore keeps the bootstrap state and the admin tokens.
type AdminStore interface {
	// Bootstrap creates the default event, track, stream key and admin token
	// on an empty database and returns the plaintext secrets once. On a
	// database that already holds an event it creates nothing and returns
	// Created=false, the event and track named by opts (or the first ones),
	// and no secrets; a provisioned opts.StreamKey or opts.AdminToken is
	// still made valid (the stream key replaces that track's key), so
	// secrets set in the environment keep working across restarts.
	Bootstrap(ctx context.Context, opts BootstrapOptions) (BootstrapResult, error)
	// CheckAdminToken reports whether token is a valid admin token.
	CheckAdminToken(ctx context.Context, token string) (bool, error)
}

// Store is all of the conference's persistence.
type Store interface {
	AdminStore
	EventStore
	TrackStore
	TalkStore
	OnAirStore
	TimetableStore
	AccountStore
	RegistrationStore
	SessionStore
	// Close releases the store's resources.
	Close() error
}
