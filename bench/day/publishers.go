package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// publisher keeps one track on air like an encoder with automatic
// reconnect (OBS): when its process ends, for whatever reason, a new one
// starts after a short delay, until the day ends. Each process is one
// publish.
type publisher struct {
	track string
	name  string // "bench" or "ffmpeg"
	args  func() (string, []string)

	mu        sync.Mutex
	cmd       *exec.Cmd
	publishes int
	failures  []string // exits that were not asked for, with their reason
	asked     int      // exits the day caused (reconnects, SIGKILL)
	done      chan struct{}
}

func (p *publisher) run(ctx context.Context, logf func(string, ...any)) {
	p.done = make(chan struct{})
	defer close(p.done)
	for ctx.Err() == nil {
		bin, args := p.args()
		cmd := exec.Command(bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			logf("%s %s: %v", p.name, p.track, err)
			return
		}
		p.mu.Lock()
		p.cmd = cmd
		p.publishes++
		n := p.publishes
		p.mu.Unlock()
		logf("publish %d on %s (%s, pid %d)", n, p.track, p.name, cmd.Process.Pid)
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		var err error
		select {
		case err = <-waited:
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-waited:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-waited
			}
			return
		}
		p.mu.Lock()
		p.cmd = nil
		p.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		tail := out.String()
		if len(tail) > 300 {
			tail = tail[len(tail)-300:]
		}
		p.mu.Lock()
		p.failures = append(p.failures, fmt.Sprintf("%v: %s", err, tail))
		p.mu.Unlock()
		logf("%s on %s ended (%v); reconnecting in 2 s", p.name, p.track, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// signal sends sig to the running process (a reconnect on SIGTERM, a
// crash on SIGKILL); the loop starts the next one.
func (p *publisher) signal(sig syscall.Signal) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	p.asked++
	return p.cmd.Process.Signal(sig) == nil
}

func (p *publisher) counts() (publishes, asked int, failures []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.publishes, p.asked, append([]string(nil), p.failures...)
}

// benchPublisher publishes the bench's clip with its latency SEIs.
func benchPublisher(benchBin, rtmp, track string) *publisher {
	return &publisher{track: track, name: "bench", args: func() (string, []string) {
		return benchBin, []string{"-rtmp", rtmp, "-viewers", "0", "-bitrate", "600k", "-duration", "24h"}
	}}
}

// ffmpegPublisher publishes generated media the way OBS does (H.264 and
// AAC in FLV), like internal/testutil.Publish.
func ffmpegPublisher(rtmp, track string) *publisher {
	return &publisher{track: track, name: "ffmpeg", args: func() (string, []string) {
		return "ffmpeg", []string{"-hide_banner", "-loglevel", "error", "-re",
			"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
			"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
			"-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-bf", "0",
			"-b:v", "600k", "-maxrate", "600k", "-bufsize", "600k",
			"-c:a", "aac", "-b:a", "96k", "-f", "flv", rtmp}
	}}
}
