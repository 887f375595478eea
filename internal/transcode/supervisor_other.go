//go:build !linux

package transcode

import (
	"os/exec"
	"time"
)

// Elsewhere the child is an ordinary process: no process group, no
// parent-death signal (a killed kast may leave ffmpeg running until its
// stdin closes, which ends it).
func setProcAttr(*exec.Cmd) {}

func startCmd(cmd *exec.Cmd) error { return cmd.Start() }

func killGroup(cmd *exec.Cmd) {
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Kill()
	}
}

// processCPU is unknown for a running child here; an exited child's time
// still counts from its exit status.
func processCPU(int) (time.Duration, bool) { return 0, false }
