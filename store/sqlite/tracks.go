package sqlite

import (
	"context"
	"database/sql"

	"github.com/kastlive/kast/conference"
)

const trackCols = `t.id, t.event_id, t.slug, t.title, t.position, t.room`

func scanTrack(r scanner) (conference.Track, error) {
	var t conference.Track
	if err := r.Scan(&t.ID, &t.EventID, &t.Slug, &t.Title, &t.Order, &t.Room); err != nil {
		return conference.Track{}, notFound(err)
	}
	return t, nil
}

func queryTracks(ctx context.Context, q querier, where string, args ...any) ([]conference.Track, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+trackCols+` FROM tracks t `+where+` ORDER BY t.event_id, t.position, t.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []conference.Track
	for rows.Next() {
		t, err := scanTrack(rows)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// CreateTrack implements conference.TrackStore.
func (s *Store) CreateTrack(ctx context.Context, t conference.Track) (conference.Track, string, error) {
	key := conference.NewSecret()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = insertTrack(ctx, tx, t)
		if err != nil {
			return err
		}
		return setStreamKey(ctx, tx, t.ID, key)
	})
	if err != nil {
		return conference.Track{}, "", err
	}
	return t, key, nil
}

func insertTrack(ctx context.Context, q querier, t conference.Track) (conference.Track, error) {
	err := q.QueryRowContext(ctx, `INSERT INTO tracks (event_id, slug, title, position, room) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		t.EventID, t.Slug, t.Title, t.Order, t.Room).Scan(&t.ID)
	if err != nil {
		return conference.Track{}, conflict(notFound(err), "track slug "+t.Slug)
	}
	return t, nil
}

func updateTrack(ctx context.Context, q querier, t conference.Track) error {
	err := affected(q.ExecContext(ctx, `UPDATE tracks SET slug = ?, title = ?, position = ?, room = ? WHERE id = ?`,
		t.Slug, t.Title, t.Order, t.Room, t.ID))
	return conflict(err, "track slug "+t.Slug)
}

// UpdateTrack implements conference.TrackStore.
func (s *Store) UpdateTrack(ctx context.Context, t conference.Track) (conference.Track, error) {
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return updateTrack(ctx, tx, t) }); err != nil {
		return conference.Track{}, err
	}
	return s.TrackByID(ctx, t.ID)
}

// DeleteTrack implements conference.TrackStore.
func (s *Store) DeleteTrack(ctx context.Context, id int64) error {
	return affected(s.exec(ctx, `DELETE FROM tracks WHERE id = ?`, id))
}

// TrackByID implements conference.TrackStore.
func (s *Store) TrackByID(ctx context.Context, id int64) (conference.Track, error) {
	return scanTrack(s.db.QueryRowContext(ctx, `SELECT `+trackCols+` FROM tracks t WHERE t.id = ?`, id))
}

// TrackBySlug implements conference.TrackStore.
func (s *Store) TrackBySlug(ctx context.Context, slug string) (conference.Track, error) {
	return scanTrack(s.db.QueryRowContext(ctx, `SELECT `+trackCols+` FROM tracks t WHERE t.slug = ?`, slug))
}

// Tracks implements conference.TrackStore.
func (s *Store) Tracks(ctx context.Context) ([]conference.Track, error) {
	return queryTracks(ctx, s.db, "")
}

// EventTracks implements conference.TrackStore.
func (s *Store) EventTracks(ctx context.Context, eventID int64) ([]conference.Track, error) {
	return queryTracks(ctx, s.db, "WHERE t.event_id = ?", eventID)
}

// TrackAccess implements conference.TrackStore.
func (s *Store) TrackAccess(ctx context.Context) ([]conference.TrackAccess, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.id, t.slug, e.id, e.slug, e.access FROM tracks t JOIN events e ON e.id = t.event_id ORDER BY t.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []conference.TrackAccess
	for rows.Next() {
		var a conference.TrackAccess
		if err := rows.Scan(&a.TrackID, &a.Track, &a.EventID, &a.EventSlug, &a.Access); err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, rows.Err()
}
