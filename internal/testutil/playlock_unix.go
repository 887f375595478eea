//go:build unix

package testutil

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// playbackLock waits until no other playback session on the machine (in
// this test binary or another package's, which go test runs at the same
// time) is running, and holds that until the returned func is called.
// The sessions judge stalls and latency in real time; two Chromiums
// decoding video beside each other on a 2-core machine make each one's
// verdict about the machine, not about kast.
func playbackLock(t testing.TB) func() {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "kast-test-playback.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Logf("playback lock: %v (running unserialized)", err)
		return func() {}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Logf("playback lock: %v (running unserialized)", err)
		return func() {}
	}
	return func() { f.Close() } // closing the file releases the lock
}
