package ladder_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// BenchmarkRenditionsCPU publishes 720p30 at 2.5 Mbit/s over RTMP (the
// bench publisher's settings, x264 zerolatency) for 25 s and measures, over
// 15 s once the playlist is up, the CPU of kast's own process (RTMP
// ingest, the packager with its rendition followers, the ladder's pipes;
// the test binary, without the ffmpeg children) and of the ladder's ffmpeg,
// in percent of one core: without renditions, and with 480p+360p at
// x264 veryfast.
//
//	go test -run XXX -bench RenditionsCPU -benchtime 1x ./internal/ladder/
func BenchmarkRenditionsCPU(b *testing.B) {
	for _, rungs := range []string{"", "480p,360p"} {
		name := "source-only"
		if rungs != "" {
			name = rungs
		}
		b.Run(name, func(b *testing.B) {
			var self, ladder, wall time.Duration
			for b.Loop() {
				r := newRig(b, rungs, nil)
				testutil.StartPublish(b, testutil.Publish{URL: r.publishURL(), Duration: 25 * time.Second})
				want := 1
				if rungs != "" {
					want = 3
				}
				r.multivariant(want, 20*time.Second)
				s0, l0, t0 := selfCPU(b), ladderCPU(r), time.Now()
				time.Sleep(15 * time.Second)
				self += selfCPU(b) - s0
				ladder += ladderCPU(r) - l0
				wall += time.Since(t0)
			}
			b.ReportMetric(100*self.Seconds()/wall.Seconds(), "kast-cpu-%")
			b.ReportMetric(100*ladder.Seconds()/wall.Seconds(), "ffmpeg-cpu-%")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func ladderCPU(r *rig) time.Duration {
	if r.ladder == nil {
		return 0
	}
	return r.ladder.Stats().CPU
}

func selfCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
