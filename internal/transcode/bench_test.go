package transcode

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkAACToOpusRealtime streams 10 s of 48 kHz stereo AAC through
// the transcoder in real time, as a publisher does, and reports the added
// latency and ffmpeg's CPU. Run it with -benchtime=1x:
//
//	go test -run XXX -bench AACToOpus -benchtime 1x ./internal/transcode/
//
// complete-ms: from Write of the AAC frame that completes an Opus packet
// (its last sample plus the encoder's 2.5 ms look-ahead) to the packet on
// Units(); first-ms: from Write of the frame holding the packet's first
// sample. cpu-%: ffmpeg's CPU time over the run's wall time, in percent of
// one core.
func BenchmarkAACToOpusRealtime(b *testing.B) {
	clip := makeAAC(b, "sine=frequency=440:sample_rate=48000", 48000, 2, 10*time.Second)
	const base = 10 * time.Second
	var complete, first []float64
	var cpu, wall time.Duration
	for b.Loop() {
		tr := &AACToOpus{Input: clip.audio}
		if err := tr.Initialize(); err != nil {
			b.Fatal(err)
		}
		in := clip.units(base)
		written := make([]time.Time, len(in))
		res := collect(tr.Units())
		start := time.Now()
		for i, u := range in {
			time.Sleep(time.Until(start.Add(time.Duration(i) * clip.frame)))
			written[i] = time.Now()
			tr.Write(u)
		}
		time.Sleep(100 * time.Millisecond)
		st := tr.Stats()
		wall += time.Since(start)
		cpu += st.CPU
		tr.Close()
		out := <-res
		if st.DroppedIn+st.DroppedOut+st.Invalid != 0 {
			b.Fatalf("stats %+v", st)
		}
		frameAt := func(pts time.Duration) int {
			return min(max(int((pts-base)/clip.frame), 0), len(in)-1)
		}
		for _, u := range out[5:] { // past ffmpeg's start
			lastSample := u.PTS + 20*time.Millisecond + 2500*time.Microsecond - time.Microsecond
			complete = append(complete, ms(u.Received.Sub(written[frameAt(lastSample)])))
			first = append(first, ms(u.Received.Sub(written[frameAt(u.PTS)])))
		}
	}
	b.ReportMetric(percentile(complete, 50), "complete-ms-p50")
	b.ReportMetric(percentile(complete, 99), "complete-ms-p99")
	b.ReportMetric(percentile(first, 50), "first-ms-p50")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
	b.ReportMetric(0, "ns/op")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(int(float64(len(s))*p/100), len(s)-1)]
}
