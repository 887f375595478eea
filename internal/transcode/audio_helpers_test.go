package transcode

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

// aacClip is AAC made by ffmpeg's encoder, split into raw_data_blocks.
type aacClip struct {
	path  string // the ADTS file
	audio *ingest.Audio
	aus   [][]byte
	frame time.Duration // duration of one AU
}

// makeAAC encodes a lavfi source (e.g. "sine=frequency=440") to AAC.
func makeAAC(t testing.TB, source string, rate, channels int, dur time.Duration) aacClip {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.aac")
	out, err := testutil.Run(t, time.Minute, "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", source, "-t", strconv.FormatFloat(dur.Seconds(), 'f', 3, 64),
		"-ar", strconv.Itoa(rate), "-ac", strconv.Itoa(channels),
		"-c:a", "aac", "-b:a", "128k", "-f", "adts", "-y", path)
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pkts mpeg4audio.ADTSPackets
	if err := pkts.Unmarshal(buf); err != nil {
		t.Fatal(err)
	}
	p := pkts[0]
	a, err := ingest.NewAAC(&mpeg4audio.AudioSpecificConfig{
		Type: p.Type, SampleRate: p.SampleRate, ChannelConfig: p.ChannelConfig,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := aacClip{path: path, audio: a, frame: 1024 * time.Second / time.Duration(rate)}
	for _, p := range pkts {
		c.aus = append(c.aus, p.AU)
	}
	return c
}

// units returns the clip's AUs as hub units starting at base. Their PTS
// are whole milliseconds, as RTMP delivers them.
func (c aacClip) units(base time.Duration) []*ingest.Unit {
	us := make([]*ingest.Unit, len(c.aus))
	for i, au := range c.aus {
		pts := (base + time.Duration(i)*c.frame).Truncate(time.Millisecond)
		us[i] = &ingest.Unit{Kind: ingest.KindAudio, DTS: pts, PTS: pts, Key: true, Frame: au}
	}
	return us
}

// feedPaced writes units at speed x real time (their PTS spacing). It
// returns when all are written or stop is closed.
func feedPaced(w interface{ Write(*ingest.Unit) error }, us []*ingest.Unit, speed float64, stop <-chan struct{}) {
	if len(us) == 0 {
		return
	}
	start := time.Now()
	for _, u := range us {
		due := start.Add(time.Duration(float64(u.PTS-us[0].PTS) / speed))
		select {
		case <-time.After(time.Until(due)):
		case <-stop:
			return
		}
		w.Write(u)
	}
}

// collect reads units until the channel closes.
func collect(ch <-chan *ingest.Unit) <-chan []*ingest.Unit {
	res := make(chan []*ingest.Unit, 1)
	go func() {
		var us []*ingest.Unit
		for u := range ch {
			us = append(us, u)
		}
		res <- us
	}()
	return res
}

// writeOgg writes Opus units to an Ogg file with pion's oggwriter.
func writeOgg(t *testing.T, us []*ingest.Unit, channels int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.ogg")
	w, err := oggwriter.New(path, 48000, uint16(channels))
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range us {
		p := &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(u.PTS * 48000 / time.Second)},
			Payload: u.Frame,
		}
		if err := w.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// oggPreSkip is the pre-skip oggwriter writes (RFC 7845's recommended 80 ms):
// a decoder of its files drops that many samples first.
const oggPreSkip = 3840

// decodeMono decodes an audio file with ffmpeg to mono 16-bit samples at
// rate, checking that ffmpeg reports no decoding errors.
func decodeMono(t *testing.T, path string, rate int) []int16 {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "pcm")
	out, err := testutil.Run(t, time.Minute, "-hide_banner", "-loglevel", "error", "-xerror",
		"-i", path, "-ac", "1", "-ar", strconv.Itoa(rate), "-f", "s16le", "-y", raw)
	if err != nil || len(out) > 0 {
		t.Fatalf("ffmpeg decoding %s: %v\n%s", filepath.Base(path), err, out)
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

// rms returns the root mean square of s, full scale 1.
func rms(s []int16) float64 {
	var sum float64
	for _, v := range s {
		f := float64(v) / 32768
		sum += f * f
	}
	return math.Sqrt(sum / float64(max(len(s), 1)))
}

// frequency estimates the frequency of a tone from its zero crossings.
func frequency(s []int16, rate int) float64 {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return float64(n) / 2 / (float64(len(s)) / float64(rate))
}

// onset returns the index of the first sample at a quarter of the peak.
func onset(s []int16) int {
	peak := 0
	for _, v := range s {
		peak = max(peak, abs(int(v)))
	}
	for i, v := range s {
		if abs(int(v)) >= peak/4 {
			return i
		}
	}
	return -1
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// mpegASC is an AAC LC 48 kHz stereo configuration.
var mpegASC = mpeg4audio.AudioSpecificConfig{
	Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2,
}

func itoa(v int) string { return strconv.Itoa(v) }
