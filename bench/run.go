package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// result is what a run measured; it is printed as a table or JSON and drawn
// in the HTML report.
type result struct {
	HLSURL             string            `json:"hls_url"`
	RTMPURL            string            `json:"rtmp_url,omitempty"`
	Client             string            `json:"client"`
	Viewers            int               `json:"viewers"`
	ViewersWithFrames  int64             `json:"viewers_with_frames"`
	DurationS          float64           `json:"duration_s"`
	RampS              float64           `json:"ramp_s"`
	BitrateKbps        float64           `json:"bitrate_kbps"`
	PublishBitrateKbps float64           `json:"publish_bitrate_kbps,omitempty"`
	Source             string            `json:"source,omitempty"`
	FirstPlaylistS     float64           `json:"first_playlist_s,omitempty"`
	Errors             uint64            `json:"errors"`
	ErrorsByKind       map[string]uint64 `json:"errors_by_kind"`
	Stalls             uint64            `json:"stalls"`
	Requests           uint64            `json:"requests"`
	RequestsPerS       float64           `json:"requests_per_s"`
	OriginRequestsPerS float64           `json:"origin_requests_per_s,omitempty"`
	Frames             uint64            `json:"frames"`
	DeliveryLatency    summary           `json:"delivery_latency_ms"`
	TTFF               summary           `json:"ttff_ms"`
	FrameGap           summary           `json:"frame_gap_ms"`
	ViewerSeconds      float64           `json:"viewer_s"`
	ServerPID          int               `json:"server_pid,omitempty"`
	ServerCPUSeconds   float64           `json:"server_cpu_s"`
	ServerCPUPerViewer float64           `json:"server_cpu_s_per_viewer_s"`
	ServerCPUPct       float64           `json:"server_cpu_pct"`
	ServerRSSMB        float64           `json:"server_rss_mb"`
	ServerRSSMaxMB     float64           `json:"server_rss_max_mb"`
	BenchCPUPct        float64           `json:"bench_cpu_pct"`
	BenchRSSMB         float64           `json:"bench_rss_mb"`
	Series             []second          `json:"series"`

	// WHEP runs
	WHEPURL     string  `json:"whep_url,omitempty"`
	WHEPSampled int64   `json:"whep_sampled,omitempty"`
	RTPPackets  uint64  `json:"rtp_packets,omitempty"`
	RTPLost     uint64  `json:"rtp_lost,omitempty"`
	RTPLossPct  float64 `json:"rtp_loss_pct,omitempty"`

	latencyHist *histogram // for the report's distribution chart
}

// second is one point of the per-second series.
type second struct {
	T            float64 `json:"t"`
	Viewers      int64   `json:"viewers"`
	LatencyP50   float64 `json:"latency_p50_ms"`
	LatencyP99   float64 `json:"latency_p99_ms"`
	Frames       uint64  `json:"frames"`
	Requests     uint64  `json:"requests"`
	Errors       uint64  `json:"errors"`
	Stalls       uint64  `json:"stalls"`
	ServerCPUPct float64 `json:"server_cpu_pct"`
	ServerRSSMB  float64 `json:"server_rss_mb"`
	BenchCPUPct  float64 `json:"bench_cpu_pct"`
}

