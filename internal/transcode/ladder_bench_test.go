package transcode

import (
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
)

// BenchmarkLadder720p30 encodes 10 s of 720p30 H.264 at 2.5 Mbit/s (the
// bench publisher's settings) into renditions in real time, one ffmpeg,
// x264 veryfast zerolatency, and reports ffmpeg's CPU in percent of one
// core, the latency per picture (Write of an input picture to its
// rendition picture on Output(), p50 and p99 over every rendition) and each
// rendition's bitrate. Sub-benchmarks: the 480p+360p ladder, each rung
// alone, with the input without B-frames (x264 zerolatency, as OBS sends
// with the zerolatency tune) and with two (OBS's x264 default).
//
//	go test -run XXX -bench 'Ladder720p30' -benchtime 1x ./internal/transcode/
func BenchmarkLadder720p30(b *testing.B) {
	r480 := Rung{Name: "480p", Height: 480, Bitrate: 1_250_000}
	r360 := Rung{Name: "360p", Height: 360, Bitrate: 700_000}
	for _, bf := range []int{0, 2} {
		clip := makeH264(b, "1280x720", 30, bf, "2500k", 10*time.Second)
		for _, rungs := range [][]Rung{{r480, r360}, {r480}, {r360}} {
			var names []string
			for _, r := range rungs {
				names = append(names, r.Name)
			}
			b.Run("bframes="+itoa(bf)+"/"+strings.Join(names, "+"), func(b *testing.B) {
				benchLadder(b, clip, rungs)
			})
		}
	}
}

func benchLadder(b *testing.B, clip h264Clip, rungs []Rung) {
	var lat []float64
	var cpu, wall time.Duration
	outBytes := make([]int, len(rungs))
	for b.Loop() {
		l := &Ladder{Input: clip.video, Rungs: rungs, FrameRate: 30}
		if err := l.Initialize(); err != nil {
			b.Fatal(err)
		}
		written := map[time.Duration]time.Time{}
		var res []<-chan []*ingest.Unit
		for i := range rungs {
			res = append(res, collect(l.Output(i)))
		}
		start := time.Now()
		for _, u := range clip.units {
			time.Sleep(time.Until(start.Add(u.DTS - clip.units[0].DTS)))
			written[u.PTS] = time.Now()
			l.Write(u)
		}
		time.Sleep(300 * time.Millisecond)
		st := l.Stats()
		wall += time.Since(start)
		cpu += st.CPU
		l.Close()
		if st.DroppedIn+st.DroppedOut+st.Invalid+st.Lost != 0 {
			b.Fatalf("stats %+v", st)
		}
		for i, ch := range res {
			out := <-ch
			for _, u := range out[30:] { // past ffmpeg's start
				lat = append(lat, ms(u.Received.Sub(written[u.PTS])))
			}
			for _, u := range out {
				outBytes[i] += u.Size()
			}
		}
	}
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%")
	b.ReportMetric(percentile(lat, 50), "latency-ms-p50")
	b.ReportMetric(percentile(lat, 99), "latency-ms-p99")
	for i, r := range rungs {
		b.ReportMetric(float64(outBytes[i]*8)/1000/(float64(b.N)*clipSeconds), r.Name+"-kbit/s")
	}
	b.ReportMetric(0, "ns/op")
}

const clipSeconds = 10
