package packager_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/packager"
)

// Real players with their default configurations against the packager:
// hls.js, video.js (VHS) and Shaka Player in Chromium, each on its own test
// page (web/e2e/players), reading /hls/main/index.m3u8 of an ffmpeg publish
// that draws the wall clock into the picture (testutil.ClockBarFilter).
//
// Debugging aids: KAST_PLAYERS=hlsjs runs one player; KAST_PLAYERS_DEBUG=1
// keeps the players' own logs; KAST_PLAYERS_OUT=DIR writes each result
// (samples, events, logs), the server's request log and the media it
// served there. To compare
// settings, KAST_PLAYERS_PART_HOLD_BACK=500ms and KAST_PLAYERS_JOIN_HOLD=keyframe|none
// override the packager's defaults.

// playerRun is one player session against a fresh publish.
type playerRun struct {
	player string
	cfg    packager.Config
	// join: "first" opens the page before the publisher starts, so the
	// player starts from the first playlist served; "live" opens it
	// after the stream has run for a while.
	join   string
	sample int // seconds sampled after the first frame
	// size and bitrate of the publish; default 1280x720 at 2.5 Mbit/s
	size, bitrate string
	// query is added to the player page's URL (e.g. "llhls=0")
	query string
}

// requestLog records when each HLS request came and was answered, in ms
// since the publish started.
type requestLog struct {
	start time.Time
	mu    sync.Mutex
	lines []string
	// media, when set, is a directory where every init section, part and
	// segment served is written as it went out (KAST_PLAYERS_OUT).
	media string
}

// teeWriter copies what a handler writes into a buffer.
type teeWriter struct {
	http.ResponseWriter
	buf []byte
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Since(l.start)
		name := filepath.Base(r.URL.Path)
		if l.media != "" && !strings.HasSuffix(name, ".m3u8") {
			tw := &teeWriter{ResponseWriter: w}
			h.ServeHTTP(tw, r)
			os.WriteFile(filepath.Join(l.media, name), tw.buf, 0o644)
		} else {
			h.ServeHTTP(w, r)
		}
		t1 := time.Since(l.start)
		l.mu.Lock()
		l.lines = append(l.lines, fmt.Sprintf("%6d %6d %s", t0.Milliseconds(), t1.Milliseconds(), r.URL.RequestURI()))
		l.mu.Unlock()
	})
}

// envConfig applies the KAST_PLAYERS_* overrides to cfg.
func envConfig(tb testing.TB, cfg packager.Config) packager.Config {
	if v := os.Getenv("KAST_PLAYERS_PART_HOLD_BACK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			tb.Fatalf("KAST_PLAYERS_PART_HOLD_BACK: %v", err)
		}
		cfg.PartHoldBack = d
	}
	switch os.Getenv("KAST_PLAYERS_JOIN_HOLD") {
	case "keyframe":
		cfg.JoinHold = packager.JoinAtKeyframe
	case "none":
		cfg.JoinHold = packager.JoinAtOnce
	}
	return cfg
}

func (run playerRun) play(tb testing.TB) (testutil.PlayerResult, int) {
	tb.Helper()
	r := newRig(tb, envConfig(tb, run.cfg))
	log := &requestLog{start: time.Now()}
	if dir := os.Getenv("KAST_PLAYERS_OUT"); dir != "" {
		log.media = filepath.Join(dir, run.player+"-"+run.join+"-media")
		if err := os.MkdirAll(log.media, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/hls/", log.wrap(http.StripPrefix("/hls", r.hls)))
	mux.Handle("/", testutil.PlayerPages(tb))
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)

	testutil.StartPublish(tb, testutil.Publish{URL: r.publishURL(), Duration: time.Duration(run.sample+50) * time.Second,
		Size: run.size, Bitrate: run.bitrate, Extra: testutil.ClockBarArgs()})
	q, settle := "?", 0
	if run.join == "first" {
		// The page polls until the playlist is served; Chromium starts
		// faster than the first three segments are made.
		q += "wait=1&"
	} else {
		// Chromium settles before it opens the page: its start-up would
		// otherwise starve the publisher, on the same two cores, just as
		// the player starts with the least buffer.
		r.waitPlaylist(tb, 15*time.Second)
		time.Sleep(8 * time.Second)
		settle = 2
	}
	if run.query != "" {
		q += run.query + "&"
	}
	if os.Getenv("KAST_PLAYERS_DEBUG") != "" {
		q += "debug=1&"
	}
	res, code := testutil.PlayPlayer(tb, srv.URL+"/players/"+run.player+".html"+strings.TrimSuffix(q, "&"), settle, 30, run.sample)
	if dir := os.Getenv("KAST_PLAYERS_OUT"); dir != "" {
		name := run.player + "-" + run.join
		b, _ := json.MarshalIndent(res, "", " ")
		os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644)
		log.mu.Lock()
		os.WriteFile(filepath.Join(dir, name+".requests"), []byte(strings.Join(log.lines, "\n")+"\n"), 0o644)
		log.mu.Unlock()
	}
	return res, code
}

