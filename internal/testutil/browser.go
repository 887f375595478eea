package testutil

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// PlayResult is the JSON line web/e2e/play.mjs prints.
type PlayResult struct {
	Started       bool       `json:"started"`
	StartMs       *int       `json:"startMs"`
	FramesStart   int        `json:"framesStart"`
	FramesEnd     int        `json:"framesEnd"`
	FramesSeries  []int      `json:"framesSeries"`
	TimeSeries    []float64  `json:"timeSeries"` // the video's currentTime
	WallSeries    []int64    `json:"wallSeries"` // Unix ms of each sample
	Latency       *float64   `json:"latency"`
	LatencySeries []*float64 `json:"latencySeries"`
	TargetLatency *float64   `json:"targetLatency"`
	State         string     `json:"state"`
	Errors        []string   `json:"errors"`
	Protocols     []string   `json:"protocols"` // e.g. "h2", "http/1.1"
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// RequireBrowser skips (or, under CI, fails) unless a browser test can run:
// node, Chromium, node_modules/playwright-core and the embedded hls.js.
func RequireBrowser(t testing.TB) {
	t.Helper()
	RequireTool(t, "node")
	RequireTool(t, "chromium")
	missing := func(what string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (make test prepares it)", what)
		}
		t.Skip(what)
	}
	if _, err := os.Stat(filepath.Join(RepoRoot(t), "node_modules", "playwright-core", "package.json")); err != nil {
		missing("node_modules/playwright-core missing: run npm ci")
	}
	// The player the binary embeds (web/assets/build.sh copies it there).
	if _, err := os.Stat(filepath.Join(RepoRoot(t), "web", "assets", "dist", "hls.min.js")); err != nil {
		missing("hls.js not built into web/assets/dist: run make assets")
	}
}

// Play opens url in headless Chromium with web/e2e/play.mjs, waiting up to
// waitS seconds for playback and sampling for sampleS seconds. It returns
// the decoded result and the script's exit code (0: frames kept growing).
// Sessions run one at a time on the machine (playbackLock).
func Play(t testing.TB, url, waitS, sampleS string) (PlayResult, int) {
	t.Helper()
	var res PlayResult
	code := runPlayback(t, "play.mjs", &res, url, waitS, sampleS)
	return res, code
}

// runPlayback runs web/e2e/<script> with node, one session at a time on
// the machine (playbackLock), decodes the JSON of its last output line
// into res and returns its exit code.
func runPlayback(t testing.TB, script string, res any, args ...string) int {
	t.Helper()
	cmd := exec.Command("node", append([]string{filepath.Join(RepoRoot(t), "web", "e2e", script)}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	unlock := playbackLock(t)
	err := cmd.Run()
	unlock()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), res); jerr != nil {
		t.Fatalf("%s output %q (stderr %q): %v", script, stdout.String(), stderr.String(), jerr)
	}
	return code
}
