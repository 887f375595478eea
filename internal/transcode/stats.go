package transcode

import "time"

// State is what a transcoder is doing, for metrics and logs.
type State uint8

// States of a transcoder.
const (
	// StateRunning: an ffmpeg child is running.
	StateRunning State = iota
	// StateRestarting: the child exited and is restarted after a backoff.
	StateRestarting
	// StateFailed: the child kept exiting; the transcoder gave up (Err says why).
	StateFailed
	// StateStopped: Close was called.
	StateStopped
	// StateUnavailable: ffmpeg (or the encoder) is missing on this machine.
	StateUnavailable
)

// String returns the state's metric label: "running", "restarting",
// "failed", "stopped" or "unavailable".
func (s State) String() string {
	switch s {
	case StateRunning:
		return "running"
	case StateRestarting:
		return "restarting"
	case StateFailed:
		return "failed"
	case StateStopped:
		return "stopped"
	case StateUnavailable:
		return "unavailable"
	}
	return "unknown"
}

// Stats are a transcoder's counters since Initialize.
type Stats struct {
	State State

	// FramesIn counts units accepted by Write; FramesOut units delivered
	// on Output().
	FramesIn  uint64
	FramesOut uint64

	// DroppedIn counts units Write refused because the queue to ffmpeg was
	// full (ffmpeg too slow or restarting); DroppedOut units lost because
	// the consumer did not read Output() fast enough; Invalid units that
	// were not of the transcoder's codec, empty, too large or not later
	// than the previous one.
	DroppedIn  uint64
	DroppedOut uint64
	Invalid    uint64
	// Lost counts units written to ffmpeg that never came out: a child
	// died with them, or ffmpeg could not decode them.
	Lost uint64

	// Restarts counts ffmpeg children started after the first.
	Restarts uint64

	// CPU is the CPU time (user + system) used by the ffmpeg children.
	CPU time.Duration

	// Latency is a moving average of the time from Write of the input
	// unit that completes an output unit to that unit's delivery.
	Latency time.Duration
}
