package transcode

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Supervisor runs one ffmpeg child process at a time: it starts it with
// Args and pipes on stdin and stdout, keeps the end of its stderr for the
// logs, restarts it with a growing backoff when it exits, gives up with an
// error after MaxRestarts exits within a minute, and kills it on Close.
//
// On Linux the child runs in its own process group (a Ctrl-C meant for kast
// does not reach it) and receives SIGKILL when kast dies, so a killed server
// leaves no ffmpeg behind.
type Supervisor struct {
	// Path of the ffmpeg binary; empty means "ffmpeg" looked up on PATH.
	Path string
	Args []string

	// Serve runs the I/O of one child, in the supervisor's goroutine, and
	// must return once stdout reaches EOF (the child exited or was killed)
	// or when it wants the child replaced. After it returns the child is
	// killed if still running, stdin is closed and, unless Close was
	// called, a new child is started after the backoff.
	Serve func(stdin io.WriteCloser, stdout io.Reader)

	// ExtraOutputs gives the child that many more output pipes, as file
	// descriptors 3, 4, ... ("pipe:3" to ffmpeg), for a child with several
	// outputs. ServeOutputs then replaces Serve: outputs[0] is stdout,
	// outputs[i] descriptor i+2, and it must return once all of them reach
	// EOF or when it wants the child replaced.
	ExtraOutputs int
	ServeOutputs func(stdin io.WriteCloser, outputs []io.Reader)

	// MaxRestarts is how many exits within a minute are restarted before
	// giving up (default 5).
	MaxRestarts int
	// MinBackoff is the delay before the first restart (default 250 ms);
	// it doubles on every exit up to MaxBackoff (default 4 s) and starts
	// over once a child has run for a minute.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// StderrBytes is how much of the child's stderr is kept (default 8 KiB).
	StderrBytes int

	Logger *slog.Logger
	Name   string // in log lines and errors, e.g. "aac-to-opus main"

	mu       sync.Mutex
	cmd      *exec.Cmd // the running child, nil between children
	stderr   *ring
	closed   bool
	err      error
	cpuDone  time.Duration // CPU time of the children that exited
	started  uint64
	stopKick chan struct{} // closed by Close to end a backoff wait

	running atomic.Bool
	done    chan struct{}
}

// ErrUnavailable is returned (wrapped) when ffmpeg cannot be found or lacks
// the encoder a transcoder needs.
var ErrUnavailable = errors.New("ffmpeg unavailable")

// Initialize starts the first child. It fails when the binary cannot be
// found or started; later failures are handled by restarts.
func (s *Supervisor) Initialize() error {
	if s.Serve == nil && s.ServeOutputs == nil {
		return errors.New("transcode: Supervisor.Serve is nil")
	}
	if s.ExtraOutputs > 0 && s.ServeOutputs == nil {
		return errors.New("transcode: Supervisor.ExtraOutputs needs ServeOutputs")
	}
	if s.MaxRestarts <= 0 {
		s.MaxRestarts = 5
	}
	if s.MinBackoff <= 0 {
		s.MinBackoff = 250 * time.Millisecond
	}
	if s.MaxBackoff < s.MinBackoff {
		s.MaxBackoff = 4 * time.Second
		if s.MaxBackoff < s.MinBackoff {
			s.MaxBackoff = s.MinBackoff
		}
	}
	if s.StderrBytes <= 0 {
		s.StderrBytes = 8 << 10
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Name == "" {
		s.Name = "ffmpeg"
	}
	path, err := lookPath(s.Path)
	if err != nil {
		return err
	}
	s.Path = path
	s.done = make(chan struct{})
	s.stopKick = make(chan struct{})
	stdin, outs, err := s.start()
	if err != nil {
		close(s.done)
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	go s.run(stdin, outs)
	return nil
}

// start launches a child and returns the parent's ends of its pipes:
// stdin, then stdout and the ExtraOutputs.
func (s *Supervisor) start() (io.WriteCloser, []*os.File, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	var outR, outW []*os.File
	closeAll := func() {
		inR.Close()
		inW.Close()
		for i := range outR {
			outR[i].Close()
			outW[i].Close()
		}
	}
	for range 1 + s.ExtraOutputs {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		outR, outW = append(outR, r), append(outW, w)
	}
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Stdin = inR
	cmd.Stdout = outW[0]
	cmd.ExtraFiles = outW[1:]
	errRing := newRing(s.StderrBytes)
	cmd.Stderr = errRing
	setProcAttr(cmd)

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		closeAll()
		return nil, nil, errors.New("closed")
	}
	err = startCmd(cmd)
	// The child holds its own copies of these ends; keeping ours open would
	// hide the child's exit (no EOF on stdout).
	inR.Close()
	for _, w := range outW {
		w.Close()
	}
	if err != nil {
		s.mu.Unlock()
		inW.Close()
		for _, r := range outR {
			r.Close()
		}
		return nil, nil, err
	}
	s.cmd = cmd
	s.stderr = errRing
	s.started++
	s.mu.Unlock()
	s.running.Store(true)
	s.Logger.Debug("ffmpeg started", "name", s.Name, "pid", cmd.Process.Pid)
	return &closeOnce{f: inW}, outR, nil
}

// run serves children until Close or until it gives up.
func (s *Supervisor) run(stdin io.WriteCloser, outs []*os.File) {
	defer close(s.done)
	backoff := s.MinBackoff
	var exits []time.Time
	for {
		began := time.Now()
		if s.ServeOutputs != nil {
			rs := make([]io.Reader, len(outs))
			for i, f := range outs {
				rs[i] = f
			}
			s.ServeOutputs(stdin, rs)
		} else {
			s.Serve(stdin, outs[0])
		}
		stdin.Close()
		for _, f := range outs {
			f.Close()
		}

		s.mu.Lock()
		cmd, closed := s.cmd, s.closed
		s.mu.Unlock()
		killChild(cmd)
		waitErr := cmd.Wait()
		s.running.Store(false)

		s.mu.Lock()
		if ps := cmd.ProcessState; ps != nil {
			s.cpuDone += ps.UserTime() + ps.SystemTime()
		}
		s.cmd = nil
		tail := s.stderr.String()
		closed = closed || s.closed
		s.mu.Unlock()
		if closed {
			return
		}

		now := time.Now()
		if now.Sub(began) >= time.Minute {
			backoff = s.MinBackoff
		}
		keep := exits[:0]
		for _, t := range exits {
			if now.Sub(t) < time.Minute {
				keep = append(keep, t)
			}
		}
		exits = append(keep, now)
		if len(exits) > s.MaxRestarts {
			err := fmt.Errorf("%s: ffmpeg exited %d times within a minute, giving up (last exit: %v; stderr: %s)",
				s.Name, len(exits), exitReason(waitErr), lastLines(tail, 3))
			s.Logger.Error("ffmpeg keeps failing; giving up", "name", s.Name, "err", err)
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		s.Logger.Warn("ffmpeg exited; restarting", "name", s.Name, "exit", exitReason(waitErr),
			"in", backoff, "stderr", lastLines(tail, 3))

		select {
		case <-time.After(backoff):
		case <-s.stopKick:
			return
		}
		backoff = min(2*backoff, s.MaxBackoff)

		var err error
		stdin, outs, err = s.start()
		if err != nil {
			s.mu.Lock()
			if !s.closed {
				s.err = fmt.Errorf("%s: restarting ffmpeg: %w", s.Name, err)
				s.Logger.Error("ffmpeg could not be restarted", "name", s.Name, "err", err)
			}
			s.mu.Unlock()
			return
		}
	}
}

// Close kills the child, stops restarting and waits until the supervisor's
// goroutine (and with it Serve) has returned.
func (s *Supervisor) Close() error {
	if s.done == nil {
		return nil
	}
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stopKick)
	}
	cmd := s.cmd
	s.mu.Unlock()
	killChild(cmd)
	<-s.done
	return nil
}

