package rtmp

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

	"github.com/kastlive/kast/ingest"
)

var writeSeeds = flag.Bool("write-seeds", false, "rewrite testdata/fuzz/FuzzDemuxer seeds")

// An SPS and PPS from x264 (320x240 baseline).
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x0d, 0xda, 0x05, 0x07, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x03, 0xc5, 0x0a, 0xa8}
	testPPS = []byte{0x68, 0xce, 0x0f, 0xc8}
)

func avcSequenceHeader() []byte {
	b := []byte{0x17, 0, 0, 0, 0, 1, testSPS[1], testSPS[2], testSPS[3], 0xff, 0xe1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(testSPS)))
	b = append(b, testSPS...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(testPPS)))
	return append(b, testPPS...)
}

func avcFrame(key bool, cts int, nalus ...[]byte) []byte {
	b := []byte{0x27, 1, byte(cts >> 16), byte(cts >> 8), byte(cts)}
	if key {
		b[0] = 0x17
	}
	for _, n := range nalus {
		b = binary.BigEndian.AppendUint32(b, uint32(len(n)))
		b = append(b, n...)
	}
	return b
}

// seedStream returns RTMP chunks as a publisher sends them after the
// handshake and the publish command: metadata, sequence headers, frames.
func seedStream(extended bool) []byte {
	var buf bytes.Buffer
	w := rawmessage.NewWriter(&buf, bytecounter.NewWriter(&buf), false)
	msg := func(csid byte, typ uint8, ts time.Duration, body []byte) {
		if err := w.Write(&rawmessage.Message{ChunkStreamID: csid, Timestamp: ts, Type: typ, MessageStreamID: 1, Body: body}); err != nil {
			panic(err)
		}
	}
	meta := []byte{0x02, 0x00, 0x0a}
	meta = append(meta, "onMetaData"...)
	msg(4, uint8(message.TypeDataAMF0), 0, meta)
	msg(6, uint8(message.TypeVideo), 0, avcSequenceHeader())
	msg(4, uint8(message.TypeAudio), 0, []byte{0xaf, 0x00, 0x12, 0x10})
	base := time.Duration(0)
	if extended {
		base = 0xFFFFFF*time.Millisecond - 50*time.Millisecond
	}
	for i := range 6 {
		ts := base + time.Duration(i)*33*time.Millisecond
		msg(6, uint8(message.TypeVideo), ts, avcFrame(i == 0, 0, []byte{0x09, 0xf0}, []byte{0x65 - byte(min(i, 1))*0x24, byte(i), 0x80}))
		msg(4, uint8(message.TypeAudio), ts, []byte{0xaf, 0x01, 0x21, 0x10, byte(i)})
	}
	del := []byte{0x02, 0x00, 0x0c}
	del = append(del, "deleteStream"...)
	del = append(del, 0x00, 0x40, 0x10, 0, 0, 0, 0, 0, 0) // transaction 4
	del = append(del, 0x05)                               // null
	del = append(del, 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0) // stream 1
	msg(3, uint8(message.TypeCommandAMF0), 0, del)
	return buf.Bytes()
}

// demux reads RTMP messages from data and feeds them to a flvDemuxer.
func demux(data []byte) (media []ingest.Media, units []*ingest.Unit, err error) {
	r := message.NewReader(bytes.NewReader(data), bytecounter.NewReader(bytes.NewReader(nil)), func(uint32) error { return nil })
	d := &flvDemuxer{
		onMedia: func(m ingest.Media) { media = append(media, m) },
		onUnit:  func(u *ingest.Unit) { units = append(units, u) },
	}
	for range 1000 {
		msg, err := r.Read()
		if err != nil {
			return media, units, err
		}
		if err := d.push(msg, time.Time{}); err != nil {
			return media, units, err
		}
	}
	return media, units, nil
}

func TestDemuxSeed(t *testing.T) {
	for _, ext := range []bool{false, true} {
		media, units, err := demux(seedStream(ext))
		if err != errUnpublished {
			t.Fatalf("extended=%v: ended with %v, want errUnpublished", ext, err)
		}
		if len(media) != 1 || media[0].Video == nil || media[0].Audio == nil || media[0].Video.Width != 320 {
			t.Fatalf("media %+v", media)
		}
		if len(units) != 12 || !units[0].Key || units[2].Key {
			t.Fatalf("got %d units", len(units))
		}
		if ext && units[len(units)-1].DTS < 0xFFFFFF*time.Millisecond {
			t.Fatalf("timestamps past 24 bits lost: %v", units[len(units)-1].DTS)
		}
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("run with -write-seeds to rewrite the seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDemuxer")
	os.MkdirAll(dir, 0o755)
	for i, data := range [][]byte{seedStream(false), seedStream(true)} {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzDemuxer feeds arbitrary RTMP chunk streams through gortmplib's
// message reader into the FLV demuxer: every input must end in a clean
// error or a clean end, never a panic or a hang.
func FuzzDemuxer(f *testing.F) {
	f.Add(seedStream(false))
	f.Fuzz(func(t *testing.T, data []byte) {
		media, units, _ := demux(data)
		for _, u := range units {
			if u.Kind == ingest.KindVideo && len(u.NALUs) == 0 {
				t.Fatal("video unit without NAL units")
			}
			if u.Kind == ingest.KindAudio && len(u.Frame) == 0 {
				t.Fatal("empty audio unit")
			}
		}
		if len(units) > 0 && len(media) == 0 {
			t.Fatal("units before media")
		}
	})
}
