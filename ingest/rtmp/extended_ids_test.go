package rtmp

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/testutil"
)

// TestPublisherWithExtendedChunkStreamIDs publishes with a hand-made
// publisher whose commands, audio and video travel on chunk streams 64
// and above (RTMP 5.3.1.1: 2-byte basic headers for 64-319, 3-byte ones
// for 64-65599), which gortmplib alone refuses. Every frame must reach the
// hub whole, with its timestamp, including timestamps past 24 bits
// (extended timestamps on type 3 chunks) and frames cut into many chunks
// after a Set Chunk Size.
func TestPublisherWithExtendedChunkStreamIDs(t *testing.T) {
	for _, tc := range []struct {
		name                string
		command, audio, vid uint32
		wide                bool
		chunkSize           uint32
		base                uint32 // first timestamp (ms)
	}{
		{name: "2-byte headers", command: 3, audio: 64, vid: 319},
		{name: "3-byte headers", command: 320, audio: 65599, vid: 1000, chunkSize: 100},
		{name: "3-byte headers for 64-319", command: 64, audio: 100, vid: 200, wide: true, chunkSize: 1000, base: 0xFFFFFF - 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, hub := newTestServer(t)
			units := make(chan *ingest.Unit, 1000)
			hub.OnStream(func(st *ingest.Stream) {
				r := st.Subscribe(1000)
				go func() {
					for u := range r.Units() {
						units <- u
					}
				}()
			})
			p := &testutil.HandPublisher{CommandID: tc.command, AudioID: tc.audio, VideoID: tc.vid, Wide: tc.wide, ChunkSize: tc.chunkSize}
			if err := p.Publish("rtmp://" + s.Addr().String() + "/live/" + testKey); err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(p.WriteVideo(tc.base, avcSequenceHeader()))
			must(p.WriteAudio(tc.base, []byte{0xaf, 0x00, 0x12, 0x10}))
			const frames = 30
			for i := range frames {
				ts := tc.base + uint32(i*33)
				nal := bytes.Repeat([]byte{byte(i)}, 300+i*10)
				nal[0] = 0x41
				if i%10 == 0 {
					nal[0] = 0x65
				}
				must(p.WriteVideo(ts, avcFrame(i%10 == 0, 0, nal)))
				must(p.WriteAudio(ts, []byte{0xaf, 0x01, 0x21, 0x10, byte(i)}))
			}

			var video, audio int
			deadline := time.After(5 * time.Second)
			for video+audio < 2*frames {
				select {
				case u := <-units:
					want := time.Duration(tc.base)*time.Millisecond + time.Duration(video)*33*time.Millisecond
					if u.Kind == ingest.KindAudio {
						want = time.Duration(tc.base)*time.Millisecond + time.Duration(audio)*33*time.Millisecond
						if u.DTS != want || !bytes.Equal(u.Frame, []byte{0x21, 0x10, byte(audio)}) {
							t.Fatalf("audio frame %d: DTS %v (want %v), %x", audio, u.DTS, want, u.Frame)
						}
						audio++
						continue
					}
					if u.DTS != want || len(u.NALUs) != 1 || len(u.NALUs[0]) != 300+video*10 || u.NALUs[0][1] != byte(video) || u.Key != (video%10 == 0) {
						t.Fatalf("video frame %d: DTS %v (want %v), key %v, %s", video, u.DTS, want, u.Key, nalSizes(u.NALUs))
					}
					video++
				case <-deadline:
					t.Fatalf("%d video and %d audio frames of %d arrived", video, audio, frames)
				}
			}
			t.Logf("%d video and %d audio frames arrived over chunk streams %d, %d, %d", video, audio, tc.command, tc.audio, tc.vid)
		})
	}
}

func nalSizes(nalus [][]byte) string {
	var b bytes.Buffer
	for _, n := range nalus {
		fmt.Fprintf(&b, "%d ", len(n))
	}
	return b.String()
}
