package main

import (
	"os"
	"testing"
)

// TestMain lets a test run kast as a separate process (to kill -9 it, or
// to start it inside a mount namespace): the test binary re-executed
// with KAST_TEST_MAIN=1 is kast, configured from the environment.
func TestMain(m *testing.M) {
	if os.Getenv("KAST_TEST_MAIN") == "1" {
		os.Args = os.Args[:1]
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
