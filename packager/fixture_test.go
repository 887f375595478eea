package packager

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"github.com/kastlive/kast/ingest"
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
	raw, err := os.ReadFile(filepath.Join(dir, "clip2500k.h264"))
	if err != nil {
		tb.Skipf("bench clip: %v", err)
	}
	nalus := splitAnnexB(raw)
	f := &fixture{}
	var sps, pps []byte
	var cur [][]byte
	for _, n := range nalus {
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeAccessUnitDelimiter:
			if len(cur) > 0 {
				f.video = append(f.video, cur)
			}
			cur = nil
			continue
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		}
		cur = append(cur, n)
	}
	if len(cur) > 0 {
		f.video = append(f.video, cur)
	}
	v, err := ingest.NewH264(sps, pps)
	if err != nil {
		tb.Fatal(err)
	}
	araw, err := os.ReadFile(filepath.Join(dir, "sine48k.aac"))
	if err != nil {
		tb.Fatal(err)
	}
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(araw); err != nil {
		tb.Fatal(err)
	}
	for _, p := range pkts {
		f.audio = append(f.audio, p.AU)
	}
	f.media = ingest.Media{Video: v, Audio: &ingest.AAC{Config: mpeg4audio.AudioSpecificConfig{
		Type: pkts[0].Type, SampleRate: pkts[0].SampleRate, ChannelConfig: pkts[0].ChannelConfig, ChannelCount: int(pkts[0].ChannelConfig),
	}}}
	return f
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
	fd := &feeder{f: f, start: time.Now(), audioFrame: time.Second * 1024 / time.Duration(f.media.Audio.Config.SampleRate)}
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

// splitAnnexB splits a whole H.264 elementary stream at its start codes.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end--
				}
				out = append(out, b[start:end])
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

func TestFixtureLoads(t *testing.T) {
	f := loadFixture(t)
	if len(f.video) < 60 || len(f.audio) < 100 || f.media.Video.Width != 1280 {
		t.Fatalf("fixture: %d video, %d audio, %+v", len(f.video), len(f.audio), f.media.Video)
	}
}
