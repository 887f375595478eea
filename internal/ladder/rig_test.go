package ladder_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/rtmp"
	"github.com/kastlive/kast/internal/ladder"
	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/packager"
)

const testKey = "test-key"

// rig is RTMP ingest, the packager and the ladder on loopback ports, the
// way cmd/kast wires them.
type rig struct {
	t      testing.TB
	hub    *ingest.Hub
	rtmp   *rtmp.Server
	hls    *packager.Server
	ladder *ladder.Ladder
	http   *httptest.Server
}

// newRig starts a rig; rungs "" leaves the ladder out.
func newRig(t testing.TB, rungs string, extra http.Handler) *rig {
	t.Helper()
	testutil.RequireTool(t, "ffmpeg")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("KAST_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	r := &rig{t: t, hub: &ingest.Hub{}}
	r.hls = &packager.Server{Hub: r.hub, Logger: logger}
	if err := r.hls.Initialize(); err != nil {
		t.Fatal(err)
	}
	if rungs != "" {
		rs, err := ladder.ParseRungs(rungs)
		if err != nil {
			t.Fatal(err)
		}
		r.ladder = &ladder.Ladder{Hub: r.hub, Sink: r.hls, Rungs: rs, Logger: logger}
		if err := r.ladder.Initialize(); err != nil {
			t.Fatal(err)
		}
	}
	r.rtmp = &rtmp.Server{
		Address: "127.0.0.1:0",
		Hub:     r.hub,
		Logger:  logger,
		Authorize: func(_ context.Context, key string) (string, error) {
			if key == testKey {
				return "main", nil
			}
			return "", ingest.ErrUnknownKey
		},
	}
	if err := r.rtmp.Initialize(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/hls/", http.StripPrefix("/hls", r.hls))
	if extra != nil {
		mux.Handle("/", extra)
	}
	r.http = httptest.NewServer(mux)
	t.Cleanup(func() {
		r.http.Close()
		r.rtmp.Close()
		if r.ladder != nil {
			r.ladder.Close()
		}
		r.hls.Close()
	})
	return r
}

func (r *rig) publishURL() string { return "rtmp://" + r.rtmp.Addr().String() + "/live/" + testKey }

func (r *rig) url(name string) string { return r.http.URL + "/hls/main/" + name }

func (r *rig) get(name string) (int, []byte) {
	r.t.Helper()
	res, err := http.Get(r.url(name))
	if err != nil {
		r.t.Fatalf("GET %s: %v", name, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatalf("GET %s: %v", name, err)
	}
	return res.StatusCode, b
}

// multivariant waits until the multivariant playlist lists n variants.
func (r *rig) multivariant(n int, timeout time.Duration) (*playlist.Multivariant, []byte) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	var last []byte
	for time.Now().Before(deadline) {
		code, b := r.get("index.m3u8")
		if code == 200 {
			var mv playlist.Multivariant
			if err := mv.Unmarshal(b); err != nil {
				r.t.Fatalf("multivariant playlist: %v\n%s", err, b)
			}
			if len(mv.Variants) == n {
				return &mv, b
			}
			last = b
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("no multivariant playlist with %d variants after %v; last:\n%s", n, timeout, last)
	return nil, nil
}

func (r *rig) media(name string) *playlist.Media {
	r.t.Helper()
	code, b := r.get(name)
	if code != 200 {
		r.t.Fatalf("%s: %d %s", name, code, b)
	}
	var m playlist.Media
	if err := m.Unmarshal(b); err != nil {
		r.t.Fatalf("%s: %v\n%s", name, err, b)
	}
	return &m
}

// sameEdge returns every variant's media playlist, all holding the same
// newest complete segment (blocking reloads for it).
func (r *rig) sameEdge(uris []string) []*playlist.Media {
	r.t.Helper()
	first := r.media(uris[0])
	q := fmt.Sprintf("?_HLS_msn=%d", first.MediaSequence+len(first.Segments))
	var out []*playlist.Media
	for _, u := range uris {
		out = append(out, r.media(u+q))
	}
	return out
}
