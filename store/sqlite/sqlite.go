// Package sqlite implements conference.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go): WAL journal, a busy timeout, foreign keys on,
// and numbered schema migrations embedded in the binary.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kastlive/kast/conference"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// maxConns bounds the connection pool.
const maxConns = 16

// busyTimeout is how long a statement waits for another writer's lock.
const busyTimeout = 5 * time.Second

// Store is a conference.Store backed by one SQLite file.
type Store struct {
	db   *sql.DB
	path string
	// writer is a one-slot semaphore held by write transactions (inTx).
	writer chan struct{}
}

var _ conference.Store = (*Store)(nil)

// Open opens (creating if needed) the SQLite database at path and migrates its
// schema. A missing parent directory is created with mode 0700; the database
// file and its -wal/-shm companions are made mode 0600, since they hold
// secret hashes and attendee data.
func Open(path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create database file: %w", err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("sqlite: chmod database file: %w", err)
	}

	dsn := "file:" + path + "?" + strings.Join([]string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_txlock=immediate", // writers take the lock at BEGIN: no upgrade deadlocks
	}, "&")
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// A bounded pool: every SQLite connection is a full database handle
	// (schema parsed, pragmas run); a burst of requests queues for one
	// instead of opening hundreds.
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	s := &Store{db: db, path: path, writer: make(chan struct{}, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// init checks the connection settings, migrates, and tightens file modes.
func (s *Store) init(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite: journal_mode is %q, want wal", mode)
	}
	var fk int
	if err := s.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		return fmt.Errorf("sqlite: foreign keys not enabled (%d, %v)", fk, err)
	}
	if err := migrate(ctx, s.db); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Chmod(s.path+suffix, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: chmod %s%s: %w", s.path, suffix, err)
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// nowMillis is the current time in unix milliseconds, the stored time format.
func nowMillis() int64 { return time.Now().UnixMilli() }
