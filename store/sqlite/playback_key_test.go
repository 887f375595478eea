package sqlite

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

func TestPlaybackKeyPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kast.db")
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	k1, err := s.PlaybackKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := s.PlaybackKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != playbackKeyBytes || !bytes.Equal(k1, k2) {
		t.Fatalf("keys differ or wrong size: %x %x", k1, k2)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k3, err := s.PlaybackKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k3) {
		t.Fatal("key changed across a restart")
	}
}
