package recorder

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/avclip"
	"github.com/kastlive/kast/packager"
)

var testLog = func() *slog.Logger {
	if os.Getenv("KAST_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}()

// clip is the bench clip (720p30 H.264, 1 s GOP, 48 kHz AAC) as units.
type clip struct {
	media ingest.Media
	video [][][]byte
	audio [][]byte
}

func loadClip(tb testing.TB) *clip {
	tb.Helper()
	dir := filepath.Join("..", "bench", "testdata")
	v, err := os.ReadFile(filepath.Join(dir, "clip2500k.h264"))
	if err != nil {
		tb.Fatal(err)
	}
	a, err := os.ReadFile(filepath.Join(dir, "sine48k.aac"))
	if err != nil {
		tb.Fatal(err)
	}
	c, err := avclip.Parse(v, a)
	if err != nil {
		tb.Fatal(err)
	}
	vid, err := ingest.NewH264(c.SPS, c.PPS)
	if err != nil {
		tb.Fatal(err)
	}
	aud, err := ingest.NewAAC(&c.AudioConfig)
	if err != nil {
		tb.Fatal(err)
	}
	return &clip{media: ingest.Media{Video: vid, Audio: aud}, video: c.Video, audio: c.Audio}
}

// rig is a hub and a packager whose sink is a recorder in a temp dir.
type rig struct {
	hub  *ingest.Hub
	hls  *packager.Server
	rec  *Recorder
	feed *conference.Feed
	dir  string
	clip *clip

	published uint64
}

func newRig(t testing.TB, dir string, configure func(*Recorder)) *rig {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	g := &rig{hub: &ingest.Hub{}, feed: &conference.Feed{}, dir: dir, clip: loadClip(t)}
	// The rig feeds media faster than real time: a deep queue keeps every
	// segment (TestBudget* and the benchmark check drops themselves).
	g.rec = &Recorder{Dir: dir, Feed: g.feed, NoSync: true, MinFree: -1, Logger: testLog, Queue: 1024}
	if configure != nil {
		configure(g.rec)
	}
	if err := g.rec.Initialize(); err != nil {
		t.Fatal(err)
	}
	g.hls = &packager.Server{Hub: g.hub, Logger: testLog, Sink: g.rec, Config: packager.Config{Linger: time.Second}}
	if err := g.hls.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.hls.Close()
		g.rec.Close()
	})
	return g
}

// publish feeds d of the clip to track as one publish whose first frame
// was received at wall-clock time at, as fast as the packager takes it.
func (g *rig) publish(t testing.TB, track string, at time.Time, d time.Duration) {
	t.Helper()
	p, err := g.hub.Claim(track, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	st := p.Start(g.clip.media)
	audioFrame := time.Second * 1024 / time.Duration(g.clip.media.Audio.SampleRate)
	vi, ai := 0, 0
	wall := time.Now()
	for n := 0; ; n++ {
		vt := time.Duration(vi) * time.Second / 30
		atime := time.Duration(ai) * audioFrame
		if min(vt, atime) >= d {
			break
		}
		if atime < vt {
			st.Write(&ingest.Unit{Kind: ingest.KindAudio, DTS: atime, PTS: atime, Received: at.Add(atime), Key: true,
				Frame: g.clip.audio[ai%len(g.clip.audio)]})
			ai++
		} else {
			au := g.clip.video[vi%len(g.clip.video)]
			st.Write(&ingest.Unit{Kind: ingest.KindVideo, DTS: vt, PTS: vt, Received: at.Add(vt), Key: h264.IsRandomAccess(au), NALUs: au})
			vi++
		}
		if n%20 == 19 {
			// 20 times real time: well within what the packager takes, so
			// its reader never drops units, even under -race on a busy machine.
			if d := time.Until(wall.Add(min(vt, atime) / 20)); d > 0 {
				time.Sleep(d)
			}
		}
	}
	p.Close(nil)
	g.published++
	if d := g.hub.Stats().ReaderDrops; d > 0 {
		t.Fatalf("the packager's reader dropped %d units: the test fed too fast", d)
	}
}

// waitEnded waits until every publish so far has ended in the recorder.
func (g *rig) waitEnded(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for g.rec.metrics.ends.Load() < g.published {
		if time.Now().After(deadline) {
			t.Fatalf("%d publishes ended, want %d", g.rec.metrics.ends.Load(), g.published)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newCaptureHub is a hub and a packager handing segments to sink.
func newCaptureHub(tb testing.TB, sink packager.SegmentSink) (*ingest.Hub, *packager.Server) {
	tb.Helper()
	hub := &ingest.Hub{}
	hls := &packager.Server{Hub: hub, Logger: testLog, Sink: sink, Config: packager.Config{Linger: time.Second}}
	if err := hls.Initialize(); err != nil {
		tb.Fatal(err)
	}
	return hub, hls
}
