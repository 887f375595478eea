package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
)

// benchSummary and benchResult are the parts of the bench's -json output
// the day reads.
type benchSummary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

type benchPoint struct {
	T       float64 `json:"t"`
	Viewers int64   `json:"viewers"`
	Frames  uint64  `json:"frames"`
	Errors  uint64  `json:"errors"`
	Stalls  uint64  `json:"stalls"`
}

type benchResult struct {
	Viewers           int               `json:"viewers"`
	ViewersWithFrames int64             `json:"viewers_with_frames"`
	Errors            uint64            `json:"errors"`
	ErrorsByKind      map[string]uint64 `json:"errors_by_kind"`
	Stalls            uint64            `json:"stalls"`
	Frames            uint64            `json:"frames"`
	DeliveryLatency   benchSummary      `json:"delivery_latency_ms"`
	TTFF              benchSummary      `json:"ttff_ms"`
	RTPPackets        uint64            `json:"rtp_packets"`
	RTPLost           uint64            `json:"rtp_lost"`
	Series            []benchPoint      `json:"series"`
}

// wave is a group of bench viewers that join together (spread over a
// ramp) and leave together.
type wave struct {
	kind    string // "hls" or "whep"
	track   string
	viewers int
	dur     time.Duration
	started time.Time

	listed time.Time // when its viewers started (the bench's "stream is listed")
	res    *benchResult
	err    string
}

func (w *wave) run(ctx context.Context, benchBin string, s *server) {
	w.started = time.Now()
	args := []string{"-viewers", strconv.Itoa(w.viewers), "-ramp", "10s", "-duration", w.dur.String(),
		"-json", "-wait", "60s", "-timeout", "5s"}
	if w.kind == "whep" {
		args = append(args, "-client", "whep", "-whep", s.url("/whep/"+w.track), "-whep-sample", strconv.Itoa(w.viewers))
	} else {
		args = append(args, "-client", "hlsjs", "-hls", s.url("/hls/"+w.track+"/index.m3u8"))
	}
	cmd := exec.CommandContext(ctx, benchBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "stream is listed") {
			if t, perr := time.ParseInLocation("15:04:05.000", strings.Fields(l)[0], time.Local); perr == nil {
				y, m, d := w.started.Date()
				w.listed = time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.Local)
			}
		}
	}
	var res benchResult
	if jerr := json.Unmarshal(stdout.Bytes(), &res); jerr == nil && res.Viewers > 0 {
		w.res = &res
	}
	if err != nil || w.res == nil {
		w.err = strings.TrimSpace(fmt.Sprintf("%v %s", err, lastLine(stderr.String())))
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// window is a stretch of the day when viewers may see errors or stalls
// because the day caused them (a restart, a reconnect).
type window struct {
	from, to time.Time
	track    string // "" for all
	kind     string // "" for all, or the viewers it is for ("whep")
	what     string
}

// split counts a wave's errors and stalls inside and outside windows;
// when adds the stalls outside them by 10 s of the day (from t0).
func (w *wave) split(ws []window, t0 time.Time, when map[int]uint64) (errIn, errOut, stallIn, stallOut uint64) {
	if w.res == nil {
		return
	}
	for _, p := range w.res.Series {
		at := w.listed.Add(time.Duration(p.T * float64(time.Second)))
		in := false
		for _, win := range ws {
			if (win.track == "" || win.track == w.track) && (win.kind == "" || win.kind == w.kind) &&
				at.After(win.from) && at.Add(-time.Second).Before(win.to) {
				in = true
			}
		}
		if in {
			errIn += p.Errors
			stallIn += p.Stalls
		} else {
			errOut += p.Errors
			stallOut += p.Stalls
			if p.Stalls+p.Errors > 0 {
				when[int(at.Sub(t0).Seconds())/10*10] += p.Stalls + p.Errors
			}
		}
	}
	return
}

// resumedAfter reports whether the wave was watching across t (viewers
// joined before) and got frames after until.
func (w *wave) resumedAfter(t, until time.Time) (spanned, resumed bool) {
	if w.res == nil || w.listed.IsZero() || !w.listed.Before(t) || !w.listed.Add(w.dur).After(until.Add(3*time.Second)) {
		return false, false
	}
	for _, p := range w.res.Series {
		if at := w.listed.Add(time.Duration(p.T * float64(time.Second))); at.After(until) && p.Frames > 0 {
			return true, true
		}
	}
	return true, false
}

// hlsReader is a gohlslib client on a track without the bench's SEIs
// (the ffmpeg publisher's): it counts frames, the longest gap and its
// restarts.
type hlsReader struct {
	url    string
	frames atomic.Int64

	mu       sync.Mutex
	last     time.Time
	gaps     []window // gaps over 2 s
	restarts int
	errs     map[string]int
}

func (r *hlsReader) run(ctx context.Context) {
	r.errs = map[string]int{}
	for ctx.Err() == nil {
		c := &gohlslib.Client{URI: r.url, OnDownloadPart: func(string) {}, OnDownloadPrimaryPlaylist: func(string) {}, OnDownloadStreamPlaylist: func(string) {}}
		c.OnTracks = func(tracks []*gohlslib.Track) error {
			for _, tr := range tracks {
				if _, ok := tr.Codec.(*codecs.H264); ok {
					c.OnDataH26x(tr, func(int64, int64, [][]byte) {
						now := time.Now()
						r.frames.Add(1)
						r.mu.Lock()
						if !r.last.IsZero() && now.Sub(r.last) > 2*time.Second {
							r.gaps = append(r.gaps, window{from: r.last, to: now})
						}
						r.last = now
						r.mu.Unlock()
					})
				}
			}
			return nil
		}
		var err error
		if err = c.Start(); err == nil {
			stop := context.AfterFunc(ctx, c.Close)
			err = c.Wait2()
			stop()
		}
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		r.restarts++
		msg := "stopped"
		if err != nil {
			msg = err.Error()
			if len(msg) > 60 {
				msg = msg[:60]
			}
		}
		r.errs[msg]++
		r.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
