//go:build linux

package transcode

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1234 (ffmpeg) S 1 1234 1234 0 -1 4194560 2000 0 0 0 150 25 0 0 20 0 4 0 100 0 0", 1750 * time.Millisecond, true},
		{"1234 (a b) (c)) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0", 100 * time.Millisecond, true},
		{"1234 (ffmpeg) S 1 2", 0, false},
		{"garbage", 0, false},
		{"1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 3", 0, false},
	} {
		got, ok := parseStatCPU(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if d, ok := processCPU(os.Getpid()); !ok || d < 0 {
		t.Fatalf("own CPU: %v %v", d, ok)
	}
}

func FuzzParseStatCPU(f *testing.F) {
	f.Add("1234 (ffmpeg) S 1 1234 1234 0 -1 4194560 2000 0 0 0 150 25 0 0 20 0 4 0 100 0 0")
	f.Add("1 ()) S")
	f.Fuzz(func(t *testing.T, s string) {
		if d, ok := parseStatCPU(s); ok && d < 0 {
			t.Fatalf("negative CPU %v", d)
		}
	})
}

// A kast that is killed (SIGKILL, no chance to clean up) leaves no child
// behind: the kernel kills it through the parent-death signal.
func TestSupervisorChildDiesWithParent(t *testing.T) {
	if os.Getenv("KAST_SUPERVISOR_PARENT") == "1" {
		return // only the re-executed parent runs supervisorParent
	}
	testutil.RequireTool(t, "sleep")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSupervisorParentHelper$")
	cmd.Env = append(os.Environ(), "KAST_SUPERVISOR_PARENT=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	pid := 0
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "child "); ok {
			pid, _ = strconv.Atoi(v)
			break
		}
	}
	if pid == 0 {
		t.Fatal("the helper printed no child pid")
	}
	if !alive(pid) {
		t.Fatal("child not running")
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("child %d outlived its killed parent", pid)
	}
}

// TestSupervisorParentHelper is the parent process of the test above.
func TestSupervisorParentHelper(t *testing.T) {
	if os.Getenv("KAST_SUPERVISOR_PARENT") != "1" {
		t.Skip("helper process")
	}
	s := &Supervisor{Path: "sleep", Args: []string{"100"}, Serve: drainServe}
	if err := s.Initialize(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("child %d\n", s.PID())
	time.Sleep(time.Minute)
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}
