package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kastlive/kast/web/store"
)

// TrackBySlug implements store.Store.
func (s *Store) TrackBySlug(ctx context.Context, slug string) (store.Track, error) {
	return scanTrack(s.db.QueryRowContext(ctx,
		`SELECT id, event_id, slug, title FROM tracks WHERE slug = ?`, slug))
}

// Tracks implements store.Store.
func (s *Store) Tracks(ctx context.Context) ([]store.Track, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, event_id, slug, title FROM tracks ORDER BY event_id, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []store.Track
	for rows.Next() {
		var t store.Track
		if err := rows.Scan(&t.ID, &t.EventID, &t.Slug, &t.Title); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// scanTrack reads one id, event_id, slug, title row; no row is ErrNotFound.
func scanTrack(row *sql.Row) (store.Track, error) {
	var t store.Track
	err := row.Scan(&t.ID, &t.EventID, &t.Slug, &t.Title)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Track{}, store.ErrNotFound
	}
	return t, err
}

// scanEvent reads one id, slug, title, created_at row; no row is ErrNotFound.
func scanEvent(row *sql.Row) (store.Event, error) {
	var e store.Event
	var created int64
	err := row.Scan(&e.ID, &e.Slug, &e.Title, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Event{}, store.ErrNotFound
	}
	e.CreatedAt = millisTime(created)
	return e, err
}

// millisTime converts stored unix milliseconds to a UTC time.
func millisTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
