package packager

import (
	"testing"

	"github.com/kastlive/kast/ingest"
)

// chanSink queues segments for a goroutine that drops them: what the
// recorder does in the muxer goroutine, without the disk.
type chanSink struct{ ch chan SinkSegment }

func (c chanSink) TimelineStarted(SinkTimeline) {}
func (c chanSink) TimelineEnded(SinkTimeline)   {}
func (c chanSink) SegmentCompleted(s SinkSegment) {
	select {
	case c.ch <- s:
	default:
	}
}

// BenchmarkIngestSink is BenchmarkIngest/kast with and without a
// SegmentSink: the cost recording adds to the live path, per frame.
func BenchmarkIngestSink(b *testing.B) {
	f := loadFixture(b)
	for _, withSink := range []bool{false, true} {
		name := "none"
		if withSink {
			name = "queue"
		}
		b.Run(name, func(b *testing.B) {
			k := newKastTarget(b, f)
			if withSink {
				sink := chanSink{ch: make(chan SinkSegment, 16)}
				done := make(chan struct{})
				go func() {
					for range sink.ch {
					}
					close(done)
				}()
				defer func() { close(sink.ch); <-done }()
				k.m.tl.rec = &sinkHook{sink: sink, track: "b", epoch: k.m.epoch}
				k.m.tl.rec.cur.InitID = k.m.tl.sess.initID
			}
			for range 10 * 30 * 3 {
				k.push()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; {
				if k.push() == ingest.KindVideo {
					i++
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
