// Command gohlslibserver serves RTMP in -> gohlslib.Muxer LL-HLS out (200 ms
// parts, 1 s segments), the in-process baseline the bench compares kast with:
//
//	go run ./bench/gohlslibserver -rtmp 127.0.0.1:1937 -http 127.0.0.1:8082
//	go run ./bench -rtmp rtmp://127.0.0.1:1937/live/bench \
//	    -hls http://127.0.0.1:8082/live/index.m3u8 -server-pid PID ...
//
// It prints its PID and URLs, and stops on SIGINT/SIGTERM.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kastlive/kast/bench/internal/llserver"
)

func main() {
	rtmpAddr := flag.String("rtmp", "127.0.0.1:1937", "RTMP listen address")
	httpAddr := flag.String("http", "127.0.0.1:8082", "HTTP listen address")
	part := flag.Duration("part", 200*time.Millisecond, "part duration")
	seg := flag.Duration("segment", time.Second, "segment duration")
	flag.Parse()

	s := &llserver.Server{RTMPAddr: *rtmpAddr, HTTPAddr: *httpAddr, PartDuration: *part, SegmentDuration: *seg}
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("pid %d\nrtmp://%s/live/bench\nhttp://%s/live/index.m3u8\n", os.Getpid(), s.RTMPListenAddr(), s.HTTPListenAddr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	s.Close()
}
