// Command bench is kast's load and latency harness. It speaks only standard
// protocols, so one run can measure kast, nginx-rtmp, MediaMTX or the
// gohlslib.Muxer baseline (bench/gohlslibserver) the same way.
//
// A publisher pushes a shipped H.264/AAC clip (bench/testdata, looped with
// continuous timestamps) over RTMP at real time, inserting into every video
// access unit an SEI (user data unregistered, a fixed UUID) that carries the
// wall-clock send time. N viewers fetch the HLS playlists and media, read
// the SEI of each frame as its bytes arrive and record delivery latency =
// receive time - send time, time to first frame, gaps, stalls and errors.
//
// Usage:
//
//	go run ./bench -rtmp rtmp://127.0.0.1:1935/live/bench \
//	    -hls http://127.0.0.1:8080/live/bench/index.m3u8 -viewers 500 -ramp 10s -duration 30s
//
// Flags:
//
//	-rtmp URL          publish there (omit to only watch a stream published elsewhere);
//	                   rtmp://host/app/key publishes key on app (or rtmp://host/app#key)
//	-hls URL           the multivariant or media playlist URL
//	-viewers N         number of viewers (0: publish only)
//	-client KIND       hlsjs:   LL-HLS like hls.js: blocking reloads (_HLS_msn/_HLS_part),
//	                            each part fetched once it is listed
//	                   apple:   like hlsjs, and the EXT-X-PRELOAD-HINT part is requested at
//	                            once and read as it streams (Apple players)
//	                   classic: playlist polled every target duration / 2, whole segments
//	                            (MPEG-TS or fMP4), for servers without LL-HLS (nginx-rtmp)
//	-ramp D            viewers join evenly spread over D (default 0: all at once)
//	-duration D        total measuring time, ramp included (default 20s)
//	-bitrate R         source bitrate, e.g. 2500k or 2.5M (default 2500k): picks the shipped
//	                   clip (600k or 2500k) and pads with filler NAL units above it
//	-server-pid PID    sample the CPU time and RSS of the server (and its child processes,
//	                   e.g. nginx workers) from /proc every second
//	                   whep:    WebRTC (pion) viewers POSTing to the -whep endpoint; the first
//	                            -whep-sample of them (default 20) decrypt their media and read
//	                            the SEIs for delivery latency, the others complete ICE/DTLS and
//	                            count packets from the clear RTP headers (loss, frames, stalls)
//	-json              print a JSON object instead of the table
//	-report FILE.html  write a self-contained HTML report (inline SVG charts)
//	-wait D            how long to wait for the stream to appear (default 30s)
//	-timeout D         per-request timeout (default 10s)
//	-header "K: V"     extra header on every HLS request (repeatable), e.g. a cookie
//	-cpuprofile FILE   write the bench's own CPU profile (go tool pprof)
//	-origin-metrics URL  the origin's Prometheus /metrics: report how many requests reach it
//	                   per second once every viewer has joined (viewers behind a cache);
//	                   -origin-counter names the counter (default kast_hls_requests_total)
//	-insecure          https: accept any server certificate
//	-http2             https: viewers speak HTTP/2 (one connection each) instead of HTTP/1.1
//	-http2-go-flow     with -http2: give the server its windows back as Go's client does
//	                   (every 4 KB read) instead of as Chromium does (h2flow.go)
//
// Viewers start once the newest listed part or segment holds a frame of this
// publish ("first playlist", measured from the publish start), so a stale
// playlist left by an earlier publish is not mistaken for the stream.
// Frames already old when a viewer joins (the parts or segment it starts
// with) count for time to first frame but not for delivery latency. A stall
// is a gap between new frames at one viewer longer than two part targets
// (LL-HLS) or two target durations (classic), or such a gap at the end.
// server_cpu_s_per_viewer_s is the server's CPU time during the run divided
// by the viewer-seconds served (it includes the cost of ingesting the
// publish). The exit status is 1 when publishing failed or, with viewers,
// when no viewer received a frame.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is what the flags select.
type config struct {
	rtmpURL   string
	hlsURL    string
	viewers   int
	client    string
	ramp      time.Duration
	duration  time.Duration
	bitrate   int
	serverPID int
	json      bool
	report    string
	wait      time.Duration
	timeout   time.Duration
	header    string
	origin    originCounter
	insecure  bool // https: accept any certificate
	http2     bool // https: HTTP/2 instead of HTTP/1.1
	goFlow    bool // with http2: Go's WINDOW_UPDATEs, not a browser's

	whepURL    string
	whepSample int
}

