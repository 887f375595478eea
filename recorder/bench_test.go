package recorder

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kastlive/kast/packager"
)

// captureSink keeps the segments the packager hands over.
type captureSink struct{ segs []packager.SinkSegment }

func (c *captureSink) TimelineStarted(packager.SinkTimeline) {}
func (c *captureSink) TimelineEnded(packager.SinkTimeline)   {}
func (c *captureSink) SegmentCompleted(s packager.SinkSegment) {
	c.segs = append(c.segs, s)
}

// cpuTime is this process's user+system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWriteSegment is the recorder's whole cost per segment of a
// 2.5 Mbit/s track (the bench clip: 1 s segments of ~340 kB): queueing,
// writing the file, fdatasync, the index line and its fdatasync. At one
// segment a second, cpu-ms/segment divided by 10 is the percentage of a
// core recording takes per track (target: <= 2 %).
func BenchmarkWriteSegment(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("fsync=%v", sync), func(b *testing.B) {
			c := loadClip(b)
			cap := &captureSink{}
			g := &rig{clip: c}
			g.hub, g.hls = newCaptureHub(b, cap)
			g.publish(b, "main", t0, 12*time.Second)
			deadline := time.Now().Add(10 * time.Second)
			for len(cap.segs) < 10 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			g.hls.Close()
			if len(cap.segs) < 10 {
				b.Fatalf("%d segments captured", len(cap.segs))
			}
			dir := b.TempDir()
			r := &Recorder{Dir: dir, NoSync: !sync, MinFree: -1, Logger: testLog, Queue: 1 << 20}
			if err := r.Initialize(); err != nil {
				b.Fatal(err)
			}
			size := 0
			for _, s := range cap.segs {
				size += s.Size
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := range b.N {
				s := cap.segs[i%len(cap.segs)]
				s.MSN = i
				r.SegmentCompleted(s)
				if i%64 == 63 { // keep the queue short, as real time does
					for r.Stats().Segments+r.Stats().Dropped < uint64(i+1) {
						time.Sleep(100 * time.Microsecond)
					}
				}
			}
			for r.Stats().Segments+r.Stats().Dropped < uint64(b.N) {
				time.Sleep(100 * time.Microsecond)
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			if st := r.Stats(); st.Dropped > 0 {
				b.Fatalf("dropped %d", st.Dropped)
			}
			r.Close()
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/segment")
			b.ReportMetric(float64(size)/float64(len(cap.segs)), "bytes/segment")
			os.RemoveAll(filepath.Join(dir, "tracks"))
		})
	}
}
