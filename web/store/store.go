// Package store defines kast's conference persistence: events, tracks, stream
// keys and admin tokens, behind an interface narrow enough for the embedded
// SQLite store (web/store/sqlite) and a future PostgreSQL store.
//
// Secrets (stream keys, admin tokens) are random values shown in plaintext once,
// when they are created; a store keeps only their SHA-256 hashes and looks them
// up by hash.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a looked-up event, track or secret does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a write would break a uniqueness rule, such as a
// track slug already used by another track.
var ErrConflict = errors.New("store: conflict")

// Event is a conference or meetup: a set of tracks.
type Event struct {
	ID        int64
	Slug      string
	Title     string
	CreatedAt time.Time
}

// Track is one live stream of an event (a room or stage). Its slug is unique
// across all events and names the stream in URLs (/watch/<slug>, /hls/<slug>/).
type Track struct {
	ID      int64
	EventID int64
	Slug    string
	Title   string
}

// Defaults used by Bootstrap when BootstrapOptions leaves a field empty.
const (
	DefaultEventSlug  = "meetup"
	DefaultEventTitle = "Meetup"
	DefaultTrackSlug  = "main"
	DefaultTrackTitle = "Main stage"
)

// BootstrapOptions describes the event and track created on an empty database.
// Empty fields take the Default* values. StreamKey and AdminToken, when set, are
// used instead of freshly generated secrets (an operator provisioning them from
// the environment).
type BootstrapOptions struct {
	EventSlug  string
	EventTitle string
	TrackSlug  string
	TrackTitle string
	StreamKey  string
	AdminToken string
}

// WithDefaults returns o with empty names replaced by the Default* values.
func (o BootstrapOptions) WithDefaults() BootstrapOptions {
	if o.EventSlug == "" {
		o.EventSlug = DefaultEventSlug
	}
	if o.EventTitle == "" {
		o.EventTitle = DefaultEventTitle
	}
	if o.TrackSlug == "" {
		o.TrackSlug = DefaultTrackSlug
	}
	if o.TrackTitle == "" {
		o.TrackTitle = DefaultTrackTitle
	}
	return o
}

// BootstrapResult reports what Bootstrap found or created. StreamKey and
// AdminToken hold plaintext secrets only when Created is true (the only time
// they can be shown); on later starts they are empty.
type BootstrapResult struct {
	Created    bool
	Event      Event
	Track      Track
	StreamKey  string
	AdminToken string
}

// Store is the conference persistence used by the web layer and ingest
// authorisation. Implementations are safe for concurrent use.
type Store interface {
	// Bootstrap creates the default event, track, stream key and admin token
	// on an empty database and returns the plaintext secrets once. On a
	// database that already holds an event it creates nothing and returns
	// Created=false, the event and track named by opts (or the first ones),
	// and no secrets; a provisioned opts.StreamKey or opts.AdminToken is
	// still made valid (the stream key replaces that track's key), so
	// secrets set in the environment keep working across restarts.
	Bootstrap(ctx context.Context, opts BootstrapOptions) (BootstrapResult, error)

	// TrackByStreamKey returns the track that key publishes to, or ErrNotFound.
	TrackByStreamKey(ctx context.Context, key string) (Track, error)

	// TrackBySlug returns the track with that slug, or ErrNotFound.
	TrackBySlug(ctx context.Context, slug string) (Track, error)

	// Tracks returns all tracks ordered by event, then creation.
	Tracks(ctx context.Context) ([]Track, error)

	// RotateStreamKey replaces the track's stream key with a new random one
	// and returns it in plaintext (the only time it is shown). The old key
	// stops working at once. ErrNotFound if the track does not exist.
	RotateStreamKey(ctx context.Context, trackID int64) (string, error)

	// CheckAdminToken reports whether token is a valid admin token.
	CheckAdminToken(ctx context.Context, token string) (bool, error)

	// Close releases the store's resources.
	Close() error
}
