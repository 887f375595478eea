package main

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4/codecs"
)

var (
	testSPS = []byte{
		0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
		0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60,
	}
	testPPS = []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
)

// testAU returns an access unit carrying a bench SEI for send.
func testAU(send int64, idr bool) [][]byte {
	slice := bytes.Repeat([]byte{0x41, 0x9a, 0x00, 0x00, 0x00, 0x05}, 200)
	if idr {
		slice[0] = 0x65
		return [][]byte{testSPS, testPPS, buildSEI(nil, send), slice}
	}
	return [][]byte{buildSEI(nil, send), slice}
}

func marshalFMP4(t *testing.T, v any) []byte {
	t.Helper()
	var buf seekablebuffer.Buffer
	var err error
	switch v := v.(type) {
	case fmp4.Init:
		err = v.Marshal(&buf)
	case fmp4.Part:
		err = v.Marshal(&buf)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFMP4(t *testing.T) {
	// Audio is track 1 so the reader has to pick the video track from the init.
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{
		{ID: 1, TimeScale: 48000, Codec: &codecs.MPEG4Audio{Config: mpeg4audio.AudioSpecificConfig{
			Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2,
		}}},
		{ID: 2, TimeScale: 90000, Codec: &codecs.H264{SPS: testSPS, PPS: testPPS}},
	}}
	tr, err := parseFMP4Init(marshalFMP4(t, init))
	if err != nil || tr.videoID != 2 || tr.lengthSize != 4 {
		t.Fatalf("init: %+v %v", tr, err)
	}

	var body []byte
	var want []int64
	for p := range 2 { // two fragments in one body, like a segment
		var vs []*fmp4.Sample
		for i := range 6 {
			send := int64(1_700_000_000_000_000_000 + p*1000 + i)
			want = append(want, send)
			avcc, err := h264.AVCC(testAU(send, i == 0)).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			s := &fmp4.Sample{Payload: avcc}
			s.Duration = 3000
			s.IsNonSyncSample = i != 0
			vs = append(vs, s)
		}
		audio := []*fmp4.Sample{{Duration: 1024, Payload: bytes.Repeat([]byte{0x21}, 300)}}
		body = append(body, marshalFMP4(t, fmp4.Part{SequenceNumber: uint32(p), Tracks: []*fmp4.PartTrack{
			{ID: 1, BaseTime: uint64(p) * 9600, Samples: audio},
			{ID: 2, BaseTime: uint64(p) * 18000, Samples: vs},
		}})...)
	}

	r := &fmp4Reader{track: tr}
	for name, src := range map[string]io.Reader{
		"whole":    bytes.NewReader(body),
		"trickled": iotest.OneByteReader(bytes.NewReader(body)),
	} {
		var got []int64
		err := r.read(bufio.NewReaderSize(src, 64), func(send int64, _ time.Time) { got = append(got, send) })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %d frames, want %d", name, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: frame %d: %d want %d", name, i, got[i], want[i])
			}
		}
	}

	// A truncated body is an error, not a hang or a panic.
	err = r.read(bufio.NewReader(bytes.NewReader(body[:len(body)-100])), func(int64, time.Time) {})
	if err == nil {
		t.Fatal("truncated body accepted")
	}
}
