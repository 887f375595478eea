package certs

import (
	"crypto/tls"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

func TestFilesReload(t *testing.T) {
	first := testutil.SelfSignedCert(t, "a.example")
	f := &Files{CertFile: first.CertFile, KeyFile: first.KeyFile, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	now := time.Now()
	f.now = func() time.Time { return now }
	if err := f.Initialize(); err != nil {
		t.Fatal(err)
	}
	get := func() string {
		c, err := f.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.Subject.CommonName
	}
	if got := get(); got != "a.example" {
		t.Fatalf("serving %q", got)
	}

	// A renewal writes new files: picked up at the next check, not before.
	second := testutil.SelfSignedCert(t, "b.example")
	copyFile(t, second.CertFile, first.CertFile)
	copyFile(t, second.KeyFile, first.KeyFile)
	touch(t, now.Add(time.Minute), first.CertFile, first.KeyFile)
	if got := get(); got != "a.example" {
		t.Fatalf("reloaded before the check interval: %q", got)
	}
	now = now.Add(11 * time.Second)
	if got := get(); got != "b.example" {
		t.Fatalf("not reloaded: %q", got)
	}

	// Half a renewal (a new certificate, the old key) keeps the last good pair.
	third := testutil.SelfSignedCert(t, "c.example")
	copyFile(t, third.CertFile, first.CertFile)
	touch(t, now.Add(2*time.Minute), first.CertFile)
	now = now.Add(11 * time.Second)
	if got := get(); got != "b.example" {
		t.Fatalf("mismatched pair taken: %q", got)
	}
	os.Remove(first.KeyFile)
	now = now.Add(11 * time.Second)
	if got := get(); got != "b.example" {
		t.Fatalf("missing key dropped the certificate: %q", got)
	}
}

func TestFilesErrors(t *testing.T) {
	c := testutil.SelfSignedCert(t, "a.example")
	other := testutil.SelfSignedCert(t, "b.example")
	for name, f := range map[string]*Files{
		"missing":  {CertFile: c.CertFile + ".nope", KeyFile: c.KeyFile},
		"mismatch": {CertFile: c.CertFile, KeyFile: other.KeyFile},
		"empty":    {},
	} {
		if err := f.Initialize(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, at time.Time, files ...string) {
	t.Helper()
	for _, f := range files {
		if err := os.Chtimes(f, at, at); err != nil {
			t.Fatal(err)
		}
	}
}
