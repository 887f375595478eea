package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kastlive/kast/conference"
)

// TrackByStreamKey implements conference.TrackStore. The key is looked up by its hash;
// the stored hash is compared again in constant time.
func (s *Store) TrackByStreamKey(ctx context.Context, key string) (conference.Track, error) {
	if key == "" {
		return conference.Track{}, conference.ErrNotFound
	}
	var t conference.Track
	var hash []byte
	err := s.db.QueryRowContext(ctx, `SELECT `+trackCols+`, k.key_hash
		FROM stream_keys k JOIN tracks t ON t.id = k.track_id WHERE k.key_hash = ?`,
		conference.HashSecret(key)).Scan(&t.ID, &t.EventID, &t.Slug, &t.Title, &t.Order, &t.Room, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return conference.Track{}, conference.ErrNotFound
	}
	if err != nil {
		return conference.Track{}, err
	}
	if !conference.SecretMatches(key, hash) {
		return conference.Track{}, conference.ErrNotFound
	}
	return t, nil
}

// RotateStreamKey implements conference.TrackStore.
func (s *Store) RotateStreamKey(ctx context.Context, trackID int64) (string, error) {
	key := conference.NewSecret()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tracks WHERE id = ?`, trackID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return conference.ErrNotFound
		}
		return setStreamKey(ctx, tx, trackID, key)
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// CheckAdminToken implements conference.AdminStore.
func (s *Store) CheckAdminToken(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	var hash []byte
	err := s.db.QueryRowContext(ctx, `SELECT token_hash FROM admin_tokens WHERE token_hash = ?`,
		conference.HashSecret(token)).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return conference.SecretMatches(token, hash), nil
}

// setStreamKey makes key the track's only stream key. A key already used by
// another track is ErrConflict.
func setStreamKey(ctx context.Context, tx *sql.Tx, trackID int64, key string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO stream_keys (track_id, key_hash, created_at) VALUES (?, ?, ?)
		ON CONFLICT (track_id) DO UPDATE SET key_hash = excluded.key_hash, created_at = excluded.created_at
		WHERE key_hash <> excluded.key_hash`,
		trackID, conference.HashSecret(key), nowMillis())
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: stream key already used by another track: %w", conference.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: set stream key: %w", err)
	}
	return nil
}

// addAdminToken stores token's hash unless it is already there.
func addAdminToken(ctx context.Context, tx *sql.Tx, token string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO admin_tokens (token_hash, created_at) VALUES (?, ?)
		ON CONFLICT (token_hash) DO NOTHING`, conference.HashSecret(token), nowMillis())
	if err != nil {
		return fmt.Errorf("sqlite: add admin token: %w", err)
	}
	return nil
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