// summary is one line about a result.
func summary(res testutil.PlayerResult, code int) string {
	s := fmt.Sprintf("%s: exit %d, first frame after %v ms, %d stalls after it (%d before), %d waiting, longest frame gap %v ms",
		res.Player, code, deref(res.StartMs), res.Stalls, res.StallsBeforeStart, res.WaitingAfterStart, deref(res.MaxFrameGapMs))
	if l := res.Latency; l != nil {
		s += fmt.Sprintf("; behind the live edge %.2f s (p50; player's own figure, target %.2f s), seekable end to playhead %.2f s",
			l.Player.P50, l.Target, l.Seekable.P50)
	}
	if g := res.G2G; g != nil && g.Frames > 0 {
		s += fmt.Sprintf("; glass-to-glass p50 %d ms, p90 %d ms, last half p50 %d ms (%d frames read, %d unreadable)",
			g.P50, g.P90, g.LateP50, g.Frames, g.Unreadable)
	}
	return s
}

func players() []string {
	if p := os.Getenv("KAST_PLAYERS"); p != "" {
		return strings.Split(p, ",")
	}
	return testutil.Players
}

// TestDefaultPlayers: hls.js, video.js and Shaka Player, each with its
// default configuration, join at the first playlist and play 15 s with no
// stall after the first frame, frames growing all along. Each prints how
// far behind the live edge it plays and its glass-to-glass latency. The
// publish is 640x360 so that the encoder and Chromium's decoder keep up
// on a shared 2-core machine; BenchmarkDefaultPlayers uses 720p.
//
// video.js is allowed one freeze in its first seconds, which its own gap
// skipper ends (see vhsStartupFreeze), and is also played with its LL-HLS
// support off ("videojs-segments"), where nothing is tolerated.
func TestDefaultPlayers(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	testutil.RequireTool(t, "ffmpeg")
	testutil.RequirePlayers(t)
	runs := map[string]playerRun{}
	var names []string
	for _, player := range players() {
		runs[player] = playerRun{player: player, join: "first", sample: 15, size: "640x360", bitrate: "1000k"}
		names = append(names, player)
		if player == "videojs" {
			runs["videojs-segments"] = playerRun{player: player, join: "first", sample: 15, size: "640x360", bitrate: "1000k", query: "llhls=0"}
			names = append(names, "videojs-segments")
		}
	}
	for _, name := range names {
		run := runs[name]
		t.Run(name, func(t *testing.T) {
			res, code := run.play(t)
			t.Log(summary(res, code))
			if !res.Started {
				t.Fatalf("no frame within 30 s: %v", res.Errors)
			}
			if res.G2G == nil || res.G2G.Frames == 0 {
				t.Errorf("no clock read from the picture (%+v)", res.G2G)
			}
			if name == "videojs" && res.Stalls == 0 {
				if d, ok := vhsStartupFreeze(res); ok {
					if d > 0 {
						t.Logf("video.js froze %v at the start and its gap skipper went on (known VHS + Chromium start-up hole, see vhsStartupFreeze)", d)
					}
					return
				}
			}
			switch {
			case res.Frozen || res.FramesEnd <= res.FramesStart:
				t.Errorf("frames stopped growing (every 250 ms): %v", sampledFrames(res))
			case res.Stalls > 0 || res.WaitingAfterStart > 0:
				t.Errorf("stalled after the first frame")
			case code != 0:
				t.Errorf("players.mjs exit %d: %v", code, res.Errors)
			}
		})
	}
}

func sampledFrames(res testutil.PlayerResult) []int {
	var frames []int
	for _, s := range res.Samples {
		frames = append(frames, s.Frames)
	}
	return frames
}

