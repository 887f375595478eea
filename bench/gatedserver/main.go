// Command gatedserver runs kast's media path (RTMP ingest, the packager,
// the HTTP server with its fast path) with the playback gate in front of
// HLS, its one track belonging to a registered event, so that the bench
// measures what the gate costs per viewer:
//
//	go run ./bench/gatedserver -rtmp 127.0.0.1:1938 -http 127.0.0.1:8083
//	go run ./bench -rtmp rtmp://127.0.0.1:1938/live/bench \
//	    -hls http://127.0.0.1:8083/hls/bench/index.m3u8 \
//	    -header "Cookie: kast_play=TOKEN" -server-pid PID ...
//
// With -open the event is public (the gate passes every request after its
// track lookup), the baseline. It prints its PID, the URLs and a token
// valid for a day, and stops on SIGINT/SIGTERM.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/rtmp"
	"github.com/kastlive/kast/packager"
	"github.com/kastlive/kast/store/sqlite"
	"github.com/kastlive/kast/web"
	"github.com/kastlive/kast/web/gate"
)

type oneTrack struct{ registered bool }

func (o oneTrack) TrackAccess(context.Context) ([]conference.TrackAccess, error) {
	return []conference.TrackAccess{{Track: "bench", TrackID: 1, EventID: 1, EventSlug: "bench", Access: access(o.registered)}}, nil
}

func main() {
	rtmpAddr := flag.String("rtmp", "127.0.0.1:1938", "RTMP listen address")
	httpAddr := flag.String("http", "127.0.0.1:8083", "HTTP listen address")
	open := flag.Bool("open", false, "public event: no credential needed")
	noGate := flag.Bool("no-gate", false, "no gate at all (kast before it)")
	flag.Parse()

	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, err := os.MkdirTemp("", "kast-gated-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(filepath.Join(dir, "kast.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Bootstrap(ctx, conference.BootstrapOptions{}); err != nil {
		log.Fatal(err)
	}
	hub := &ingest.Hub{}
	pk := &packager.Server{Hub: hub, Logger: logger}
	if err := pk.Initialize(); err != nil {
		log.Fatal(err)
	}
	rs := &rtmp.Server{Address: *rtmpAddr, Hub: hub, Logger: logger,
		Authorize: func(context.Context, string) (string, error) { return "bench", nil }}
	if err := rs.Initialize(); err != nil {
		log.Fatal(err)
	}
	// Every bench viewer comes from 127.0.0.1: no per-source limit.
	ws := &web.Server{Address: *httpAddr, Store: st, Hub: hub, Packager: pk, Logger: logger, ConnsPerSource: -1}
	var tok string
	if !*noGate {
		d := &gate.Directory{Source: oneTrack{registered: !*open}, Logger: logger}
		if err := d.Initialize(ctx); err != nil {
			log.Fatal(err)
		}
		signer, err := gate.LoadSigner(ctx, st)
		if err != nil {
			log.Fatal(err)
		}
		ws.Gate = &gate.Gate{Signer: signer, Directory: d}
		tok = signer.Issue(gate.Claims{EventID: 1, Session: gate.RefOf(rand.Text()), Expires: time.Now().Add(24 * time.Hour)})
	}
	if err := ws.Initialize(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("pid %d\nrtmp://%s/live/bench\nhttp://%s/hls/bench/index.m3u8\ntoken %s\n", os.Getpid(), rs.Addr(), ws.Addr(), tok)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	rs.Close()
	pk.Close()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ws.Shutdown(sctx)
}

// access is the access mode of a registered (or public) event.
func access(registered bool) conference.Access {
	if registered {
		return conference.AccessRegistered
	}
	return conference.AccessPublic
}
