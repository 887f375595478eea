package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kastlive/kast/conference"
)

// openTemp opens a store in a fresh directory below t.TempDir.
func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data", "kast.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestBootstrapReturnsSecretsOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	first, err := s.Bootstrap(ctx, conference.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || first.StreamKey == "" || first.AdminToken == "" {
		t.Fatalf("first Bootstrap = %+v, want created with secrets", first)
	}
	if first.Event.Slug != "meetup" || first.Track.Slug != "main" || first.Track.EventID != first.Event.ID {
		t.Fatalf("first Bootstrap event/track = %+v / %+v", first.Event, first.Track)
	}
	if first.Event.CreatedAt.IsZero() {
		t.Fatal("event CreatedAt is zero")
	}
	second, err := s.Bootstrap(ctx, conference.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.Created || second.StreamKey != "" || second.AdminToken != "" {
		t.Fatalf("second Bootstrap = %+v, want no secrets", second)
	}
	if second.Track != first.Track || second.Event.ID != first.Event.ID {
		t.Fatalf("second Bootstrap track = %+v, want %+v", second.Track, first.Track)
	}
	got, err := s.TrackByStreamKey(ctx, first.StreamKey)
	if err != nil || got != first.Track {
		t.Fatalf("TrackByStreamKey = %+v, %v", got, err)
	}
	ok, err := s.CheckAdminToken(ctx, first.AdminToken)
	if err != nil || !ok {
		t.Fatalf("CheckAdminToken(valid) = %v, %v", ok, err)
	}
	for _, bad := range []string{"", "nope", first.StreamKey} {
		if ok, err := s.CheckAdminToken(ctx, bad); err != nil || ok {
			t.Fatalf("CheckAdminToken(%q) = %v, %v", bad, ok, err)
		}
	}
}

func TestBootstrapSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kast.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Bootstrap(ctx, conference.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, err := s.Bootstrap(ctx, conference.BootstrapOptions{})
	if err != nil || again.Created {
		t.Fatalf("Bootstrap after reopen = %+v, %v", again, err)
	}
	if _, err := s.TrackByStreamKey(ctx, first.StreamKey); err != nil {
		t.Fatalf("key lost after reopen: %v", err)
	}
}

func TestBootstrapProvisionedSecrets(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	opts := conference.BootstrapOptions{
		EventSlug: "gophercon", EventTitle: "GopherCon",
		TrackSlug: "room-a", TrackTitle: "Room A",
		StreamKey: "provisioned-stream-key", AdminToken: "provisioned-admin-token",
	}
	res, err := s.Bootstrap(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.StreamKey != opts.StreamKey || res.AdminToken != opts.AdminToken {
		t.Fatalf("Bootstrap secrets = %q, %q, want the provisioned ones", res.StreamKey, res.AdminToken)
	}
	if res.Event.Title != "GopherCon" || res.Track.Slug != "room-a" || res.Track.Title != "Room A" {
		t.Fatalf("Bootstrap = %+v", res)
	}
	tr, err := s.TrackByStreamKey(ctx, "provisioned-stream-key")
	if err != nil || tr.Slug != "room-a" {
		t.Fatalf("TrackByStreamKey = %+v, %v", tr, err)
	}

	// A changed provisioned key on a later start replaces the stored one.
	opts.StreamKey, opts.AdminToken = "changed-stream-key", "second-admin-token"
	res, err = s.Bootstrap(ctx, opts)
	if err != nil || res.Created || res.StreamKey != "" {
		t.Fatalf("later Bootstrap = %+v, %v", res, err)
	}
	if _, err := s.TrackByStreamKey(ctx, "provisioned-stream-key"); !errors.Is(err, conference.ErrNotFound) {
		t.Fatalf("old provisioned key: err = %v, want ErrNotFound", err)
	}
	if tr, err := s.TrackByStreamKey(ctx, "changed-stream-key"); err != nil || tr.Slug != "room-a" {
		t.Fatalf("new provisioned key = %+v, %v", tr, err)
	}
	if ok, _ := s.CheckAdminToken(ctx, "second-admin-token"); !ok {
		t.Fatal("provisioned admin token not accepted on a later start")
	}
}

func TestRotateStreamKey(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	res, err := s.Bootstrap(ctx, conference.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := s.RotateStreamKey(ctx, res.Track.ID)
	if err != nil {
		t.Fatal(err)
	}
	if key == "" || key == res.StreamKey {
		t.Fatalf("rotated key %q", key)
	}
	if _, err := s.TrackByStreamKey(ctx, res.StreamKey); !errors.Is(err, conference.ErrNotFound) {
		t.Fatalf("old key after rotation: err = %v, want ErrNotFound", err)
	}
	if tr, err := s.TrackByStreamKey(ctx, key); err != nil || tr != res.Track {
		t.Fatalf("new key = %+v, %v", tr, err)
	}
	if _, err := s.RotateStreamKey(ctx, res.Track.ID+100); !errors.Is(err, conference.ErrNotFound) {
		t.Fatalf("rotate unknown track: err = %v, want ErrNotFound", err)
	}
}

func TestLookupsNotFound(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	if _, err := s.Bootstrap(ctx, conference.BootstrapOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "unknown", conference.NewSecret()} {
		if _, err := s.TrackByStreamKey(ctx, key); !errors.Is(err, conference.ErrNotFound) {
			t.Fatalf("TrackByStreamKey(%q): err = %v, want ErrNotFound", key, err)
		}
	}
	if _, err := s.TrackBySlug(ctx, "nope"); !errors.Is(err, conference.ErrNotFound) {
		t.Fatalf("TrackBySlug(nope): err = %v", err)
	}
	tr, err := s.TrackBySlug(ctx, "main")
	if err != nil || tr.Slug != "main" {
		t.Fatalf("TrackBySlug(main) = %+v, %v", tr, err)
	}
	ts, err := s.Tracks(ctx)
	if err != nil || len(ts) != 1 || ts[0] != tr {
		t.Fatalf("Tracks = %+v, %v", ts, err)
	}
}

func TestTrackSlugUnique(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	res, err := s.Bootstrap(ctx, conference.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.db.ExecContext(ctx, `INSERT INTO events (slug, title, created_at) VALUES ('other', 'Other', 0)`)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := r.LastInsertId()
	_, err = s.db.ExecContext(ctx, `INSERT INTO tracks (event_id, slug, title) VALUES (?, ?, 'x')`, other, res.Track.Slug)
	if !isUniqueViolation(err) {
		t.Fatalf("duplicate track slug in another event: err = %v, want UNIQUE violation", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO tracks (event_id, slug, title) VALUES (9999, 'orphan', 'x')`)
	if err == nil {
		t.Fatal("track with unknown event accepted: foreign keys are off")
	}
}

func TestFileModes(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	if _, err := s.Bootstrap(ctx, conference.BootstrapOptions{}); err != nil {
		t.Fatal(err)
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if m := dir.Mode().Perm(); m != 0o700 {
		t.Errorf("directory mode = %o, want 700", m)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) && p != path {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode = %o, want 600", filepath.Base(p), m)
		}
	}
}

func TestSchemaVersionRecorded(t *testing.T) {
	s, path := openTemp(t)
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.db.QueryRow(`SELECT MAX(version) FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != ms[len(ms)-1].version {
		t.Fatalf("schema_version = %d, want %d", v, ms[len(ms)-1].version)
	}
	s.Close()
	// Reopening applies nothing twice.
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var n int
	if err := s2.db.QueryRow(`SELECT COUNT(*) FROM schema_version`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("schema_version rows = %d, %v, want %d", n, err, len(ms))
	}
}
