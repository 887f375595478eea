package packager

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"

	"github.com/kastlive/kast/ingest"
)

// The benchmarks run kast's packager and gohlslib.Muxer (v2.4.5, what
// MediaMTX serves LL-HLS with) on the same input, so `go test -bench`
// prints both side by side: name/kast and name/gohlslib.

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// kastTarget is a packager fed synchronously by the benchmark.
type kastTarget struct {
	srv *Server
	m   *muxer
	fd  *feeder
}

func newKastTarget(tb testing.TB, f *fixture) *kastTarget {
	s := &Server{}
	if err := s.Config.setDefaults(); err != nil {
		tb.Fatal(err)
	}
	m := newMuxer("b", s.Config, discard, &s.metrics, func(*muxer) {}, func(*muxer) bool { return true })
	s.muxers = map[string]*muxer{"b": m}
	if err := m.tl.startSession(f.media); err != nil {
		tb.Fatal(err)
	}
	return &kastTarget{srv: s, m: m, fd: newFeeder(f)}
}

func (k *kastTarget) push() ingest.Kind {
	u := k.fd.next()
	k.m.tl.push(u)
	return u.Kind
}

// gohlslibTarget is a gohlslib.Muxer fed the same way.
type gohlslibTarget struct {
	mux   *gohlslib.Muxer
	video *gohlslib.Track
	audio *gohlslib.Track
	fd    *feeder
}

func newGohlslibTarget(tb testing.TB, f *fixture) *gohlslibTarget {
	g := &gohlslibTarget{
		video: &gohlslib.Track{Codec: &codecs.H264{SPS: f.media.Video.SPS, PPS: f.media.Video.PPS}, ClockRate: 90000},
		audio: &gohlslib.Track{Codec: &codecs.MPEG4Audio{Config: *f.media.Audio.AAC}, ClockRate: f.media.Audio.SampleRate},
		fd:    newFeeder(f),
	}
	g.mux = &gohlslib.Muxer{
		Variant:            gohlslib.MuxerVariantLowLatency,
		SegmentCount:       7,
		SegmentMinDuration: time.Second,
		PartMinDuration:    200 * time.Millisecond,
		Tracks:             []*gohlslib.Track{g.video, g.audio},
	}
	if err := g.mux.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(g.mux.Close)
	return g
}

func (g *gohlslibTarget) push() ingest.Kind {
	u := g.fd.next()
	if u.Kind == ingest.KindVideo {
		g.mux.WriteH264(g.video, u.Received, int64(u.PTS)*90000/int64(time.Second), u.NALUs)
	} else {
		g.mux.WriteMPEG4Audio(g.audio, u.Received, int64(u.PTS)*int64(g.audio.ClockRate)/int64(time.Second), [][]byte{u.Frame})
	}
	return u.Kind
}

type target interface{ push() ingest.Kind }

