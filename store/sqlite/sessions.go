package sqlite

import (
	"context"
	"time"

	"github.com/kastlive/kast/conference"
)

// CreateSession implements conference.SessionStore.
func (s *Store) CreateSession(ctx context.Context, sess conference.Session) (conference.Session, error) {
	var err error
	sess.ID, err = s.insertID(ctx, `INSERT INTO sessions (token_hash, account_id, created_at, expires_at)
		VALUES (?, ?, ?, ?) RETURNING id`, sess.TokenHash, sess.AccountID, sess.CreatedAt.UnixMilli(), sess.ExpiresAt.UnixMilli())
	if err != nil {
		return conference.Session{}, conflict(notFound(err), "session")
	}
	return sess, nil
}

// SessionByTokenHash implements conference.SessionStore.
func (s *Store) SessionByTokenHash(ctx context.Context, hash []byte) (conference.Account, conference.Session, error) {
	var sess conference.Session
	var created, expires int64
	var a conference.Account
	var acreated int64
	err := s.db.QueryRowContext(ctx, `SELECT s.id, s.token_hash, s.account_id, s.created_at, s.expires_at, `+accountCols+`
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?`, hash).Scan(
		&sess.ID, &sess.TokenHash, &sess.AccountID, &created, &expires, &a.ID, &a.Email, &a.Name, &a.PasswordHash, &acreated)
	if err != nil {
		return conference.Account{}, conference.Session{}, notFound(err)
	}
	sess.CreatedAt, sess.ExpiresAt, a.CreatedAt = millisTime(created), millisTime(expires), millisTime(acreated)
	return a, sess, nil
}

// DeleteSession implements conference.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hash)
	return err
}

// DeleteExpiredSessions implements conference.SessionStore.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	r, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMilli())
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
