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

// processCPU is unknown for a running child here; an exited child's time
// still counts from its exit status.
func processCPU(int) (time.Duration, bool) { return 0, false }
