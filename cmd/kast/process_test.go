package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run kast as a real process: the test binary
// started with KAST_TEST_MAIN=1 is kast.
func TestMain(m *testing.M) {
	if os.Getenv("KAST_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// kastProcess is kast running in a process of its own.
type kastProcess struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
}

var startedRE = regexp.MustCompile(`kast started.* http=(\S+)`)

func startProcess(t *testing.T, dataDir string) *kastProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-http-addr=127.0.0.1:0", "-rtmp-addr=", "-metrics-addr=127.0.0.1:0", "-webrtc-udp-addr=127.0.0.1:0", "-data-dir="+dataDir)
	cmd.Env = append(os.Environ(), "KAST_TEST_MAIN=1", "KAST_ADMIN_TOKEN="+testAdminToken)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &kastProcess{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := startedRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	select {
	case p.addr = <-found:
	case <-p.done:
		t.Fatal("kast exited before it started")
	case <-time.After(30 * time.Second):
		t.Fatal("kast did not start in 30 s")
	}
	return p
}

// stop ends kast with SIGTERM, as a service manager would.
func (p *kastProcess) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// TestLoginSurvivesProcessRestart: a login made with one kast process
// still works after that process is stopped and another one starts on
// the same data directory; logging out then ends it.
func TestLoginSurvivesProcessRestart(t *testing.T) {
	dir := t.TempDir()
	p := startProcess(t, dir)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	res, err := c.Post("http://"+p.addr+"/api/v1/events/meetup/registrations", "application/json",
		strings.NewReader(`{"name": "Ada", "email": "ada@example.org", "password": "analytical engine"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "kast_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	p.stop()

	p = startProcess(t, dir)
	me := func() int {
		req, _ := http.NewRequest("GET", "http://"+p.addr+"/api/v1/me", nil)
		req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := me(); st != 200 {
		t.Fatalf("me after the restart: %d", st)
	}
	req, _ := http.NewRequest("DELETE", "http://"+p.addr+"/api/v1/session", nil)
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if st := me(); st != 401 {
		t.Fatalf("me after logout: %d", st)
	}
}
