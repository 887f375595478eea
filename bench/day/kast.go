package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is kast, run from its binary on loopback ports chosen once, so
// that a restart comes back at the same addresses.
type server struct {
	bin     string
	dataDir string
	logPath string
	token   string
	key     string // stream key of the default track

	httpAddr, rtmpAddr, metricsAddr, udpAddr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
	runs int
}

// freePort returns a loopback address with a port free now.
func freePort(network string) (string, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		defer c.Close()
		return c.LocalAddr().String(), nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func newServer(bin, dataDir string) (*server, error) {
	s := &server{bin: bin, dataDir: dataDir, logPath: dataDir + ".log",
		token: randomToken(), key: randomToken()}
	var err error
	for _, p := range []struct {
		dst *string
		net string
	}{{&s.httpAddr, "tcp"}, {&s.rtmpAddr, "tcp"}, {&s.metricsAddr, "tcp"}, {&s.udpAddr, "udp"}} {
		if *p.dst, err = freePort(p.net); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *server) url(path string) string { return "http://" + s.httpAddr + path }

// start runs kast and waits until /healthz answers.
func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		f, err := os.Create(s.logPath)
		if err != nil {
			return err
		}
		s.log = f
	}
	s.runs++
	fmt.Fprintf(s.log, "\n===== day: kast start %d at %s\n", s.runs, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.bin,
		"-http-addr", s.httpAddr, "-rtmp-addr", s.rtmpAddr, "-metrics-addr", s.metricsAddr,
		"-webrtc-udp-addr", s.udpAddr, "-data-dir", s.dataDir, "-public-host", "127.0.0.1")
	cmd.Env = append(os.Environ(), "KAST_ADMIN_TOKEN="+s.token, "KAST_STREAM_KEY="+s.key)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("kast exited at start (%v); see %s", cmd.ProcessState, s.logPath)
		default:
		}
		if res, err := http.Get(s.url("/healthz")); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("kast did not answer /healthz within 30 s")
}

// stop signals kast and waits for it to exit; it reports how long that
// took.
func (s *server) stop(sig syscall.Signal) (time.Duration, error) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return 0, nil
	}
	t0 := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		return 0, err
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		return time.Since(t0), errors.New("kast did not exit within 30 s of the signal")
	}
	return time.Since(t0), nil
}

func (s *server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// sample is kast's RSS and goroutines at one moment.
type sample struct {
	at         time.Time
	rssMB      float64
	goroutines int
}

func (s *server) sample() sample {
	out := sample{at: time.Now(), goroutines: -1}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid())); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") {
				f := strings.Fields(l)
				if len(f) >= 2 {
					kb, _ := strconv.ParseFloat(f[1], 64)
					out.rssMB = kb / 1024
				}
			}
		}
	}
	if v, ok := s.metric("go_goroutines"); ok {
		out.goroutines = int(v)
	}
	return out
}

// metric reads one sample of kast's /metrics.
func (s *server) metric(name string) (float64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.metricsAddr+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(res.Body, 16<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, name+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(l[len(name):]), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// close stops kast for good.
func (s *server) close() {
	s.stop(syscall.SIGTERM)
	s.mu.Lock()
	if s.log != nil {
		s.log.Close()
	}
	s.mu.Unlock()
}
