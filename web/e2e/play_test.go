package e2e

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/web"
	"github.com/kastlive/kast/web/pages"
)

// oneTrack is a TrackLookup holding the single track "main".
type oneTrack struct{}

var mainTrack = conference.Track{ID: 1, EventID: 1, Slug: "main", Title: "Main stage"}

func (oneTrack) TrackBySlug(_ context.Context, slug string) (conference.Track, error) {
	if slug == mainTrack.Slug {
		return mainTrack, nil
	}
	return conference.Track{}, conference.ErrNotFound
}

func (oneTrack) Tracks(context.Context) ([]conference.Track, error) {
	return []conference.Track{mainTrack}, nil
}

// requireTools skips the test unless the browser test can run here.
func requireTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	testutil.RequireTool(t, "ffmpeg")
	testutil.RequireBrowser(t)
}

// serve starts the watch page plus /hls/main/ files from dir on 127.0.0.1
// and returns the base URL. Missing files are 404, as when nobody publishes.
func serve(t *testing.T, dir string) string {
	t.Helper()
	mux := web.Routes(web.Handlers{
		HLS:   http.StripPrefix("/hls/main/", noStore(http.FileServer(http.Dir(dir)))),
		Pages: &pages.Handler{Tracks: oneTrack{}},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// noStore marks playlist responses uncacheable, as a live origin would.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// startFFmpeg writes a live 30 fps fMP4 HLS stream (1 s segments) into dir
// until the test ends.
func startFFmpeg(t *testing.T, dir string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k",
		"-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments",
		"-hls_segment_type", "fmp4", filepath.Join(dir, "index.m3u8"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if s := strings.TrimSpace(stderr.String()); s != "" {
			t.Logf("ffmpeg: %s", s)
		}
	})
}

// play runs play.mjs against url and logs its result line.
func play(t *testing.T, url string, waitS, sampleS string) (testutil.PlayResult, int) {
	t.Helper()
	res, code := testutil.Play(t, url, waitS, sampleS)
	t.Logf("play.mjs exit %d: %+v", code, res)
	return res, code
}

// TestWatchPageWaitsThenPlays opens the page before anything is published,
// so it must poll the 404 playlist, then start when ffmpeg begins.
func TestWatchPageWaitsThenPlays(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	base := serve(t, dir)
	go func() {
		time.Sleep(3 * time.Second)
		startFFmpeg(t, dir)
	}()
	res, code := play(t, base+"/watch/main", "40", "5")
	if !res.Started || code != 0 {
		t.Fatalf("playback did not start or froze: exit %d, %+v", code, res)
	}
	if res.State != "live" {
		t.Errorf("state = %q, want live", res.State)
	}
	if res.Latency == nil {
		t.Error("no hls.latency reported")
	}
}

// TestWatchPageWaitingState checks the page says it is waiting while the
// playlist is 404.
func TestWatchPageWaitingState(t *testing.T) {
	requireTools(t)
	base := serve(t, t.TempDir())
	res, code := play(t, base+"/watch/main", "5", "1")
	if res.Started || code == 0 {
		t.Fatalf("started with nothing published: %+v", res)
	}
	if res.State != "waiting" {
		t.Fatalf("state = %q, want waiting", res.State)
	}
}