// run publishes (if asked), waits for the stream, runs the viewers and
// gathers the result. Progress goes to logw.
func run(ctx context.Context, cfg config, logw io.Writer) (*result, error) {
	res := &result{
		HLSURL: cfg.hlsURL, RTMPURL: cfg.rtmpURL, Client: cfg.client, Viewers: cfg.viewers,
		RampS: cfg.ramp.Seconds(), BitrateKbps: float64(cfg.bitrate) / 1000,
		ServerPID: cfg.serverPID, ErrorsByKind: map[string]uint64{},
	}
	if cfg.viewers > 0 {
		if _, err := newViewer(cfg.client, nil); err != nil {
			return nil, err
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var pub *publisher
	pubErr := make(chan error, 1)
	var pubWG sync.WaitGroup
	defer func() {
		cancel()
		pubWG.Wait()
	}()
	if cfg.rtmpURL != "" {
		c, err := loadClip(cfg.bitrate)
		if err != nil {
			return nil, err
		}
		res.Source = c.name
		pub = newPublisher(cfg.rtmpURL, c, cfg.bitrate)
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			pubErr <- pub.run(ctx)
			cancel()
		}()
		select {
		case <-pub.connected:
			logf(logw, "publishing %s to %s", c.name, cfg.rtmpURL)
		case err := <-pubErr:
			if err == nil {
				err = errors.New("publish ended before it started")
			}
			return nil, err
		}
	}

	if cfg.viewers == 0 {
		// Publish only, for -duration.
		select {
		case <-ctx.Done():
		case <-time.After(cfg.duration):
		}
		cancel()
		pubWG.Wait()
		res.DurationS = cfg.duration.Seconds()
		if pub != nil {
			res.PublishBitrateKbps = pub.bitrateNow() / 1000
		}
		select {
		case err := <-pubErr:
			return res, err
		default:
			return res, nil
		}
	}

	s := newSink()
	env := &viewerEnv{
		timeout:    cfg.timeout,
		header:     cfg.header,
		sink:       s,
		hlsURL:     cfg.hlsURL,
		playlists:  newPlaylistCache(),
		tls:        &tls.Config{InsecureSkipVerify: cfg.insecure},
		http2:      cfg.http2,
		goFlow:     cfg.goFlow,
		whepURL:    cfg.whepURL,
		whepSample: cfg.whepSample,
	}
	if cfg.client == clientWHEP {
		res.WHEPURL, res.HLSURL = cfg.whepURL, cfg.whepURL
	}
	if cfg.http2 && !strings.HasPrefix(cfg.hlsURL, "https://") {
		return nil, errors.New("-http2 needs an https:// -hls URL")
	}

	waitStart := time.Now()
	var since int64
	if pub != nil {
		since = pub.started.UnixNano()
	}
	wait := func() error {
		if cfg.client == clientWHEP {
			return waitForWHEP(ctx, env, cfg.wait)
		}
		return waitForStream(ctx, env, cfg.wait, since)
	}
	if err := wait(); err != nil {
		cancel()
		if pub != nil {
			if perr := <-pubErr; perr != nil {
				return nil, perr
			}
		}
		return nil, err
	}
	s.requests.Store(0)
	if pub != nil {
		res.FirstPlaylistS = time.Since(pub.started).Seconds()
	} else {
		res.FirstPlaylistS = time.Since(waitStart).Seconds()
	}
	logf(logw, "stream is listed (%.2fs); starting %d %s viewers over %v for %v",
		res.FirstPlaylistS, cfg.viewers, cfg.client, cfg.ramp, cfg.duration)

	vctx, vcancel := context.WithTimeout(ctx, cfg.duration)
	defer vcancel()
	start := time.Now()

	samplerDone := make(chan struct{})
	var series []second
	var viewerS float64
	var srvFirst, srvLast procSample
	var srvOK bool
	var rssMax int64
	self0, _ := readProc(os.Getpid())
	go func() {
		defer close(samplerDone)
		series, viewerS, srvFirst, srvLast, srvOK, rssMax = sample(vctx, s, cfg.serverPID, start)
	}()

	// With a cache in front, how many requests reach the origin once
	// every viewer has joined.
	originDone := make(chan struct{})
	go func() {
		defer close(originDone)
		if cfg.origin.url == "" {
			return
		}
		r, err := cfg.origin.rate(vctx, start.Add(cfg.ramp+time.Second))
		if err != nil {
			logf(logw, "origin requests not measured: %v", err)
			return
		}
		res.OriginRequestsPerS = r
	}()

	var wg sync.WaitGroup
	for i := 0; i < cfg.viewers; i++ {
		if cfg.ramp > 0 && i > 0 {
			at := start.Add(cfg.ramp * time.Duration(i) / time.Duration(cfg.viewers))
			select {
			case <-vctx.Done():
			case <-time.After(time.Until(at)):
			}
			if vctx.Err() != nil {
				break
			}
		}
		v, _ := newViewer(cfg.client, env)
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.run(vctx)
		}()
	}
	<-vctx.Done()
	elapsed := time.Since(start)
	wg.Wait()
	<-samplerDone
	<-originDone
	self1, _ := readProc(os.Getpid())

	res.DurationS = elapsed.Seconds()
	res.ViewersWithFrames = s.gotFrame.Load()
	res.Errors, res.ErrorsByKind = s.errorCounts()
	res.Stalls = s.stalls.Load()
	res.Requests = s.requests.Load()
	res.RequestsPerS = float64(res.Requests) / elapsed.Seconds()
	res.Frames = s.frames.Load()
	res.DeliveryLatency = s.latency.Summary()
	res.TTFF = s.ttff.Summary()
	res.FrameGap = s.gap.Summary()
	if cfg.client == clientWHEP {
		res.WHEPSampled = s.sampled.Load()
		res.RTPPackets, res.RTPLost = s.rtpPackets.Load(), s.rtpLost.Load()
		if res.RTPPackets > 0 {
			res.RTPLossPct = 100 * float64(res.RTPLost) / float64(res.RTPPackets+res.RTPLost)
		}
	}
	res.ViewerSeconds = viewerS
	res.Series = series
	res.latencyHist = &s.latency
	res.BenchCPUPct = 100 * (self1.cpu - self0.cpu).Seconds() / elapsed.Seconds()
	res.BenchRSSMB = float64(self1.rssKB) / 1024
	if srvOK {
		cpu := (srvLast.cpu - srvFirst.cpu).Seconds()
		res.ServerCPUSeconds = cpu
		res.ServerCPUPct = 100 * cpu / srvLast.at.Sub(srvFirst.at).Seconds()
		if viewerS > 0 {
			res.ServerCPUPerViewer = cpu / viewerS
		}
		res.ServerRSSMB = float64(srvLast.rssKB) / 1024
		res.ServerRSSMaxMB = float64(rssMax) / 1024
	}

	if pub != nil {
		res.PublishBitrateKbps = pub.bitrateNow() / 1000
		select {
		case err := <-pubErr:
			// The publisher ended the run early.
			if err != nil {
				return res, fmt.Errorf("publish: %w", err)
			}
		default:
		}
	}
	if res.ViewersWithFrames == 0 {
		return res, errors.New("no viewer received a frame")
	}
	return res, nil
}

