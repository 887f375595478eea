package rtmp

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
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
// extended starts the timestamps just below 0xFFFFFF ms.
func seedStream(extended bool) []byte {
	return seedChunks(seedOptions{extended: extended, video: 6, audio: 4, command: 3})
}

// seedOptions shape a seed: the chunk stream IDs of each kind of message
// (64 and above take 2- or 3-byte basic headers), the chunk size, and an
// aborted message.
type seedOptions struct {
	extended              bool
	video, audio, command uint32
	wide                  bool   // 3-byte basic headers for IDs 64-319
	chunkSize             uint32 // sent with Set Chunk Size when set
	abort                 bool   // a video message cut off by an Abort Message
	chunkWriter           bool   // kast's test chunk writer instead of gortmplib's
}

func seedChunks(o seedOptions) []byte {
	var buf bytes.Buffer
	var msg func(csid uint32, typ uint8, ts time.Duration, body []byte)
	if o.chunkWriter || o.video > 63 || o.audio > 63 || o.command > 63 || o.chunkSize != 0 || o.abort {
		w := &testutil.ChunkWriter{Wide: o.wide}
		if o.chunkSize != 0 {
			w.SetChunkSize(&buf, o.chunkSize)
		}
		msg = func(csid uint32, typ uint8, ts time.Duration, body []byte) {
			if err := w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: csid, Timestamp: uint32(ts / time.Millisecond), Type: typ, StreamID: 1, Body: body}); err != nil {
				panic(err)
			}
		}
		if o.abort {
			chunks, _ := w.Chunks(testutil.ChunkMessage{ChunkStreamID: o.video, Type: uint8(message.TypeVideo), StreamID: 1, Body: avcFrame(true, 0, bytes.Repeat([]byte{0x65}, 400))})
			buf.Write(chunks[0])
			w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: 2, Type: 2, Body: binary.BigEndian.AppendUint32(nil, o.video)})
			w.Aborted(o.video)
		}
	} else {
		w := rawmessage.NewWriter(&buf, bytecounter.NewWriter(&buf), false)
		msg = func(csid uint32, typ uint8, ts time.Duration, body []byte) {
			if err := w.Write(&rawmessage.Message{ChunkStreamID: byte(csid), Timestamp: ts, Type: typ, MessageStreamID: 1, Body: body}); err != nil {
				panic(err)
			}
		}
	}
	meta := []byte{0x02, 0x00, 0x0a}
	meta = append(meta, "onMetaData"...)
	msg(o.audio, uint8(message.TypeDataAMF0), 0, meta)
	msg(o.video, uint8(message.TypeVideo), 0, avcSequenceHeader())
	msg(o.audio, uint8(message.TypeAudio), 0, []byte{0xaf, 0x00, 0x12, 0x10})
	base := time.Duration(0)
	if o.extended {
		base = 0xFFFFFF*time.Millisecond - 50*time.Millisecond
	}
	for i := range 6 {
		ts := base + time.Duration(i)*33*time.Millisecond
		msg(o.video, uint8(message.TypeVideo), ts, avcFrame(i == 0, 0, []byte{0x09, 0xf0}, []byte{0x65 - byte(min(i, 1))*0x24, byte(i), 0x80}))
		msg(o.audio, uint8(message.TypeAudio), ts, []byte{0xaf, 0x01, 0x21, 0x10, byte(i)})
	}
	del := []byte{0x02, 0x00, 0x0c}
	del = append(del, "deleteStream"...)
	del = append(del, 0x00, 0x40, 0x10, 0, 0, 0, 0, 0, 0) // transaction 4
	del = append(del, 0x05)                               // null
	del = append(del, 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0) // stream 1
	msg(o.command, uint8(message.TypeCommandAMF0), 0, del)
	return buf.Bytes()
}

// fuzzSeeds are the inputs kept in testdata/fuzz/FuzzDemuxer.
func fuzzSeeds() [][]byte {
	return [][]byte{
		seedStream(false),
		seedStream(true),
		// Extended chunk stream IDs: 2-byte (64-319) and 3-byte headers.
		seedChunks(seedOptions{video: 320, audio: 64, command: 3}),
		seedChunks(seedOptions{extended: true, video: 65599, audio: 100, command: 319, wide: true, chunkSize: 60}),
		seedChunks(seedOptions{video: 4000, audio: 70, command: 3, abort: true}),
		seedChunks(seedOptions{video: 6, audio: 4, command: 3, chunkSize: 1}),
		smallRandomStream(),
	}
}

// smallRandomStream is a short randomStream: many chunk streams, every
// header type, interleaving, aborts.
func smallRandomStream() []byte {
	data, _ := randomStream(rand.New(rand.NewPCG(7, 7)), false, 120)
	return data
}

// demux reads RTMP messages from data as the server does (through the
// chunk rewriter into gortmplib) and feeds them to a flvDemuxer.
func demux(data []byte) (media []ingest.Media, units []*ingest.Unit, err error) {
	r := message.NewReader(rewritten(bytes.NewReader(data)), bytecounter.NewReader(bytes.NewReader(nil)), func(uint32) error { return nil })
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
	for i, data := range fuzzSeeds() {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzDemuxer feeds arbitrary RTMP chunk streams through the chunk
// rewriter and gortmplib's message reader into the FLV demuxer: every
// input must end in a clean error or a clean end, never a panic or a
// hang. It also holds the rewriter to the reference chunk reader
// (checkRewriter).
func FuzzDemuxer(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRewriter(t, data)
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

// TestDemuxSeedsThroughRewriter: every seed, whatever its chunk stream
// IDs and chunk size, gives the same media as the plain one.
func TestDemuxSeedsThroughRewriter(t *testing.T) {
	for i, data := range fuzzSeeds()[:6] {
		media, units, err := demux(data)
		if err != errUnpublished || len(media) != 1 || len(units) != 12 {
			t.Fatalf("seed %d: %d media, %d units, ended with %v", i, len(media), len(units), err)
		}
	}
}
