package conference

import (
	"context"
	"errors"
	"time"
)

// DefaultSessionTTL is how long a login lasts.
const DefaultSessionTTL = 30 * 24 * time.Hour

// Session is a login: the holder of the token (a cookie) acts as the
// account until ExpiresAt. Only the token's SHA-256 hash is stored, so a
// copy of the database logs nobody in; the sessions survive a restart.
type Session struct {
	ID        int64
	AccountID int64
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Sessions logs accounts in and out and finds the account behind a
// session token. The live channel and the playback gate use Authenticate
// to know who a cookie belongs to.
type Sessions struct {
	Store SessionStore
	// TTL of new sessions; zero means DefaultSessionTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s *Sessions) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Create starts a session for the account and returns its token, to be
// given to the client once (as a cookie).
func (s *Sessions) Create(ctx context.Context, accountID int64) (string, Session, error) {
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	token := NewSecret()
	now := s.now().Truncate(time.Millisecond)
	sess := Session{AccountID: accountID, TokenHash: HashSecret(token), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	sess, err := s.Store.CreateSession(ctx, sess)
	if err != nil {
		return "", Session{}, err
	}
	return token, sess, nil
}

// Authenticate returns the account and session of token. An unknown,
// empty or expired token is ErrUnauthenticated.
func (s *Sessions) Authenticate(ctx context.Context, token string) (Account, Session, error) {
	if token == "" || len(token) > 256 {
		return Account{}, Session{}, ErrUnauthenticated
	}
	acct, sess, err := s.Store.SessionByTokenHash(ctx, HashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return Account{}, Session{}, ErrUnauthenticated
	}
	if err != nil {
		return Account{}, Session{}, err
	}
	if !SecretMatches(token, sess.TokenHash) || !s.now().Before(sess.ExpiresAt) {
		return Account{}, Session{}, ErrUnauthenticated
	}
	return acct, sess, nil
}

// End logs the token's session out; an unknown token is not an error.
func (s *Sessions) End(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.Store.DeleteSession(ctx, HashSecret(token))
}
