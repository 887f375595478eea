package rtmp

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// TestTinyChunksRefusedWithReason: a publisher at chunk size 1 streams
// small messages, but one that would take more than 81,920 chunks ends
// the publish at its header, with the reason in the log. gortmplib keeps
// every chunk apart until the message is whole, about 32 bytes each once
// collected and more while they come: a 4 MiB frame in 1-byte chunks
// grew the heap by 211 MB; 81,920 of them hold 2.6 MB.
func TestTinyChunksRefusedWithReason(t *testing.T) {
	logs := &logBuffer{}
	s, hub := newTestServer(t, func(s *Server) { s.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
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

	err := p.WriteVideo(33, append([]byte{0x17, 1, 0, 0, 0}, bytes.Repeat([]byte{0}, 4<<20-5)...))
	waitFor(t, "publish ended", 10*time.Second, func() bool { return strings.Contains(logs.String(), "publish ended") })
	t.Logf("4 MiB frame in 1-byte chunks: the write ended with %v", err)
	if !strings.Contains(logs.String(), "over the limit of 81920 chunks: use a larger chunk size") {
		t.Fatalf("no reason in the log:\n%s", logs.String())
	}
	waitFor(t, "the publisher gone", 5*time.Second, func() bool { return s.Stats().Publishing == 0 })
}
