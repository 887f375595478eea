package testutil

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Players are the test pages under web/e2e/players/, one per player, each
// creating its player with that player's default configuration.
var Players = []string{"hlsjs", "videojs", "shaka"}

// playerDists are the node_modules folders the test pages load players
// from. They are test-only devDependencies: served to the test page by the
// test's own handler, never embedded in kast.
var playerDists = []string{"hls.js/dist", "video.js/dist", "shaka-player/dist"}

// RequirePlayers skips (or, under CI, fails) unless the player pages can
// run: RequireBrowser plus video.js and Shaka Player in node_modules.
func RequirePlayers(t testing.TB) {
	t.Helper()
	RequireBrowser(t)
	for _, pkg := range []string{"hls.js", "video.js", "shaka-player"} {
		if _, err := os.Stat(filepath.Join(RepoRoot(t), "node_modules", pkg, "package.json")); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("node_modules/%s missing (make test runs npm ci)", pkg)
			}
			t.Skipf("node_modules/%s missing: run npm ci", pkg)
		}
	}
}

// PlayerPages serves /players/ (web/e2e/players) and the players' files
// under /node_modules/<pkg>/dist/. Mount it at / beside the HLS handler, so
// the pages and the stream share an origin.
func PlayerPages(t testing.TB) http.Handler {
	root := RepoRoot(t)
	mux := http.NewServeMux()
	mux.Handle("/players/", http.StripPrefix("/players/", http.FileServer(http.Dir(filepath.Join(root, "web", "e2e", "players")))))
	for _, d := range playerDists {
		prefix := "/node_modules/" + d + "/"
		mux.Handle(prefix, http.StripPrefix(prefix, http.FileServer(http.Dir(filepath.Join(root, "node_modules", filepath.FromSlash(d))))))
	}
	return mux
}

// PlayerResult is the JSON line web/e2e/players.mjs prints.
type PlayerResult struct {
	Player            string          `json:"player"`
	Started           bool            `json:"started"`
	StartMs           *int            `json:"startMs"`
	Stalls            int             `json:"stalls"`
	StallsBeforeStart int             `json:"stallsBeforeStart"`
	WaitingAfterStart int             `json:"waitingAfterStart"`
	MaxFrameGapMs     *int            `json:"maxFrameGapMs"`
	Frozen            bool            `json:"frozen"`
	FramesStart       int             `json:"framesStart"`
	FramesEnd         int             `json:"framesEnd"`
	G2G               *G2G            `json:"g2g"`
	Latency           *PlayerLatency  `json:"latency"`
	Samples           []PlayerSample  `json:"samples"`
	Events            json.RawMessage `json:"events"`
	Console           json.RawMessage `json:"console"` // with ?debug=1
	Errors            []string        `json:"errors"`
}

// G2G is glass-to-glass, in milliseconds, of the frames a player presented.
type G2G struct {
	Frames     int   `json:"frames"`
	Unreadable int   `json:"unreadable"`
	Presented  int   `json:"presented"`
	P50        int   `json:"p50"`
	P90        int   `json:"p90"`
	Min        int   `json:"min"`
	Max        int   `json:"max"`
	LateP50    int   `json:"lateP50"` // over the second half of the run
	First      []int `json:"first"`
}

// PlayerLatency is how far behind the live edge a player sits, in seconds:
// as the player itself reports it, and as the <video>'s seekable end minus
// its current time.
type PlayerLatency struct {
	Player   struct{ P50, Last float64 } `json:"player"`
	Seekable struct{ P50, Last float64 } `json:"seekable"`
	Target   float64                     `json:"target"`
}

// PlayerSample is one 250 ms sample of the player.
type PlayerSample struct {
	At          int      `json:"at"`
	Frames      int      `json:"frames"`
	Dropped     int      `json:"dropped"`
	Time        float64  `json:"time"`
	Rate        float64  `json:"rate"`
	Ahead       *float64 `json:"ahead"`
	SeekableLag *float64 `json:"seekableLag"`
	Latency     *float64 `json:"latency"`
	Target      *float64 `json:"target"`
}

// PlayPlayer opens a player page with web/e2e/players.mjs, settleS seconds
// after Chromium started, waiting up to waitS seconds for the first frame
// and sampling for sampleS seconds. It returns the decoded result and the
// script's exit code (0: frames kept growing and no stall after the first
// frame). Sessions run one at a time on the machine (playbackLock).
func PlayPlayer(t testing.TB, url string, settleS, waitS, sampleS int) (PlayerResult, int) {
	t.Helper()
	var res PlayerResult
	code := runPlayback(t, "players.mjs", &res, url, strconv.Itoa(waitS), strconv.Itoa(sampleS), strconv.Itoa(settleS))
	return res, code
}
