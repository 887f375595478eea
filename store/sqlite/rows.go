package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/kastlive/kast/conference"
)

// querier is what *sql.DB and *sql.Tx share: queries run on either.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// millis is t in stored form: unix milliseconds, NULL for the zero time.
func millis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// nullTime converts a nullable stored time.
func nullTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return millisTime(v.Int64)
}

// millisTime converts stored unix milliseconds to a UTC time.
func millisTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// notFound maps sql.ErrNoRows to conference.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return conference.ErrNotFound
	}
	return err
}

// affected returns ErrNotFound when r changed no row.
func affected(r sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return conference.ErrNotFound
	}
	return nil
}

// conflict maps a uniqueness violation to conference.ErrConflict.
func conflict(err error, what string) error {
	if isUniqueViolation(err) {
		return &conflictError{what: what}
	}
	return err
}

type conflictError struct{ what string }

func (e *conflictError) Error() string { return e.what + " is already in use" }
func (e *conflictError) Unwrap() error { return conference.ErrConflict }

// inTx runs f in one transaction, committed when f returns nil. Write
// transactions queue on a mutex first: SQLite has one writer at a time
// anyway, and a burst of them (200 registrations at once) would otherwise
// poll the file lock and some would outwait the busy timeout.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writer }()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// readTx runs f in a read transaction: its reads see one snapshot of the
// database (WAL), whatever is written meanwhile. It does not take the
// writer's slot.
func (s *Store) readTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return f(tx)
}

// exec runs one writing statement as a write transaction (see inTx).
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var r sql.Result
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return r, err
}

// insertID runs one INSERT ... RETURNING id as a write transaction.
func (s *Store) insertID(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error { return tx.QueryRowContext(ctx, query, args...).Scan(&id) })
	return id, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
