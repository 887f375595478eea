package packager

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/avclip"
)

// fixture is a real 720p30 H.264 (2.5 Mbit/s, 1 s GOP, no B-frames) and
// 48 kHz AAC clip, the one the bench program publishes, as access units.
type fixture struct {
	media ingest.Media
	video [][][]byte // access units
	audio [][]byte   // raw AAC frames
}

func loadFixture(tb testing.TB) *fixture {
	tb.Helper()
	dir := filepath.Join("..", "bench", "testdata")
	video, err := os.ReadFile(filepath.Join(dir, "clip2500k.h264"))
	if err != nil {
		tb.Fatalf("bench clip: %v", err)
	}
	audio, err := os.ReadFile(filepath.Join(dir, "sine48k.aac"))
	if err != nil {
		tb.Fatal(err)
	}
	c, err := avclip.Parse(video, audio)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := ingest.NewH264(c.SPS, c.PPS)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := ingest.NewAAC(&c.AudioConfig)
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{
		media: ingest.Media{Video: v, Audio: a},
		video: c.Video,
		audio: c.Audio,
	}
}

// feeder produces the fixture as a live stream: units in time order with
// continuous timestamps, reusing a ring of Unit values.
type feeder struct {
	f          *fixture
	vi, ai     int
	vUnits     []ingest.Unit
	aUnits     []ingest.Unit
	start      time.Time
	audioFrame time.Duration
}

func newFeeder(f *fixture) *feeder {
	fd := &feeder{f: f, start: time.Now(), audioFrame: time.Second * 1024 / time.Duration(f.media.Audio.SampleRate)}
	fd.vUnits = make([]ingest.Unit, len(f.video))
	fd.aUnits = make([]ingest.Unit, len(f.audio))
	return fd
}

// next returns the next unit, video or audio, whichever comes first.
func (fd *feeder) next() *ingest.Unit {
	vt := time.Duration(fd.vi) * time.Second / 30
	at := time.Duration(fd.ai) * fd.audioFrame
	if at < vt {
		u := &fd.aUnits[fd.ai%len(fd.aUnits)]
		*u = ingest.Unit{Kind: ingest.KindAudio, DTS: at, PTS: at, Received: fd.start.Add(at), Key: true, Frame: fd.f.audio[fd.ai%len(fd.f.audio)]}
		fd.ai++
		return u
	}
	i := fd.vi % len(fd.vUnits)
	u := &fd.vUnits[i]
	au := fd.f.video[i]
	*u = ingest.Unit{Kind: ingest.KindVideo, DTS: vt, PTS: vt, Received: fd.start.Add(vt), Key: h264.IsRandomAccess(au), NALUs: au}
	fd.vi++
	return u
}

func TestFixtureLoads(t *testing.T) {
	f := loadFixture(t)
	if len(f.video) < 60 || len(f.audio) < 100 || f.media.Video.Width != 1280 {
		t.Fatalf("fixture: %d video, %d audio, %+v", len(f.video), len(f.audio), f.media.Video)
	}
}
