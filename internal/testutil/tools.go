// Package testutil holds helpers shared by kast's tests: finding the
// external tools they drive (ffmpeg, Chromium, node) and running them.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// RequireTool returns the path of an external program. When it is missing
// the test is skipped, unless CI is set: then a missing tool fails the run.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required under CI but was not found: %v (run `make test`, which installs it)", name, err)
	}
	t.Skipf("%s not found; `make test` installs it", name)
	return ""
}
