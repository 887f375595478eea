package rtmp

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/handshake"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/kastlive/kast/internal/testutil"
)

// TestKeylessClientGetsNoAutomaticReplies: a client without a key that
// asks for an acknowledgement every byte and cuts its chunks to one byte,
// or sends ping after ping, gets no write at all from kast. gortmplib
// alone answered the first with an Acknowledgement for nearly every chunk
// (2.5 times the bytes sent, measured here) and each ping with a Ping
// Response (as many bytes as sent).
func TestKeylessClientGetsNoAutomaticReplies(t *testing.T) {
	for _, tc := range []struct {
		name         string
		window, ping bool
	}{
		{"acknowledgements, window 1 and chunk size 1", true, false},
		{"pings", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, func(s *Server) { s.PublishTimeout = time.Second })
			nc, err := net.Dial("tcp", s.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, _, err := handshake.DoClient(nc, false, false); err != nil {
				t.Fatal(err)
			}
			var got int64
			done := make(chan struct{})
			go func() { got, _ = io.Copy(io.Discard, nc); close(done) }()

			var buf bytes.Buffer
			w := &testutil.ChunkWriter{}
			if tc.window {
				w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: 2, Type: msgTypeWindowAckSize, Body: binary.BigEndian.AppendUint32(nil, 1)})
			}
			if tc.ping {
				for buf.Len() < 30<<10 {
					w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: 2, Type: msgTypeUserControl, Body: []byte{0, 6, 0, 0, 0, 0}}) // Ping Request
				}
			}
			w.SetChunkSize(&buf, 1)
			for buf.Len() < 30<<10 { // under the 32 KiB a stranger may send
				w.Write(&buf, testutil.ChunkMessage{ChunkStreamID: 3, Type: 3, Body: []byte{0, 0, 0, 0}}) // Acknowledgement: 4 chunks of 1 byte
			}
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			if _, err := nc.Write(buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the connection outlived its publish timeout")
			}
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			t.Logf("sent %d bytes, kast wrote back %d; process CPU %v", buf.Len(), got, cpu.Round(time.Millisecond))
			if got != 0 {
				t.Fatalf("kast wrote %d bytes to a client without a key that sent no command", got)
			}
		})
	}
}

// TestPublisherAcknowledgedWithWireBytes: a publisher that asks for an
// acknowledgement every byte gets one every 256 KiB (minAckWindow), each
// counting the bytes it sent (handshake included, RTMP 1.0 5.4.3), and
// "publish ended" logs the same count. Its video goes with 3-byte chunk
// headers, which the rewriter hands gortmplib 2 bytes shorter: gortmplib's
// own count would fall behind.
func TestPublisherAcknowledgedWithWireBytes(t *testing.T) {
	logs := &logBuffer{}
	s, hub := newTestServer(t, func(s *Server) { s.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	p := &testutil.HandPublisher{CommandID: 3, AudioID: 4, VideoID: 320}
	defer p.Close()
	if err := p.Publish("rtmp://" + s.Addr().String() + "/live/" + testKey); err != nil {
		t.Fatal(err)
	}
	if err := p.SetWindowAckSize(1); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteVideo(0, avcSequenceHeader()); err != nil {
		t.Fatal(err)
	}
	const frames = 200
	for i := range frames {
		if err := p.WriteVideo(uint32(i*33), avcFrame(i%30 == 0, 0, append([]byte{0x65}, make([]byte, 10000)...))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the frames", 10*time.Second, func() bool { return hub.Stats().Units >= frames })
	sent := p.Sent()
	var acks []uint32
	for {
		msg, err := p.ReadMessage(500 * time.Millisecond)
		if err != nil {
			break // quiet
		}
		if a, ok := msg.(*message.Acknowledge); ok {
			acks = append(acks, a.Value)
		}
	}
	p.Close()
	waitFor(t, "publish ended", 5*time.Second, func() bool { return logs.last("bytes") != "?" })

	t.Logf("sent %d bytes; acknowledgements %v; logged bytes=%s", sent, acks, logs.last("bytes"))
	if want := sent / minAckWindow; uint64(len(acks)) != want && uint64(len(acks)) != want-1 {
		t.Fatalf("%d acknowledgements for %d bytes, want one every %d bytes", len(acks), sent, minAckWindow)
	}
	last := uint32(0)
	for _, a := range acks {
		if a-last < minAckWindow || uint64(a) > sent {
			t.Fatalf("acknowledgements %v for %d bytes sent", acks, sent)
		}
		last = a
	}
	if got := logs.last("bytes"); got != strconv.FormatUint(sent, 10) {
		t.Fatalf("publish ended with bytes=%s, the publisher sent %d", got, sent)
	}
}
