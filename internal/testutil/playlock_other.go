//go:build !unix

package testutil

import "testing"

// playbackLock serializes playback sessions on Unix (playlock_unix.go);
// elsewhere they run as they come.
func playbackLock(testing.TB) func() { return func() {} }
