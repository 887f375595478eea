package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"
)

// recProcess is kast running as a child process (the test binary
// re-executed, see TestMain).
type recProcess struct {
	cmd  *exec.Cmd
	logs *recLogBuffer
	done chan struct{}
	http string // host:port
	rtmp string
}

type recLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *recLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *recLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var recStartedLine = regexp.MustCompile(`msg="kast started" http=(\S+) rtmp=(\S+)`)

// startRecProcess runs kast on dataDir with loopback ports and the test
// secrets. wrap, if given, is a command line the binary is appended to
// (a mount namespace, say). The process is killed when the test ends.
func startRecProcess(t *testing.T, dataDir string, env map[string]string, wrap ...string) *recProcess {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, wrap...), self)
	p := &recProcess{logs: &recLogBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Env = append(os.Environ(), "KAST_TEST_MAIN=1", "KAST_DATA_DIR="+dataDir,
		"KAST_HTTP_ADDR=127.0.0.1:0", "KAST_RTMP_ADDR=127.0.0.1:0", "KAST_WEBRTC_UDP_ADDR=127.0.0.1:0",
		"KAST_STREAM_KEY="+testStreamKey, "KAST_ADMIN_TOKEN="+testAdminToken,
		"KAST_METRICS_ADDR=127.0.0.1:0", "KAST_METRICS_TOKEN="+testMetricsToken)
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		if m := recStartedLine.FindStringSubmatch(p.logs.String()); m != nil {
			p.http, p.rtmp = m[1], m[2]
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("kast exited at start:\n%s", p.logs)
		case <-ctx.Done():
			t.Fatalf("kast did not start:\n%s", p.logs)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// kill sends SIGKILL and waits for the process.
func (p *recProcess) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

func (p *recProcess) url(path string) string { return "http://" + p.http + path }

func (p *recProcess) publishURL() string { return "rtmp://" + p.rtmp + "/live/" + testStreamKey }
