package rtmp

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

// TestFFmpegPastExtendedAndWrappingTimestamps: ffmpeg publishing with
// its timestamps far past 24 bits (-output_ts_offset 4294965.5 s): every
// header carries an extended timestamp, so do the continuation chunks of
// every frame cut into several (the case go-rtmp loses), and the
// timestamps wrap two seconds in: at 2^31 ms, since ffmpeg writes them as
// signed 31-bit numbers (the offset is taken modulo 2^31). Every frame
// reaches the hub in order, the timestamps going on past the wrap (they
// fell back by 24.8 days), and the publish ends cleanly.
func TestFFmpegPastExtendedAndWrappingTimestamps(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	logs := &logBuffer{}
	s, hub := newTestServer(t, func(s *Server) { s.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	var (
		mu     sync.Mutex
		last   = map[ingest.Kind]time.Duration{}
		counts = map[ingest.Kind]int{}
		bad    []string
	)
	hub.OnStream(func(st *ingest.Stream) {
		r := st.Subscribe(4000)
		go func() {
			for u := range r.Units() {
				mu.Lock()
				if prev, ok := last[u.Kind]; ok && u.DTS <= prev && len(bad) < 5 {
					bad = append(bad, u.Kind.String()+": "+prev.String()+" then "+u.DTS.String())
				}
				last[u.Kind] = u.DTS
				counts[u.Kind]++
				mu.Unlock()
			}
		}()
	})
	out, err := testutil.Run(t, 40*time.Second, "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "4",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-b:v", "2M", "-c:a", "aac",
		"-output_ts_offset", "4294965.5", "-f", "flv", "rtmp://"+s.Addr().String()+"/live/"+testKey)
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	waitFor(t, "publish ended", 5*time.Second, func() bool { return strings.Contains(logs.String(), "publish ended") })
	mu.Lock()
	defer mu.Unlock()
	t.Logf("video %d frames, audio %d, last DTS video %v, audio %v", counts[ingest.KindVideo], counts[ingest.KindAudio], last[ingest.KindVideo], last[ingest.KindAudio])
	if len(bad) > 0 {
		t.Fatalf("timestamps went back: %v", bad)
	}
	if counts[ingest.KindVideo] < 110 || counts[ingest.KindAudio] < 155 {
		t.Fatalf("%d video and %d audio frames of 120 and 172", counts[ingest.KindVideo], counts[ingest.KindAudio])
	}
	if wrap := rtmpTimestampRange / 2; last[ingest.KindVideo] < wrap || last[ingest.KindVideo] > wrap+5*time.Second {
		t.Fatalf("the last video DTS %v is not just past ffmpeg's wrap (%v)", last[ingest.KindVideo], wrap)
	}
	if l := logs.String(); !strings.Contains(l, `reason="publisher stopped"`) || strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
		t.Fatalf("log:\n%s", l)
	}
}
