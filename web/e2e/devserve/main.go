// Command devserve serves the viewer pages for one track, "main", with its
// HLS files read from a directory (for example ffmpeg's -f hls output), so
// the watch page can be tried without the kast server:
//
//	ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine \
//	  -c:v libx264 -g 30 -c:a aac -f hls -hls_time 1 -hls_segment_type fmp4 /tmp/x/index.m3u8
//	go run ./web/e2e/devserve -hls /tmp/x -addr 127.0.0.1:8080
//	open http://127.0.0.1:8080/watch/main
//
// With -llhls it runs ffmpeg itself and serves real LL-HLS (200 ms parts)
// through gohlslib.Muxer, video only.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web"
	"github.com/kastlive/kast/web/pages"
)

// track is the single track served.
var track = conference.Track{ID: 1, EventID: 1, Slug: "main", Title: "Main stage"}

// oneTrack is a pages.TrackLookup holding track.
type oneTrack struct{}

func (oneTrack) TrackBySlug(_ context.Context, slug string) (conference.Track, error) {
	if slug == track.Slug {
		return track, nil
	}
	return conference.Track{}, conference.ErrNotFound
}

func (oneTrack) Tracks(context.Context) ([]conference.Track, error) {
	return []conference.Track{track}, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	dir := flag.String("hls", "/tmp/x", "directory holding index.m3u8 and its segments")
	llhls := flag.Bool("llhls", false, "instead of -hls, run ffmpeg and serve its video as LL-HLS (gohlslib.Muxer)")
	size := flag.String("size", "1280x720", "with -llhls: picture size")
	fps := flag.Int("fps", 30, "with -llhls: frame rate")
	flag.Parse()
	var src http.Handler
	if *llhls {
		src = http.StripPrefix("/hls/main", serveLLHLS(context.Background(), *size, *fps))
		log.Printf("devserve: http://%s/watch/main (LL-HLS from ffmpeg testsrc2)", *addr)
	} else {
		src = http.StripPrefix("/hls/main/", http.FileServer(http.Dir(*dir)))
		log.Printf("devserve: http://%s/watch/main (HLS from %s)", *addr, *dir)
	}
	mux := web.Routes(web.Handlers{
		HLS: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			src.ServeHTTP(w, r)
		}),
		Pages: &pages.Handler{Tracks: oneTrack{}},
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
