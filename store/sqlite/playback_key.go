package sqlite

import (
	"context"
	"crypto/rand"
	"fmt"
)

// playbackKeyBytes is the size of a generated playback signing key.
const playbackKeyBytes = 32

// PlaybackKey implements gate.KeyStore: the key signing playback tokens,
// created on first use. The insert does nothing when a key exists, so two
// processes starting on one database end up with the same key.
func (s *Store) PlaybackKey(ctx context.Context) ([]byte, error) {
	key := make([]byte, playbackKeyBytes)
	_, _ = rand.Read(key) // never fails (Go 1.24+)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO playback_keys (id, key, created_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO NOTHING`, key, nowMillis()); err != nil {
		return nil, fmt.Errorf("sqlite: create playback key: %w", err)
	}
	var stored []byte
	if err := s.db.QueryRowContext(ctx, `SELECT key FROM playback_keys WHERE id = 1`).Scan(&stored); err != nil {
		return nil, fmt.Errorf("sqlite: read playback key: %w", err)
	}
	return stored, nil
}