// vhsStartupFreeze reports whether video.js played as well as it can with
// its defaults: frames growing all along but for freezes (750 ms and more
// without a new frame) that end within 7 s of the first frame and last
// 5 s together at most (VHS sometimes shows a frame or two between two
// of them), and how long they lasted together.
//
// Why it happens (seen with KAST_PLAYERS_DEBUG=1 and a replay of the media
// served into a bare MediaSource): VHS 3 appends the init section again
// whenever the playlist object it holds has changed since the last time
// (SegmentLoader.updateAppendInitSegmentStatus). At the live edge of an
// LL-HLS stream every blocking reload brings a new playlist, so each part
// goes into the SourceBuffer behind an init section, and Chromium, after
// an init section, will not take the dependent frames of a part that does
// not start on a keyframe: holes of 70-90 ms open after each segment's first
// part, and VHS's gap skipper only seeks over them after about 2.5 s. The
// loop ends the first time VHS takes two parts from one playlist, which
// is timing luck; the parts themselves are continuous (the same bytes
// appended once each leave no hole). With VHS's LL-HLS off
// ({html5: {vhs: {llhls: false}}}) it plays whole segments, which start on
// keyframes, with no freeze, about 3 s further behind.
func vhsStartupFreeze(res testutil.PlayerResult) (time.Duration, bool) {
	frames := sampledFrames(res)
	const sample = 250 * time.Millisecond
	const window = 7 * time.Second
	var frozen time.Duration
	for i := 1; i < len(frames); {
		if frames[i] > frames[i-1] {
			i++
			continue
		}
		j := i
		for j < len(frames) && frames[j] <= frames[i-1] {
			j++
		}
		// samples i..j-1 brought no new frame
		if d := time.Duration(j-i) * sample; d >= 750*time.Millisecond {
			if time.Duration(j)*sample > window {
				return frozen + d, false
			}
			frozen += d
		}
		i = j
	}
	return frozen, frozen <= 5*time.Second && len(frames) > 0 && frames[len(frames)-1] > frames[0]
}

func TestVHSStartupFreeze(t *testing.T) {
	seq := func(parts ...[]int) []int {
		var out []int
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	rep := func(v, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	grow := func(from, n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = from + 8*i
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		frames []int
		frozen time.Duration
		ok     bool
	}{
		{"smooth", grow(4, 60), 0, true},
		{"one freeze at the start", seq([]int{4, 5, 5}, rep(6, 17), grow(12, 40)), 4000 * time.Millisecond, true},
		// seen in make test: 2.75 s, two frames, 1 s more
		{"two with a frame between", seq([]int{4, 5, 5}, rep(6, 12), rep(8, 5), grow(15, 40)), 3750 * time.Millisecond, true},
		{"a freeze later", seq(grow(4, 40), rep(324, 4), grow(330, 16)), 750 * time.Millisecond, false},
		{"too long", seq([]int{4}, rep(6, 24), grow(12, 35)), 5750 * time.Millisecond, false},
		{"short gaps do not count", seq(grow(4, 10), rep(76, 2), grow(80, 48)), 0, true},
	} {
		var res testutil.PlayerResult
		for _, f := range tc.frames {
			res.Samples = append(res.Samples, testutil.PlayerSample{Frames: f})
		}
		d, ok := vhsStartupFreeze(res)
		if d != tc.frozen || ok != tc.ok {
			t.Errorf("%s: %v %v, want %v %v", tc.name, d, ok, tc.frozen, tc.ok)
		}
	}
}

// BenchmarkDefaultPlayers reports each player's glass-to-glass latency
// (p50 over the frames it presented in 15 s, ms) and how far behind the
// live edge it plays, joining at the first playlist and into a running
// stream. One iteration is one player session: run with -benchtime 1x.
func BenchmarkDefaultPlayers(b *testing.B) {
	testutil.RequireTool(b, "ffmpeg")
	testutil.RequirePlayers(b)
	for _, player := range players() {
		for _, join := range []string{"first", "live"} {
			b.Run(player+"/"+join, func(b *testing.B) {
				var g2g, late, behind, stalls float64
				for range b.N {
					res, code := playerRun{player: player, join: join, sample: 15}.play(b)
					b.Log(summary(res, code))
					if !res.Started || res.G2G == nil {
						b.Fatalf("no playback: %v", res.Errors)
					}
					g2g += float64(res.G2G.P50)
					late += float64(res.G2G.LateP50)
					behind += res.Latency.Player.P50
					stalls += float64(res.Stalls + res.WaitingAfterStart)
				}
				n := float64(b.N)
				b.ReportMetric(g2g/n, "g2g-p50-ms")
				b.ReportMetric(late/n, "g2g-late-p50-ms")
				b.ReportMetric(behind/n, "behind-edge-s")
				b.ReportMetric(stalls/n, "stalls")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
