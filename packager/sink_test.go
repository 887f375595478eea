package packager

import (
	"bytes"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
)

// sinkRecorder keeps what the packager hands a SegmentSink.
type sinkRecorder struct {
	events   []string
	segments []SinkSegment
}

func (s *sinkRecorder) TimelineStarted(tl SinkTimeline) {
	s.events = append(s.events, "start")
}

func (s *sinkRecorder) SegmentCompleted(seg SinkSegment) {
	s.events = append(s.events, "seg")
	s.segments = append(s.segments, seg)
}

func (s *sinkRecorder) TimelineEnded(SinkTimeline) { s.events = append(s.events, "end") }

// TestSinkGetsEverySegment feeds two sessions (a reconnect) and checks the
// sink saw each segment once, in order, with the bytes viewers are served.
func TestSinkGetsEverySegment(t *testing.T) {
	rec := &sinkRecorder{}
	cfg := Config{}
	if err := cfg.setDefaults(); err != nil {
		t.Fatal(err)
	}
	tl := newTimeline(cfg, discard, func() {})
	tl.rec = &sinkHook{sink: rec, track: "main", epoch: "e"}
	for range 2 {
		if err := tl.startSession(ingest.Media{Video: testVideo}); err != nil {
			t.Fatal(err)
		}
		for i := range 90 { // 3 s at 30 fps, keyframe every second
			pushVideo(tl, time.Duration(i)*time.Second/30, i%30 == 0)
		}
		tl.endSession()
	}
	want := "start seg seg seg end start seg seg seg end"
	if got := joinEvents(rec.events); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i, seg := range rec.segments {
		var b bytes.Buffer
		for _, buf := range seg.Buffers {
			b.Write(buf)
		}
		if b.Len() != seg.Size || seg.Size == 0 {
			t.Fatalf("segment %d: %d bytes in buffers, size %d", i, b.Len(), seg.Size)
		}
		if seg.MSN != i || seg.Discontinuity != (i == 3) || seg.Timeline.InitID != 1+i/3 {
			t.Fatalf("segment %d: msn %d disc %v init %d", i, seg.MSN, seg.Discontinuity, seg.Timeline.InitID)
		}
		if i > 0 && seg.Start != rec.segments[i-1].Start+rec.segments[i-1].Duration {
			t.Fatalf("segment %d starts at %v, previous ended at %v", i, seg.Start, rec.segments[i-1].Start+rec.segments[i-1].Duration)
		}
		if !bytes.Equal(seg.Timeline.Init, tl.inits[seg.Timeline.InitID]) {
			t.Fatalf("segment %d: init bytes differ", i)
		}
	}
}

func joinEvents(ev []string) string {
	var b bytes.Buffer
	for i, e := range ev {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e)
	}
	return b.String()
}
