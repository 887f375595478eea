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
// Output(); first-ms: from Write of the frame holding the packet's first
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
		res := collect(tr.Output())
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

// BenchmarkVideoReencoder720p30 re-encodes 10 s of 720p30 H.264 at
// 2.5 Mbit/s with B-frames (OBS's x264 default, bframes=2) in real time and
// reports the latency per picture (Write of an input picture to its
// re-encoded picture on Output()) and ffmpeg's CPU in percent of one core.
// The bitrate is given, so nothing is measured before ffmpeg starts.
//
//	go test -run XXX -bench VideoReencoder -benchtime 1x ./internal/transcode/
func BenchmarkVideoReencoder720p30(b *testing.B) {
	for _, bf := range []int{2, 0} {
		b.Run("bframes="+itoa(bf), func(b *testing.B) {
			clip := makeH264(b, "1280x720", 30, bf, "2500k", 10*time.Second)
			var lat []float64
			var cpu, wall time.Duration
			var outBytes, inBytes int
			for b.Loop() {
				v := &VideoReencoder{Input: clip.video, Bitrate: 2_500_000}
				if err := v.Initialize(); err != nil {
					b.Fatal(err)
				}
				written := map[time.Duration]time.Time{}
				res := collect(v.Output())
				start := time.Now()
				for _, u := range clip.units {
					time.Sleep(time.Until(start.Add(u.DTS - clip.units[0].DTS)))
					written[u.PTS] = time.Now()
					v.Write(u)
				}
				time.Sleep(300 * time.Millisecond)
				st := v.Stats()
				wall += time.Since(start)
				cpu += st.CPU
				v.Close()
				out := <-res
				if st.DroppedIn+st.DroppedOut+st.Invalid+st.Lost != 0 {
					b.Fatalf("stats %+v", st)
				}
				for _, u := range out[30:] { // past ffmpeg's start
					lat = append(lat, ms(u.Received.Sub(written[u.PTS])))
				}
				for _, u := range out {
					outBytes += u.Size()
				}
				inBytes += clip.bytes
			}
			b.ReportMetric(percentile(lat, 50), "latency-ms-p50")
			b.ReportMetric(percentile(lat, 99), "latency-ms-p99")
			b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
			b.ReportMetric(float64(outBytes)/float64(inBytes), "out/in-bytes")
			b.ReportMetric(0, "ns/op")
		})
	}
}
