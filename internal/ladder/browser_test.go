package ladder_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// abrResult is the JSON line web/e2e/renditions.mjs prints.
type abrResult struct {
	Version      string `json:"version"`
	ThrottleKbps int    `json:"throttleKbps"`
	Levels       []struct {
		Width, Height, Bitrate int
		URI                    string `json:"uri"`
	} `json:"levels"`
	FirstLevel   int  `json:"firstLevel"`
	TopLevel     int  `json:"topLevel"`
	ReachedTop   bool `json:"reachedTop"`
	ThrottledAt  int  `json:"throttledAt"`
	DownAt       *int `json:"downAt"`
	DownToHeight *int `json:"downToHeight"`
	FramesLower  int  `json:"framesOnLower"`
	RestoredAt   *int `json:"restoredAt"`
	UpAt         *int `json:"upAt"`
	Samples      []struct {
		At           int     `json:"at"`
		Phase        string  `json:"phase"`
		Frames       int     `json:"frames"`
		CurrentLevel int     `json:"currentLevel"`
		LoadLevel    int     `json:"loadLevel"`
		Height       *int    `json:"height"`
		VideoHeight  int     `json:"videoHeight"`
		Bandwidth    int     `json:"bandwidth"`
		Ahead        float64 `json:"ahead"`
	} `json:"samples"`
	Switches json.RawMessage `json:"switches"`
	Loads    json.RawMessage `json:"loads"`
	Errors   json.RawMessage `json:"errors"`
}

// pages serves the e2e page and the hls.js kast embeds.
func pages(t testing.TB) http.Handler {
	root := testutil.RepoRoot(t)
	mux := http.NewServeMux()
	mux.Handle("/abr/", http.StripPrefix("/abr/", http.FileServer(http.Dir(filepath.Join(root, "web", "e2e", "abr")))))
	mux.Handle("/assets/", http.StripPrefix("/assets/", http.FileServer(http.Dir(filepath.Join(root, "web", "assets", "dist")))))
	return mux
}

// hls.js with its default configuration plays the source; with the page's
// network throttled through the DevTools protocol
// (Network.emulateNetworkConditions) to less than the source needs, it
// switches to a lower rendition and keeps playing there.
func TestHlsjsSwitchesDownWhenThrottled(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	testutil.RequireBrowser(t)
	r := newRig(t, testRungs, pages(t))
	testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 150 * time.Second, Size: testSize, Bitrate: testBitrate})
	_, raw := r.multivariant(3, 20*time.Second)
	t.Logf("multivariant playlist:\n%s", raw)

	// The source needs about 1.3 Mbit/s with its audio, the renditions
	// about 0.5 and 0.35 (their BANDWIDTH above).
	kbps := 700
	cmd := exec.Command("node", filepath.Join(testutil.RepoRoot(t), "web", "e2e", "renditions.mjs"),
		r.http.URL+"/abr/hlsjs.html", strconv.Itoa(kbps), "30", "40", "30")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	exit := 0
	if ee, ok := err.(*exec.ExitError); ok {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res abrResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("renditions.mjs output %q (stderr %q): %v", stdout.String(), stderr.String(), err)
	}
	if dir := os.Getenv("KAST_ABR_OUT"); dir != "" {
		os.WriteFile(filepath.Join(dir, "abr.json"), []byte(lines[len(lines)-1]), 0o644)
	}
	t.Logf("hls.js %s: levels %+v, first level %d", res.Version, res.Levels, res.FirstLevel)
	t.Logf("level switches: %s", res.Switches)
	t.Logf("errors: %s", res.Errors)
	for _, s := range res.Samples {
		if s.Phase == "throttled" && (s.At-res.ThrottledAt)%2000 < 250 {
			t.Logf("%5.1f s after the throttle: level %d (loading %d, %d lines), estimate %d kbit/s, %.2f s buffered, %d frames",
				float64(s.At-res.ThrottledAt)/1000, s.CurrentLevel, s.LoadLevel, s.VideoHeight, s.Bandwidth/1000, s.Ahead, s.Frames)
		}
	}
	switch {
	case exit == 2 || !res.ReachedTop:
		t.Fatalf("hls.js did not play the source unthrottled: exit %d, errors %s", exit, res.Errors)
	case res.DownAt == nil:
		t.Fatalf("hls.js stayed on the source with the network at %d kbit/s", kbps)
	case exit != 0:
		t.Fatalf("after switching down to %dp, hls.js presented %d frames", *res.DownToHeight, res.FramesLower)
	}
	t.Logf("throttled to %d kbit/s: hls.js switched from %dp to %dp after %.1f s and presented %d frames there",
		kbps, res.Levels[res.TopLevel].Height, *res.DownToHeight, float64(*res.DownAt)/1000, res.FramesLower)
	// Not required: hls.js raises its estimate slowly.
	if res.UpAt != nil {
		t.Logf("throttle lifted: back on %dp after %.1f s", res.Levels[res.TopLevel].Height, float64(*res.UpAt)/1000)
	} else if res.RestoredAt != nil {
		t.Logf("throttle lifted: hls.js had not returned to %dp after 30 s", res.Levels[res.TopLevel].Height)
	}
}
