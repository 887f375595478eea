package certs

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestACMEUnknownServerNamesLoggedAsSummary: handshakes asking for server
// names that are not among the domains (scanners try any) make a line
// each at debug level, and at warning level a summary at most every
// warnEvery with their count (the first at once), the last one when they
// stop. A handshake for one of the domains that gets no certificate (the
// CA cannot be reached here) still warns at once.
func TestACMEUnknownServerNamesLoggedAsSummary(t *testing.T) {
	logs := &logBuffer{}
	a := &ACME{
		Domains:      []string{"live.example.org"},
		CacheDir:     t.TempDir(),
		DirectoryURL: "http://127.0.0.1:1/directory", // nothing listens
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		warnEvery:    300 * time.Millisecond,
	}
	if err := a.Initialize(); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: fmt.Sprintf("scan-%d.example.net", i)}); err == nil {
			t.Fatal("a certificate for a name that is not a domain")
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for strings.Count(logs.String(), "level=WARN") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(400 * time.Millisecond) // no more after that
	out := logs.String()
	if n := strings.Count(out, "level=DEBUG msg=\"acme: no certificate\""); n != 100 {
		t.Errorf("%d debug lines, want 100", n)
	}
	warn := strings.Count(out, "level=WARN")
	if warn != 2 || !strings.Contains(out, "handshakes=1 ") || !strings.Contains(out, "handshakes=99 ") ||
		!strings.Contains(out, "last_server_name=scan-99.example.net") {
		t.Fatalf("want 2 summaries (1, then 99 handshakes):\n%s", out)
	}

	if _, err := a.GetCertificate(&tls.ClientHelloInfo{ServerName: "LIVE.example.org"}); err == nil {
		t.Fatal("a certificate without a CA")
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"acme: no certificate\" server_name=LIVE.example.org"); n != 1 {
		t.Fatalf("a domain without a certificate: %d warnings:\n%s", n, logs.String())
	}
}
