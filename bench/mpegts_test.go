package main

import (
	"bufio"
	"bytes"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/kastlive/kast/internal/avclip"
)

func TestMPEGTS(t *testing.T) {
	audio := &mpegts.Track{Codec: &tscodecs.MPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{
		Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2,
	}}}
	video := &mpegts.Track{Codec: &tscodecs.H264{}}
	var buf bytes.Buffer
	w := &mpegts.Writer{W: &buf, Tracks: []*mpegts.Track{audio, video}}
	if err := w.Initialize(); err != nil {
		t.Fatal(err)
	}
	var want []int64
	for i := range 30 {
		send := int64(1_700_000_000_000_000_000 + i)
		want = append(want, send)
		pts := int64(i) * 3000
		if err := w.WriteH264(video, pts, pts, testAU(send, i%10 == 0)); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteMPEG4Audio(audio, pts, [][]byte{bytes.Repeat([]byte{0x21}, 200)}); err != nil {
			t.Fatal(err)
		}
	}
	var r tsReader
	var got []int64
	err := r.read(bufio.NewReader(iotest.HalfReader(bytes.NewReader(buf.Bytes()))), func(send int64, _ time.Time) {
		got = append(got, send)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("frame %d: %d want %d", i, got[i], want[i])
		}
	}

	bad := append([]byte{}, buf.Bytes()[:188*3]...)
	bad[188] = 0
	if err := r.read(bufio.NewReader(bytes.NewReader(bad)), func(int64, time.Time) {}); err == nil {
		t.Fatal("lost sync accepted")
	}
}

func TestForEachAnnexB(t *testing.T) {
	b := []byte{0, 0, 0, 1, 9, 0xf0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x65, 5}
	var got [][]byte
	avclip.ForEachNALU(b, func(n []byte) bool { got = append(got, n); return true })
	if len(got) != 3 || !bytes.Equal(got[1], []byte{0x67, 1, 2}) || !bytes.Equal(got[2], []byte{0x65, 5}) {
		t.Fatalf("%x", got)
	}
}
