package transcode

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// drainServe reads stdout to its end, as a transcoder's Serve does.
func drainServe(_ io.WriteCloser, stdout io.Reader) { io.Copy(io.Discard, stdout) }

func TestSupervisorGivesUp(t *testing.T) {
	sh := testutil.RequireTool(t, "sh")
	var serves atomic.Int32
	s := &Supervisor{
		Path: sh, Args: []string{"-c", "echo 'Unknown encoder libfoo' >&2; exit 3"},
		Serve: func(in io.WriteCloser, out io.Reader) {
			serves.Add(1)
			drainServe(in, out)
		},
		MaxRestarts: 3, MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Name: "test",
	}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("still restarting")
	}
	err := s.Err()
	if err == nil || !strings.Contains(err.Error(), "Unknown encoder libfoo") ||
		!strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "4 times") {
		t.Fatalf("error after giving up: %v", err)
	}
	if n := serves.Load(); n != 4 || s.Restarts() != 3 {
		t.Fatalf("%d children served, %d restarts; want 4 and 3", n, s.Restarts())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSupervisorCloseKills(t *testing.T) {
	sleep := testutil.RequireTool(t, "sleep")
	s := &Supervisor{Path: sleep, Args: []string{"100"}, Serve: drainServe}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	if pid == 0 || !s.Running() {
		t.Fatal("not running")
	}
	done := make(chan struct{})
	go func() {
		s.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := os.Stat("/proc/" + itoa(pid)); err == nil {
		t.Fatalf("child %d still exists", pid)
	}
	if s.Err() != nil || s.Running() {
		t.Fatalf("after Close: err %v, running %v", s.Err(), s.Running())
	}
}

func TestSupervisorRestartsAndCountsCPU(t *testing.T) {
	sh := testutil.RequireTool(t, "sh")
	// Spins for about 0.3 s of CPU, then exits.
	s := &Supervisor{
		Path: sh, Args: []string{"-c", "end=$(($(date +%s%N)+300000000)); while [ $(date +%s%N) -lt $end ]; do :; done"},
		Serve: drainServe, MinBackoff: 10 * time.Millisecond,
	}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.Now().Add(10 * time.Second)
	for s.Restarts() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s.Restarts() < 1 {
		t.Fatal("not restarted")
	}
	if cpu := s.CPU(); cpu < 100*time.Millisecond {
		t.Fatalf("CPU %v after a child spun 0.3 s", cpu)
	}
}

func TestSupervisorMissingBinary(t *testing.T) {
	s := &Supervisor{Path: "/nonexistent/ffmpeg", Serve: drainServe}
	err := s.Initialize()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Initialize: %v", err)
	}
	s.Close()
}

func TestRing(t *testing.T) {
	r := newRing(8)
	r.Write([]byte("abc"))
	r.Write([]byte("defgh"))
	r.Write([]byte("ij"))
	if got := r.String(); got != "cdefghij" {
		t.Fatalf("ring %q", got)
	}
	r.Write([]byte("0123456789"))
	if got := r.String(); got != "23456789" {
		t.Fatalf("ring %q", got)
	}
}

func TestLastLines(t *testing.T) {
	if got := lastLines("a\n\nb\nc\n  d  \n", 3); got != "b | c | d" {
		t.Fatalf("%q", got)
	}
	if got := lastLines("", 3); got != "(empty)" {
		t.Fatalf("%q", got)
	}
}
