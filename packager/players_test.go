package packager_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/packager"
)

// requestLog records when each HLS request came and was answered.
type requestLog struct {
	start time.Time
	mu    sync.Mutex
	lines []string
}

func (l *requestLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Since(l.start)
		h.ServeHTTP(w, r)
		t1 := time.Since(l.start)
		l.mu.Lock()
		l.lines = append(l.lines, fmt.Sprintf("%6d %6d %s", t0.Milliseconds(), t1.Milliseconds(), r.URL.RequestURI()))
		l.mu.Unlock()
	})
}

// TestDefaultPlayers plays the LL-HLS of a publish with hls.js, video.js
// and Shaka Player, each with its default configuration, in Chromium.
func TestDefaultPlayers(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	testutil.RequireTool(t, "ffmpeg")
	testutil.RequirePlayers(t)
	players := testutil.Players
	if p := os.Getenv("KAST_PLAYERS"); p != "" {
		players = []string{p}
	}
	for _, player := range players {
		t.Run(player, func(t *testing.T) {
			cfg := packager.Config{}
			if v := os.Getenv("KAST_TEST_PHB"); v != "" {
				cfg.PartHoldBack, _ = time.ParseDuration(v)
			}
			cfg.FreshPlaylist = os.Getenv("KAST_TEST_FRESH") != ""
			if v := os.Getenv("KAST_TEST_START"); v != "" {
				fmt.Sscan(v, &cfg.StartSegments)
			}
			r := newRig(t, cfg)
			log := &requestLog{start: time.Now()}
			mux := http.NewServeMux()
			mux.Handle("/hls/", log.wrap(http.StripPrefix("/hls", r.hls)))
			mux.Handle("/", testutil.PlayerPages(t))
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)

			pub := testutil.Publish{URL: r.publishURL(), Duration: 60 * time.Second, Extra: testutil.ClockBarArgs()}
			q := "?"
			if os.Getenv("KAST_PLAYERS_DEBUG") != "" {
				q += "debug=1&"
			}
			if os.Getenv("KAST_PLAYERS_JOIN") == "first" {
				// The page waits for the playlist, so the player joins at
				// the first one served.
				q += "wait=1&"
				go func() {
					time.Sleep(2 * time.Second)
					testutil.StartPublish(t, pub)
				}()
			} else {
				testutil.StartPublish(t, pub)
				first := r.waitPlaylist(t, 15*time.Second)
				_, pl := get(t, r.url("media.m3u8"))
				t.Logf("first playlist %v after publish start:\n%s", first, pl)
			}
			res, code := testutil.PlayPlayer(t, srv.URL+"/players/"+player+".html"+q, 30, 15)
			if dir := os.Getenv("KAST_PLAYERS_OUT"); dir != "" {
				b, _ := json.MarshalIndent(res, "", " ")
				os.WriteFile(filepath.Join(dir, player+".json"), b, 0o644)
				log.mu.Lock()
				var all []byte
				for _, l := range log.lines {
					all = append(all, l+"\n"...)
				}
				log.mu.Unlock()
				os.WriteFile(filepath.Join(dir, player+".requests"), all, 0o644)
			}
			t.Logf("%s: exit %d, started %v after %v ms, stalls %d (+%d before the first frame), waiting %d, max frame gap %v ms",
				res.Player, code, res.Started, deref(res.StartMs), res.Stalls, res.StallsBeforeStart, res.WaitingAfterStart, deref(res.MaxFrameGapMs))
			if res.G2G != nil {
				t.Logf("glass-to-glass %+v", *res.G2G)
			}
			if res.Latency != nil {
				t.Logf("latency %+v", *res.Latency)
			}
			if code != 0 {
				t.Errorf("exit %d", code)
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
