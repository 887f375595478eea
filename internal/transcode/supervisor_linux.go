//go:build linux

package transcode

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// setProcAttr puts the child in its own process group, so the Ctrl-C that
// a terminal sends to kast's group does not kill ffmpeg before kast shuts
// down in order, and asks the kernel to SIGKILL it when its parent dies, so
// a crashed or killed kast leaves no ffmpeg running.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// The parent-death signal fires when the *thread* that forked the child
// exits, not the process. Go keeps its threads, except the one of a
// goroutine that exits while locked to it; forking from one locked
// goroutine that never exits keeps the signal for the process's death.
var spawnReq = make(chan spawnCall)

type spawnCall struct {
	cmd  *exec.Cmd
	done chan error
}

func init() {
	go func() {
		runtime.LockOSThread()
		for c := range spawnReq {
			c.done <- c.cmd.Start()
		}
	}()
}

func startCmd(cmd *exec.Cmd) error {
	c := spawnCall{cmd: cmd, done: make(chan error, 1)}
	spawnReq <- c
	return <-c.done
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on
// every architecture Linux runs Go on.
const clockTicks = 100

// processCPU reads utime + stime of a process (all its threads) from
// /proc/<pid>/stat.
func processCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	return parseStatCPU(string(b))
}

// parseStatCPU extracts utime and stime (fields 14 and 15) from the text of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// hold spaces or parentheses itself, so fields are counted after the last ')'.
func parseStatCPU(s string) (time.Duration, bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / clockTicks, true
}
