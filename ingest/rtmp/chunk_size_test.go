package rtmp

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// TestTinyChunksRefusedWithReason: a publisher at chunk size 1 streams
// small messages, but one that would take more than 81,920 chunks (a
// 200 KB frame) ends the publish at its header, with the reason in the
// log. gortmplib keeps every chunk apart until the message is whole,
// about 32 bytes each once collected and more while they come: a 4 MiB
// frame in 1-byte chunks grew the heap by 211 MB; 81,920 of them hold
// 2.6 MB.
func TestTinyChunksRefusedWithReason(t *testing.T) {
	logs := &logBuffer{}
	s, hub := newTestServer(t, func(s *Server) {
		s.Logger = slog.New(slog.NewTextHandler(logs, nil))
		s.ReadTimeout = 20 * time.Second // cutting 1-byte chunks is slow under the race detector
	})
	p := &testutil.HandPublisher{ChunkSize: 1, Timeout: 10 * time.Second}
	defer p.Close()
	if err := p.Publish("rtmp://" + s.Addr().String() + "/live/" + testKey); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteVideo(0, avcSequenceHeader()); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteVideo(0, avcFrame(true, 0, append([]byte{0x65}, make([]byte, 2000)...))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the small frame", 5*time.Second, func() bool { return hub.Stats().Units == 1 })

	err := p.WriteVideo(33, append([]byte{0x17, 1, 0, 0, 0}, bytes.Repeat([]byte{0}, 200000)...))
	waitFor(t, "publish ended", 20*time.Second, func() bool { return strings.Contains(logs.String(), "publish ended") })
	t.Logf("200 KB frame in 1-byte chunks: the write ended with %v", err)
	if !strings.Contains(logs.String(), "over the limit of 81920 chunks: use a larger chunk size") {
		t.Fatalf("no reason in the log:\n%s", logs.String())
	}
	waitFor(t, "the publisher gone", 5*time.Second, func() bool { return s.Stats().Publishing == 0 })
}

// TestLargeChunkSizesTaken: a publisher may announce any chunk size RTMP
// allows (1 to 2^31-1); above gortmplib's 10 MiB the connection used to
// end without a word. Values with the high bit set are refused, with the
// reason in the (debug) log.
func TestLargeChunkSizesTaken(t *testing.T) {
	logs := &logBuffer{}
	s, hub := newTestServer(t, func(s *Server) {
		s.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	url := "rtmp://" + s.Addr().String() + "/live/" + testKey
	for _, size := range []uint32{1 << 16, maxMessageSize, maxMessageSize + 1, 0xFFFFFF, maxChunkSize} {
		units := hub.Stats().Units
		p := &testutil.HandPublisher{ChunkSize: size}
		if err := p.Publish(url); err != nil {
			t.Fatalf("chunk size %d: %v", size, err)
		}
		for i, body := range [][]byte{avcSequenceHeader(), avcFrame(true, 0, append([]byte{0x65}, make([]byte, 200000)...)), avcFrame(false, 0, []byte{0x41, 1})} {
			if err := p.WriteVideo(uint32(i*33), body); err != nil {
				t.Fatalf("chunk size %d: %v", size, err)
			}
		}
		waitFor(t, "frames", 5*time.Second, func() bool { return hub.Stats().Units == units+2 })
		p.Close()
		waitFor(t, "publisher gone", 5*time.Second, func() bool { return s.Stats().Publishing == 0 })
	}
	for _, size := range []uint32{1 << 31, 0xFFFFFFFF} { // 0: TestChunkRewriterRefuses
		p := &testutil.HandPublisher{ChunkSize: size}
		err := p.Publish(url)
		p.Close()
		if err == nil {
			t.Fatalf("chunk size %d taken", size)
		}
		want := fmt.Sprintf("Set Chunk Size of %d: RTMP allows 1 to 2147483647", size)
		waitFor(t, "the reason in the log", 5*time.Second, func() bool { return strings.Contains(logs.String(), want) })
	}
}
