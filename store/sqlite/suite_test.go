package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/store/storetest"
)

// TestStoreSuite runs the suite every conference.Store passes on a fresh
// SQLite file per test.
func TestStoreSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) conference.Store {
		s, err := Open(filepath.Join(t.TempDir(), "kast.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