// BenchmarkIngest measures the packager's ingest path: one op is one video
// frame with the audio that goes with it (about 1.6 AAC frames).
func BenchmarkIngest(b *testing.B) {
	f := loadFixture(b)
	for _, name := range []string{"kast", "gohlslib"} {
		b.Run(name, func(b *testing.B) {
			var t target
			if name == "kast" {
				t = newKastTarget(b, f)
			} else {
				t = newGohlslibTarget(b, f)
			}
			// warm up: 10 s, so that the window is full and pools are primed
			for range 10 * 30 * 3 {
				t.push()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; {
				if t.push() == ingest.KindVideo {
					i++
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// nullWriter is a ResponseWriter that throws the body away.
type nullWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *nullWriter) Header() http.Header { return w.h }
func (w *nullWriter) WriteHeader(s int)   { w.status = s }
func (w *nullWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.n += len(p)
	return len(p), nil
}

func serve(h http.Handler, target string) *nullWriter {
	w := &nullWriter{h: http.Header{}}
	r := &http.Request{Method: "GET", URL: mustURL(target), Header: http.Header{}}
	h.ServeHTTP(w, r)
	return w
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// gohlslibFiles returns the media playlist path and its last part.
func (g *gohlslibTarget) files(tb testing.TB) (playlist, part string) {
	w := &recorder{nullWriter: nullWriter{h: http.Header{}}}
	g.mux.Handle(w, &http.Request{Method: "GET", URL: mustURL("/index.m3u8"), Header: http.Header{}})
	for _, l := range strings.Split(w.body.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			playlist = l
			break
		}
	}
	w = &recorder{nullWriter: nullWriter{h: http.Header{}}}
	g.mux.Handle(w, &http.Request{Method: "GET", URL: mustURL("/" + playlist), Header: http.Header{}})
	for _, l := range strings.Split(w.body.String(), "\n") {
		if strings.HasPrefix(l, "#EXT-X-PART:") {
			i := strings.Index(l, `URI="`)
			part, _, _ = strings.Cut(l[i+5:], `"`)
		}
	}
	if playlist == "" || part == "" {
		tb.Fatalf("gohlslib playlists: %q %q", playlist, part)
	}
	return playlist, part
}

type recorder struct {
	nullWriter
	body strings.Builder
}

func (r *recorder) Write(p []byte) (int, error) { r.body.Write(p); return r.nullWriter.Write(p) }

func (k *kastTarget) files(tb testing.TB) (playlist, part string) {
	snap := k.m.cur.Load()
	last := snap.segments[len(snap.segments)-1]
	if len(last.parts) == 0 {
		last = snap.segments[len(snap.segments)-2]
	}
	return "/b/media.m3u8", string(appendPartName([]byte("/b/"), snap.epoch, last.parts[len(last.parts)-1].n))
}

// BenchmarkServe measures requests/s for the media playlist and for a
// part, many goroutines at once, with the stream not advancing.
func BenchmarkServe(b *testing.B) {
	f := loadFixture(b)
	for _, kind := range []string{"playlist", "part"} {
		for _, name := range []string{"kast", "gohlslib"} {
			b.Run(kind+"/"+name, func(b *testing.B) {
				var h http.Handler
				var playlist, part string
				if name == "kast" {
					k := newKastTarget(b, f)
					for range 5 * 30 * 3 {
						k.push()
					}
					h = k.srv
					playlist, part = k.files(b)
				} else {
					g := newGohlslibTarget(b, f)
					for range 5 * 30 * 3 {
						g.push()
					}
					h = http.HandlerFunc(g.mux.Handle)
					playlist, part = g.files(b)
					playlist, part = "/"+playlist, "/"+part
				}
				path := playlist
				if kind == "part" {
					path = part
				}
				if w := serve(h, path); w.status != 200 {
					b.Fatalf("%s: %d", path, w.status)
				}
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					w := &nullWriter{h: http.Header{}}
					r := &http.Request{Method: "GET", URL: mustURL(path), Header: http.Header{}}
					for pb.Next() {
						clear(w.h)
						w.status = 0
						h.ServeHTTP(w, r)
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		}
	}
}

// BenchmarkWakeup measures what it costs to release N blocked playlist
// requests when the part they wait for is published: one op is one
// round (N requests block, frames are written until the part closes, all
// N responses are written). ns/waiter is the figure to compare.
func BenchmarkWakeup(b *testing.B) {
	f := loadFixture(b)
	for _, n := range []int{1000, 10000} {
		for _, name := range []string{"kast", "gohlslib"} {
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				var t target
				var h http.Handler
				var next func() string
				var blocked func() int64
				if name == "kast" {
					k := newKastTarget(b, f)
					t, h = k, k.srv
					next = func() string {
						s := k.m.cur.Load()
						return fmt.Sprintf("/b/media.m3u8?_HLS_msn=%d&_HLS_part=%d", s.msn, s.parts)
					}
					blocked = func() int64 { return k.srv.metrics.blocked.Load() }
				} else {
					g := newGohlslibTarget(b, f)
					t, h = g, http.HandlerFunc(g.mux.Handle)
					for range 5 * 30 * 3 {
						g.push()
					}
					pl, _ := g.files(b)
					next = func() string {
						w := &recorder{nullWriter: nullWriter{h: http.Header{}}}
						g.mux.Handle(w, &http.Request{Method: "GET", URL: mustURL("/" + pl), Header: http.Header{}})
						msn, part := nextPart(w.body.String())
						return fmt.Sprintf("/%s?_HLS_msn=%d&_HLS_part=%d", pl, msn, part)
					}
				}
				for range 5 * 30 * 3 {
					t.push()
				}
				b.ResetTimer()
				var blockedFor time.Duration
				for range b.N {
					b.StopTimer()
					target := next()
					var wg sync.WaitGroup
					wg.Add(n)
					for range n {
						go func() {
							defer wg.Done()
							if w := serve(h, target); w.status != 200 {
								b.Errorf("%s: %d", target, w.status)
							}
						}()
					}
					// let them block
					waitStart := time.Now()
					for blocked != nil && blocked() < int64(n) && time.Since(waitStart) < 10*time.Second {
						time.Sleep(time.Millisecond)
					}
					if blocked == nil {
						time.Sleep(time.Duration(n/1000+1) * 50 * time.Millisecond)
					}
					b.StartTimer()
					start := time.Now()
					for target == next() {
						t.push()
					}
					wg.Wait()
					blockedFor += time.Since(start)
				}
				b.ReportMetric(float64(blockedFor.Nanoseconds())/float64(b.N*n), "ns/waiter")
			})
		}
	}
}

// nextPart returns the _HLS_msn/_HLS_part of the part after the last one
// listed in a playlist.
func nextPart(pl string) (msn, part int) {
	segs := 0
	for _, l := range strings.Split(pl, "\n") {
		switch {
		case strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"):
			fmt.Sscan(strings.TrimPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"), &msn)
		case strings.HasPrefix(l, "#EXTINF:"):
			segs++
			part = 0
		case strings.HasPrefix(l, "#EXT-X-PART:"):
			part++
		}
	}
	return msn + segs, part
}
