package whip

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/rtc"
	"github.com/kastlive/kast/internal/testutil"
)

// rig is a WHIP server on a loopback engine, its hub, and what the hub's
// reader saw.
type rig struct {
	t      *testing.T
	engine *rtc.Engine
	hub    *ingest.Hub
	srv    *Server
	logs   *syncBuf

	mu      sync.Mutex
	streams []*ingest.Stream
	units   map[uint64][]*ingest.Unit
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const testKey = "test-key-main-0123456789"

func newRig(t *testing.T, cfg func(*Server)) *rig {
	t.Helper()
	e := &rtc.Engine{UDPAddr: "127.0.0.1:0"}
	if err := e.Initialize(); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, engine: e, hub: &ingest.Hub{}, logs: &syncBuf{}, units: map[uint64][]*ingest.Unit{}}
	r.hub.OnStream(func(s *ingest.Stream) {
		rd := s.Subscribe(4096)
		r.mu.Lock()
		r.streams = append(r.streams, s)
		r.mu.Unlock()
		go func() {
			for u := range rd.Units() {
				r.mu.Lock()
				r.units[s.ID] = append(r.units[s.ID], u)
				r.mu.Unlock()
			}
		}()
	})
	r.srv = &Server{
		Engine: e,
		Hub:    r.hub,
		Authorize: func(_ context.Context, key string) (string, error) {
			if key == testKey {
				return "main", nil
			}
			return "", ingest.ErrUnknownKey
		},
		Logger: slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if cfg != nil {
		cfg(r.srv)
	}
	if err := r.srv.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.srv.Close()
		e.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", r.logs.String())
		}
	})
	return r
}

// stream returns the i-th stream the hub started, waiting for it.
func (r *rig) stream(i int, within time.Duration) *ingest.Stream {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.streams) > i {
			s := r.streams[i]
			r.mu.Unlock()
			return s
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("stream %d did not start within %v", i, within)
	return nil
}

func (r *rig) unitsOf(s *ingest.Stream) []*ingest.Unit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*ingest.Unit(nil), r.units[s.ID]...)
}

// publish offers p's offer to the rig's server and applies the answer.
func (r *rig) publish(p *testutil.Publisher) *Session {
	r.t.Helper()
	s, err := r.srv.Publish(context.Background(), Request{StreamKey: testKey, Track: "main", Offer: p.Offer(), Remote: "127.0.0.1:1"})
	if err != nil {
		r.t.Fatal(err)
	}
	p.Accept(s.Answer())
	return s
}

// waitFor polls cond every 20 ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hubForFuzz() *ingest.Hub { return &ingest.Hub{} }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