func main() {
	var cfg config
	var bitrate string
	flag.StringVar(&cfg.rtmpURL, "rtmp", "", "RTMP URL to publish to (omit to only watch)")
	flag.StringVar(&cfg.hlsURL, "hls", "", "multivariant or media playlist URL")
	flag.StringVar(&cfg.whepURL, "whep", "", "WHEP endpoint URL (with -client whep), e.g. http://127.0.0.1:8080/whep/main")
	flag.IntVar(&cfg.whepSample, "whep-sample", 20, "WHEP viewers that decrypt their media and measure latency; the others count packets")
	flag.IntVar(&cfg.viewers, "viewers", 10, "number of viewers")
	flag.StringVar(&cfg.client, "client", clientHLSJS, "viewer kind: hlsjs, apple, classic or whep")
	flag.DurationVar(&cfg.ramp, "ramp", 0, "spread viewer joins over this time")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "total measuring time (ramp included)")
	flag.StringVar(&bitrate, "bitrate", "2500k", "source bitrate (e.g. 2500k, 2.5M)")
	flag.IntVar(&cfg.serverPID, "server-pid", 0, "server PID to sample CPU and RSS from /proc")
	flag.BoolVar(&cfg.json, "json", false, "print JSON instead of a table")
	flag.StringVar(&cfg.report, "report", "", "write an HTML report to this file")
	flag.DurationVar(&cfg.wait, "wait", 30*time.Second, "how long to wait for the stream to appear")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "per-request timeout")
	var headers headerList
	flag.Var(&headers, "header", `extra request header for every HLS request, e.g. "Cookie: kast_play=TOKEN" (repeatable)`)
	flag.StringVar(&cfg.origin.url, "origin-metrics", "", "the origin's /metrics URL: report the requests reaching it (viewers behind a cache)")
	flag.StringVar(&cfg.origin.name, "origin-counter", "kast_hls_requests_total", "with -origin-metrics: the counter of requests served")
	flag.BoolVar(&cfg.insecure, "insecure", false, "https: accept any server certificate (a test certificate)")
	flag.BoolVar(&cfg.http2, "http2", false, "https: viewers speak HTTP/2 (one connection each, like browsers) instead of HTTP/1.1")
	flag.BoolVar(&cfg.goFlow, "http2-go-flow", false, "with -http2: WINDOW_UPDATE every 4 KB read, as Go's client does, instead of as Chromium does")
	cpuProfile := flag.String("cpuprofile", "", "write the bench's own CPU profile to this file")
	flag.Parse()
	cfg.header = headers.String()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	var err error
	if cfg.bitrate, err = parseBitrate(bitrate); err != nil {
		fatal(err)
	}
	if cfg.client == clientWHEP {
		if cfg.whepURL == "" && cfg.viewers > 0 {
			fatal(errors.New("-whep is required with -client whep"))
		}
	} else if cfg.hlsURL == "" && cfg.viewers > 0 {
		fatal(errors.New("-hls is required with viewers"))
	}
	if cfg.rtmpURL == "" && cfg.viewers == 0 {
		fatal(errors.New("nothing to do: give -rtmp and/or -viewers"))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, os.Stderr)
	if res != nil {
		if cfg.json {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			enc.Encode(res)
		} else {
			printTable(os.Stdout, res)
		}
		if cfg.report != "" {
			if werr := writeHTMLReport(cfg.report, res); werr != nil {
				fmt.Fprintln(os.Stderr, "bench:", werr)
			}
		}
	}
	if err != nil {
		pprof.StopCPUProfile()
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// parseBitrate reads "2500000", "2500k" or "2.5M" as bit/s.
func parseBitrate(s string) (int, error) {
	mult := 1.0
	t := strings.TrimSpace(s)
	switch {
	case strings.HasSuffix(t, "k"), strings.HasSuffix(t, "K"):
		mult, t = 1e3, t[:len(t)-1]
	case strings.HasSuffix(t, "M"), strings.HasSuffix(t, "m"):
		mult, t = 1e6, t[:len(t)-1]
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("bad -bitrate %q", s)
	}
	return int(v * mult), nil
}

// logf writes progress lines (to stderr from main).
func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// headerList collects -header flags as request header lines.
type headerList []string

func (h *headerList) String() string {
	s := ""
	for _, v := range *h {
		s += v + "\r\n"
	}
	return s
}

func (h *headerList) Set(v string) error {
	k, _, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(v, "\r\n") {
		return fmt.Errorf("-header %q: want \"Name: value\"", v)
	}
	*h = append(*h, v)
	return nil
}
