package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Publish describes an ffmpeg RTMP publish of generated test media, the
// way OBS sends it: H.264 + AAC in FLV.
type Publish struct {
	URL      string
	Duration time.Duration // 0: until stopped
	Size     string        // default 1280x720
	FPS      int           // default 30
	GOP      int           // frames between keyframes, default FPS (1 s)
	BFrames  int           // default 0
	Bitrate  string        // default 2500k
	// Extra arguments placed before the output (e.g. -output_ts_offset).
	Extra []string
}

// Args returns ffmpeg's arguments.
func (p Publish) Args() []string {
	size, fps, gop, br := p.Size, p.FPS, p.GOP, p.Bitrate
	if size == "" {
		size = "1280x720"
	}
	if fps == 0 {
		fps = 30
	}
	if gop == 0 {
		gop = fps
	}
	if br == "" {
		br = "2500k"
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=%d", size, fps),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
	}
	if p.Duration > 0 {
		args = append(args, "-t", strconv.FormatFloat(p.Duration.Seconds(), 'f', 3, 64))
	}
	args = append(args,
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop), "-sc_threshold", "0",
		"-bf", strconv.Itoa(p.BFrames), "-b:v", br, "-maxrate", br, "-bufsize", br,
		"-c:a", "aac", "-b:a", "128k",
	)
	if p.BFrames == 0 {
		args = append(args, "-tune", "zerolatency")
	}
	args = append(args, p.Extra...)
	return append(args, "-f", "flv", p.URL)
}

// Process is a running ffmpeg.
type Process struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

// Start runs ffmpeg with args and stops it when the test ends.
func Start(t testing.TB, args ...string) *Process {
	t.Helper()
	bin := RequireTool(t, "ffmpeg")
	p := &Process{stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.Stop() })
	return p
}

// StartPublish starts an ffmpeg publisher.
func StartPublish(t testing.TB, p Publish) *Process {
	return Start(t, p.Args()...)
}

// Stop kills ffmpeg and waits for it.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// Wait waits for ffmpeg to exit, at most d.
func (p *Process) Wait(d time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("ffmpeg still running after %v", d)
	}
}

// Done is closed when ffmpeg exits.
func (p *Process) Done() <-chan struct{} { return p.done }

// Output returns what ffmpeg printed so far.
func (p *Process) Output() string { return p.stderr.String() }

// Run runs ffmpeg to completion with a timeout and returns its output.
func Run(t testing.TB, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	bin := RequireTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