// sample records one series point per second until ctx ends, and returns the
// series, the viewer-seconds served and the first and last server samples.
func sample(ctx context.Context, s *sink, pid int, start time.Time) (series []second, viewerS float64, first, last procSample, ok bool, rssMax int64) {
	var prevSrv, prevSelf procSample
	var err error
	if pid > 0 {
		if prevSrv, err = readProcTree(pid); err == nil {
			first, last, ok = prevSrv, prevSrv, true
			rssMax = prevSrv.rssKB
		}
	}
	prevSelf, _ = readProc(os.Getpid())
	prevT := time.Now()
	var prevReq, prevErr, prevStalls, prevFrames uint64
	t := time.NewTicker(time.Second)
	defer t.Stop()
	tick := func(now time.Time) {
		dt := now.Sub(prevT).Seconds()
		prevT = now
		active := s.active.Load()
		viewerS += float64(active) * dt
		h := s.rotate()
		req, frames, stalls := s.requests.Load(), s.frames.Load(), s.stalls.Load()
		errs, _ := s.errorCounts()
		pt := second{
			T:          now.Sub(start).Seconds(),
			Viewers:    active,
			LatencyP50: ms(h.Quantile(0.5)),
			LatencyP99: ms(h.Quantile(0.99)),
			Frames:     frames - prevFrames,
			Requests:   req - prevReq,
			Errors:     errs - prevErr,
			Stalls:     stalls - prevStalls,
		}
		prevReq, prevErr, prevStalls, prevFrames = req, errs, stalls, frames
		if ok {
			if cur, err := readProcTree(pid); err == nil {
				pt.ServerCPUPct = 100 * (cur.cpu - prevSrv.cpu).Seconds() / cur.at.Sub(prevSrv.at).Seconds()
				pt.ServerRSSMB = float64(cur.rssKB) / 1024
				rssMax = max(rssMax, cur.rssKB)
				prevSrv, last = cur, cur
			}
		}
		if cur, err := readProc(os.Getpid()); err == nil {
			pt.BenchCPUPct = 100 * (cur.cpu - prevSelf.cpu).Seconds() / cur.at.Sub(prevSelf.at).Seconds()
			prevSelf = cur
		}
		// A last sliver of a second is accounted for but not drawn: its
		// rates would be noise (/proc counts CPU in 10 ms ticks).
		if dt >= 0.5 {
			series = append(series, pt)
		}
	}
	for {
		select {
		case now := <-t.C:
			tick(now)
		case <-ctx.Done():
			tick(time.Now())
			return
		}
	}
}

// waitForStream polls the HLS URL until its newest part or segment holds a
// frame sent at or after since (unix nanoseconds; 0 accepts any frame), so a
// stale playlist left over from an earlier publish does not count.
func waitForStream(ctx context.Context, env *viewerEnv, limit time.Duration, since int64) error {
	v := &hlsViewer{env: env, conn: env.newConn()}
	defer v.conn.close()
	v.br = bufio.NewReaderSize(nil, 16<<10)
	var newest int64
	v.onFrame = func(send int64, _ time.Time) { newest = max(newest, send) }
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		newest = 0
		err := probeStream(ctx, v)
		if err == nil && newest == 0 {
			err = errors.New("no frame with a bench SEI yet")
		}
		if err == nil && newest < since {
			err = errors.New("only frames from an earlier publish are listed")
		}
		if err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("stream not listed at %s after %v: %v", env.hlsURL, limit, last)
}

// probeStream fetches the newest part (or segment) listed.
func probeStream(ctx context.Context, v *hlsViewer) error {
	v.base = nil
	u, pl, err := v.mediaPlaylist(ctx)
	if err != nil {
		return err
	}
	v.base = u
	if err := v.ensureInit(ctx, pl.pl); err != nil {
		return err
	}
	switch {
	case len(pl.parts) > 0:
		return v.getMedia(ctx, pl.parts[len(pl.parts)-1].uri, nil)
	case len(pl.pl.Segments) > 0:
		return v.getMedia(ctx, pl.pl.Segments[len(pl.pl.Segments)-1].URI, nil)
	}
	return errors.New("no segment listed yet")
}
