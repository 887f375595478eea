package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kastlive/kast/conference"
)

// Bootstrap implements conference.AdminStore. The whole first-run setup is one
// transaction: either everything is created or nothing is.
func (s *Store) Bootstrap(ctx context.Context, opts conference.BootstrapOptions) (conference.BootstrapResult, error) {
	opts = opts.WithDefaults()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return conference.BootstrapResult{}, err
	}
	defer tx.Rollback()

	var events int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&events); err != nil {
		return conference.BootstrapResult{}, err
	}
	var res conference.BootstrapResult
	if events == 0 {
		res, err = createDefaults(ctx, tx, opts)
	} else {
		res, err = ensureProvisioned(ctx, tx, opts)
	}
	if err != nil {
		return conference.BootstrapResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return conference.BootstrapResult{}, err
	}
	return res, nil
}

// createDefaults creates the event, track, stream key and admin token on an
// empty database and returns the plaintext secrets.
func createDefaults(ctx context.Context, tx *sql.Tx, opts conference.BootstrapOptions) (conference.BootstrapResult, error) {
	now := nowMillis()
	ev := conference.Event{Slug: opts.EventSlug, Title: opts.EventTitle, CreatedAt: millisTime(now)}
	ev.Normalize()
	err := tx.QueryRowContext(ctx, `INSERT INTO events (slug, title, time_zone, access, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, ev.Slug, ev.Title, ev.TimeZone, ev.Access, ev.Status, now).Scan(&ev.ID)
	if err != nil {
		return conference.BootstrapResult{}, fmt.Errorf("sqlite: create event: %w", err)
	}
	tr, err := insertTrack(ctx, tx, conference.Track{EventID: ev.ID, Slug: opts.TrackSlug, Title: opts.TrackTitle})
	if err != nil {
		return conference.BootstrapResult{}, fmt.Errorf("sqlite: create track: %w", err)
	}
	key := opts.StreamKey
	if key == "" {
		key = conference.NewSecret()
	}
	if err := setStreamKey(ctx, tx, tr.ID, key); err != nil {
		return conference.BootstrapResult{}, err
	}
	token := opts.AdminToken
	if token == "" {
		token = conference.NewSecret()
	}
	if err := addAdminToken(ctx, tx, token); err != nil {
		return conference.BootstrapResult{}, err
	}
	return conference.BootstrapResult{Created: true, Event: ev, Track: tr, StreamKey: key, AdminToken: token}, nil
}

// ensureProvisioned handles a start on an existing database: it finds the
// event and track named by opts (falling back to the first ones) and makes any
// provisioned secrets valid, without returning secrets.
func ensureProvisioned(ctx context.Context, tx *sql.Tx, opts conference.BootstrapOptions) (conference.BootstrapResult, error) {
	ev, err := scanEvent(tx.QueryRowContext(ctx,
		`SELECT `+eventCols+` FROM events ORDER BY slug = ? DESC, id LIMIT 1`, opts.EventSlug))
	if err != nil {
		return conference.BootstrapResult{}, fmt.Errorf("sqlite: find event: %w", err)
	}
	tr, err := scanTrack(tx.QueryRowContext(ctx,
		`SELECT `+trackCols+` FROM tracks t ORDER BY t.slug = ? DESC, t.event_id = ? DESC, t.id LIMIT 1`,
		opts.TrackSlug, ev.ID))
	if err != nil && !errors.Is(err, conference.ErrNotFound) {
		return conference.BootstrapResult{}, fmt.Errorf("sqlite: find track: %w", err)
	}
	if opts.StreamKey != "" && tr.ID != 0 {
		if err := setStreamKey(ctx, tx, tr.ID, opts.StreamKey); err != nil {
			return conference.BootstrapResult{}, err
		}
	}
	if opts.AdminToken != "" {
		if err := addAdminToken(ctx, tx, opts.AdminToken); err != nil {
			return conference.BootstrapResult{}, err
		}
	}
	return conference.BootstrapResult{Event: ev, Track: tr}, nil
}