// Kill kills the running child; it is restarted like one that crashed.
// Watchdogs use it on a child that stopped producing output.
func (s *Supervisor) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	killChild(cmd)
}

// Done is closed when supervision ends: after Close, or after giving up.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Err returns why the supervisor gave up, nil otherwise.
func (s *Supervisor) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Running reports whether a child is running now.
func (s *Supervisor) Running() bool { return s.running.Load() }

// Restarts returns how many children were started after the first.
func (s *Supervisor) Restarts() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started == 0 {
		return 0
	}
	return s.started - 1
}

// PID returns the process id of the running child, 0 when there is none.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// CPU returns the CPU time (user + system) used by all children so far,
// including the running one (read from /proc on Linux; elsewhere the
// running child counts once it has exited).
func (s *Supervisor) CPU() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := s.cpuDone
	// running, not cmd.ProcessState: cmd.Wait writes that without s.mu.
	if s.cmd != nil && s.cmd.Process != nil && s.running.Load() {
		if d, ok := processCPU(s.cmd.Process.Pid); ok {
			total += d
		}
	}
	return total
}

// Stderr returns the end of the current (or last) child's stderr.
func (s *Supervisor) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stderr == nil {
		return ""
	}
	return s.stderr.String()
}

func exitReason(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			out = append(out, l)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) == 0 {
		return "(empty)"
	}
	return strings.Join(out, " | ")
}

// closeOnce makes Close of the stdin pipe safe to call from Serve and from
// the supervisor. Closing the file also wakes a Write blocked on a full pipe.
type closeOnce struct {
	f    *os.File
	once sync.Once
	err  error
}

func (c *closeOnce) Write(p []byte) (int, error) { return c.f.Write(p) }

func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.f.Close() })
	return c.err
}

// ring keeps the last bytes written to it; it is the child's stderr.
type ring struct {
	mu   sync.Mutex
	buf  []byte
	size int
}

func newRing(size int) *ring { return &ring{size: size} }

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	if len(p) >= r.size {
		r.buf = append(r.buf[:0], p[len(p)-r.size:]...)
		return n, nil
	}
	if over := len(r.buf) + len(p) - r.size; over > 0 {
		r.buf = append(r.buf[:0], r.buf[over:]...)
	}
	r.buf = append(r.buf, p...)
	return n, nil
}

func (r *ring) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.buf)
}

// killChild sends SIGKILL to the child. os.Process tracks the child through
// a pidfd, so a kill racing with its reaping cannot reach another process
// that got the same pid (which a kill(2) of its process group could).
func killChild(cmd *exec.Cmd) {
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Kill()
	}
}
