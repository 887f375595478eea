package conference

import "context"

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
