package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kastlive/kast/conference"
)

// TrackBySlug implements conference.Store.
func (s *Store) TrackBySlug(ctx context.Context, slug string) (conference.Track, error) {
	return scanTrack(s.db.QueryRowContext(ctx,
		`SELECT id, event_id, slug, title FROM tracks WHERE slug = ?`, slug))
}

// Tracks implements conference.Store.
func (s *Store) Tracks(ctx context.Context) ([]conference.Track, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, event_id, slug, title FROM tracks ORDER BY event_id, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []conference.Track
	for rows.Next() {
		var t conference.Track
		if err := rows.Scan(&t.ID, &t.EventID, &t.Slug, &t.Title); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// scanTrack reads one id, event_id, slug, title row; no row is ErrNotFound.
func scanTrack(row *sql.Row) (conference.Track, error) {
	var t conference.Track
	err := row.Scan(&t.ID, &t.EventID, &t.Slug, &t.Title)
	if errors.Is(err, sql.ErrNoRows) {
		return conference.Track{}, conference.ErrNotFound
	}
	return t, err
}

// scanEvent reads one id, slug, title, created_at row; no row is ErrNotFound.
func scanEvent(row *sql.Row) (conference.Event, error) {
	var e conference.Event
	var created int64
	err := row.Scan(&e.ID, &e.Slug, &e.Title, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return conference.Event{}, conference.ErrNotFound
	}
	e.CreatedAt = millisTime(created)
	return e, err
}

// millisTime converts stored unix milliseconds to a UTC time.
func millisTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
