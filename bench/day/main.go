// Command day runs a conference day against kast, end to end, in about
// ten minutes (make day): kast from the checkout's binary with a data
// dir; publishers on two tracks switching talks through the API and
// reconnecting, one (ffmpeg) killed with SIGKILL; HLS and WHEP viewers
// (the bench program's) joining and leaving in waves; registrations and
// logins through the API; a websocket audience on the live channel; junk
// on every port; kast restarted with SIGTERM mid-run (viewers resume,
// logins survive) and killed with SIGKILL once (the database and
// recordings intact). It prints a table of what happened and what was
// lost, and exits 1 when something was.
//
// Usage:
//
//	go run ./bench/day -kast bin/kast -bench bin/bench [-duration 10m] [-scale 1] [-keep]
//
// Everything talks to 127.0.0.0/8 only. Scale multiplies the viewers,
// accounts and websocket clients (1 fits a shared 2-core machine).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	kast, bench string
	duration    time.Duration
	scale       float64
	keep        bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.kast, "kast", "bin/kast", "kast binary")
	flag.StringVar(&cfg.bench, "bench", "bin/bench", "bench binary (viewers and a publisher)")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Minute, "length of the day")
	flag.Float64Var(&cfg.scale, "scale", 1, "multiplies viewers, accounts and websocket clients")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the data dir and kast's log")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lost, err := runDay(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "day:", err)
		os.Exit(2)
	}
	if lost {
		os.Exit(1)
	}
}

// day is the state of one run.
type day struct {
	cfg   config
	out   io.Writer
	t0    time.Time
	s     *server
	api   *api
	conf  *conference
	logMu sync.Mutex

	pubs    map[string]*publisher
	waves   []*wave
	wavesMu sync.Mutex
	readers []*hlsReader
	aud     *audience
	acc     *accounts
	junk    *junk

	windows   []window
	switches  []switchCheck
	samples   []sample
	events    []string // one line per disruption, for the report
	checks    []check
	onAirIdx  map[string]int
	wsEnd     [4]int // clients, connected, messages, reconnects, at the end
	wsRefused map[string]int
	resumed   float64 // kast_webrtc_viewers_resumed_total, summed over kast's runs
	loadMu    sync.Mutex
	load      map[int]float64 // the machine's highest 1-minute load average by 10 s of the day
}

// sampleLoad records the machine's load average (the machine is shared:
// stalls are read against it).
func (d *day) sampleLoad(ctx context.Context) {
	for ctx.Err() == nil {
		if b, err := os.ReadFile("/proc/loadavg"); err == nil {
			var l float64
			fmt.Sscanf(string(b), "%f", &l)
			k := int(time.Since(d.t0).Seconds()) / 10 * 10
			d.loadMu.Lock()
			d.load[k] = max(d.load[k], l)
			d.loadMu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// check is one thing verified, for the report's "lost" part.
type check struct {
	what string
	ok   bool
	note string
}

func (d *day) logf(format string, args ...any) {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	fmt.Fprintf(os.Stderr, "%6.1fs %s\n", time.Since(d.t0).Seconds(), fmt.Sprintf(format, args...))
}

func (d *day) verify(what string, ok bool, format string, args ...any) {
	note := fmt.Sprintf(format, args...)
	d.checks = append(d.checks, check{what, ok, note})
	mark := "ok"
	if !ok {
		mark = "LOST"
	}
	d.logf("check %s: %s (%s)", what, mark, note)
}

// at sleeps until offset frac of the day; false when the run was stopped.
func (d *day) at(ctx context.Context, frac float64) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(time.Until(d.t0.Add(time.Duration(frac * float64(d.cfg.duration))))):
		return true
	}
}

func scaled(n int, s float64) int { return max(1, int(float64(n)*s+0.5)) }

func runDay(parent context.Context, cfg config, out io.Writer) (bool, error) {
	for _, b := range []string{cfg.kast, cfg.bench} {
		if _, err := os.Stat(b); err != nil {
			return false, fmt.Errorf("%s: %v (make day builds it)", b, err)
		}
	}
	dir, err := os.MkdirTemp("", "kast-day-")
	if err != nil {
		return false, err
	}
	d := &day{cfg: cfg, out: out, t0: time.Now(), pubs: map[string]*publisher{}, onAirIdx: map[string]int{}, load: map[int]float64{}}
	s, err := newServer(cfg.kast, filepath.Join(dir, "data"))
	if err != nil {
		return false, err
	}
	d.s = s
	defer func() {
		if cfg.keep {
			fmt.Fprintf(out, "data dir %s, kast log %s\n", s.dataDir, s.logPath)
		} else {
			os.RemoveAll(dir)
		}
	}()
	if err := s.start(); err != nil {
		return false, err
	}
	defer s.close()
	d.logf("kast up: http %s rtmp %s metrics %s webrtc %s, data %s", s.httpAddr, s.rtmpAddr, s.metricsAddr, s.udpAddr, s.dataDir)
	d.api = &api{s: s, admin: clientFrom("127.0.0.1")}
	if d.conf, err = d.api.setUp(8); err != nil {
		return false, err
	}

	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var bg sync.WaitGroup
	defer bg.Wait()
	defer cancel()
	goBG := func(f func()) {
		bg.Add(1)
		go func() { defer bg.Done(); f() }()
	}

	goBG(func() { d.sampleLoad(ctx) })

	// Publishers: the bench's clip on hall-a (its SEIs give the viewers'
	// latency), ffmpeg like OBS on hall-b.
	rtmp := func(track string) string { return "rtmp://" + s.rtmpAddr + "/live/" + d.conf.keys[track] }
	d.pubs["hall-a"] = benchPublisher(cfg.bench, rtmp("hall-a"), "hall-a")
	d.pubs["hall-b"] = ffmpegPublisher(rtmp("hall-b"), "hall-b")
	for _, p := range d.pubs {
		goBG(func() { p.run(ctx, d.logf) })
	}
	for _, tr := range d.conf.tracks {
		d.switchTalk(tr)
	}

	// The audience, the accounts, the hall-b readers.
	d.aud = &audience{url: "ws://" + s.httpAddr + "/api/v1/events/" + d.conf.event + "/live"}
	d.aud.start(ctx, scaled(150, cfg.scale))
	d.acc = &accounts{}
	nAccounts := scaled(120, cfg.scale)
	goBG(func() {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for i := 0; i < nAccounts && ctx.Err() == nil; i++ {
			wg.Add(1)
			sem <- struct{}{}
			go func() { defer wg.Done(); defer func() { <-sem }(); d.api.register(d.conf, i, d.acc) }()
		}
		wg.Wait()
		d.logf("registered %d of %d accounts", len(d.acc.list), nAccounts)
	})
	for i := 0; i < 3; i++ {
		r := &hlsReader{url: s.url("/hls/hall-b/index.m3u8")}
		d.readers = append(d.readers, r)
		goBG(func() { r.run(ctx) })
	}

	// Viewer waves on hall-a: HLS every 30 s, WHEP every 60 s.
	D := cfg.duration
	goBG(func() { d.waveLoop(ctx, "hls", scaled(20, cfg.scale), D/20, D/8, D/40) })
	goBG(func() { d.waveLoop(ctx, "whep", scaled(6, cfg.scale), D/10, D/12, D/30) })

	// The timeline.
	type step struct {
		at float64
		do func()
	}
	restartAt := map[string]time.Time{}
	steps := []step{
		{0.05, func() { d.samples = append(d.samples, s.sample()) }},
		{0.10, func() { d.switchTalk("hall-a"); d.switchTalk("hall-b") }},
		{0.17, func() { d.reconnect("hall-a") }},
		{0.20, func() { d.switchTalk("hall-a"); d.switchTalk("hall-b") }},
		{0.25, func() { d.killFFmpeg() }},
		{0.30, func() { d.switchTalk("hall-a") }},
		{0.33, func() { d.runJunk(ctx, D/12) }},
		{0.45, func() { d.switchTalk("hall-a"); d.switchTalk("hall-b") }},
		{0.48, func() { d.samples = append(d.samples, s.sample()) }},
		{0.50, func() { restartAt["term"] = time.Now(); d.restart(syscall.SIGTERM) }},
		{0.55, func() { d.secondLogins() }},
		{0.60, func() { d.switchTalk("hall-a"); d.switchTalk("hall-b") }},
		{0.67, func() { d.reconnect("hall-a") }},
		{0.70, func() { d.switchTalk("hall-a"); d.switchTalk("hall-b") }},
		{0.75, func() { restartAt["kill"] = time.Now(); d.killKast() }},
		{0.85, func() { d.switchTalk("hall-a"); d.switchTalk("hall-b") }},
		{0.97, func() { d.samples = append(d.samples, s.sample()) }},
	}
	for _, st := range steps {
		if !d.at(ctx, st.at) {
			break
		}
		st.do()
	}
	d.at(ctx, 1)
	d.logf("the day is over; collecting")
	// Waves still running end with their duration; stop the rest.
	d.finalChecks()
	cancel()
	bg.Wait()
	d.report(restartAt)
	lost := false
	for _, c := range d.checks {
		lost = lost || !c.ok
	}
	return lost, nil
}

// waveLoop starts a wave of n viewers every `every`, each for dur,
// starting at first.
func (d *day) waveLoop(ctx context.Context, kind string, n int, every, dur, first time.Duration) {
	var wg sync.WaitGroup
	defer wg.Wait()
	next := d.t0.Add(first)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		if time.Until(d.t0.Add(d.cfg.duration)) < dur {
			return
		}
		w := &wave{kind: kind, track: "hall-a", viewers: n, dur: dur}
		d.wavesMu.Lock()
		d.waves = append(d.waves, w)
		d.wavesMu.Unlock()
		d.logf("%s wave of %d viewers for %v", kind, n, dur)
		wg.Add(1)
		go func() { defer wg.Done(); w.run(context.Background(), d.cfg.bench, d.s) }()
		next = next.Add(every)
	}
}

// switchTalk puts the track's next talk on air and records who should
// hear of it on the live channel.
func (d *day) switchTalk(track string) {
	talks := d.conf.talks[track]
	i := d.onAirIdx[track] % len(talks)
	d.onAirIdx[track]++
	t := talks[i]
	before := time.Now()
	clients := d.aud.connectedSinceOrNil(before)
	if err := d.api.onAir(track, t.ID); err != nil {
		d.verify("on-air switch", false, "%s talk %d: %v", track, t.ID, err)
		return
	}
	d.switches = append(d.switches, switchCheck{key: fmt.Sprintf("%s/%d", track, t.ID), at: before, clients: clients})
	d.logf("on air on %s: %q", track, t.Title)
}

func (a *audience) connectedSinceOrNil(t time.Time) []*wsClient {
	if a == nil {
		return nil
	}
	return a.connectedSince(t)
}

// reconnect makes the track's publisher reconnect (a speaker's laptop
// change): its process ends, the loop starts the next.
func (d *day) reconnect(track string) {
	if d.pubs[track].signal(syscall.SIGTERM) {
		now := time.Now()
		d.windows = append(d.windows, window{from: now, to: now.Add(10 * time.Second), track: track, what: "publisher reconnect"})
		d.events = append(d.events, fmt.Sprintf("%s publisher reconnected at %.0fs", track, now.Sub(d.t0).Seconds()))
		d.logf("publisher of %s reconnects", track)
	}
}

func (d *day) killFFmpeg() {
	if d.pubs["hall-b"].signal(syscall.SIGKILL) {
		now := time.Now()
		d.windows = append(d.windows, window{from: now, to: now.Add(12 * time.Second), track: "hall-b", what: "ffmpeg SIGKILL"})
		d.events = append(d.events, fmt.Sprintf("hall-b ffmpeg SIGKILLed at %.0fs", now.Sub(d.t0).Seconds()))
		d.logf("ffmpeg on hall-b killed with SIGKILL")
	}
}

func (d *day) runJunk(ctx context.Context, dur time.Duration) {
	d.junk = &junk{s: d.s}
	before := d.pubs["hall-a"].publishes
	d.logf("junk on every port for %v", dur)
	d.junk.run(ctx, dur)
	p99, n, failed := d.junk.healthP99()
	d.logf("junk done: /healthz p99 %v over %d answers, %d failed", p99, n, failed)
	d.verify("service during junk", failed == 0 && d.pubs["hall-a"].publishes == before,
		"/healthz failed %d times; hall-a publishes %d -> %d", failed, before, d.pubs["hall-a"].publishes)
}

// restart stops kast with sig and starts it again on the same data dir
// and ports.
func (d *day) restart(sig syscall.Signal) {
	accounts := d.attendees()
	pre := d.api.checkSessions(accounts)
	if v, ok := d.s.metric("kast_webrtc_viewers_resumed_total"); ok {
		d.resumed += v
	}
	from := time.Now()
	took, err := d.s.stop(sig)
	if err != nil {
		d.verify("kast stops on "+sig.String(), false, "%v", err)
	}
	if err := d.s.start(); err != nil {
		d.verify("kast starts again", false, "%v", err)
		return
	}
	up := time.Now()
	d.windows = append(d.windows, window{from: from, to: up.Add(12 * time.Second), what: "kast " + sig.String()},
		// A WHEP session cannot outlive kast's process; its player learns
		// so when ICE fails (pion: 5 s disconnected, then 25 s).
		window{from: from, to: up.Add(35 * time.Second), kind: "whep", what: "WHEP sessions end with kast"})
	d.events = append(d.events, fmt.Sprintf("kast %s at %.0fs: exited in %v, up again %v after the signal",
		sig, from.Sub(d.t0).Seconds(), took.Round(time.Millisecond), up.Sub(from).Round(time.Millisecond)))
	d.logf("kast restarted after %s: exit took %v, down %v", sig, took.Round(time.Millisecond), up.Sub(from).Round(time.Millisecond))
	post := d.api.checkSessions(accounts)
	d.verify("logins survive "+sig.String(), post == pre && pre == len(accounts), "%d of %d cookies worked before, %d after", pre, len(accounts), post)
}

func (d *day) attendees() []*attendee {
	d.acc.mu.Lock()
	defer d.acc.mu.Unlock()
	return append([]*attendee(nil), d.acc.list...)
}

// secondLogins logs every attendee in again (their phone).
func (d *day) secondLogins() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	sem := make(chan struct{}, 4)
	list := d.attendees()
	for _, at := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if d.api.login(at, d.acc) {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	d.logf("second logins: %d of %d", ok, len(list))
	d.verify("logins", ok == len(list), "%d of %d accounts logged in again", ok, len(list))
}

// killKast kills kast with SIGKILL and checks, after it is back, that the
// database and the recordings are whole.
func (d *day) killKast() {
	talksBefore, _ := d.api.talks(d.conf.event)
	regsBefore, _ := d.api.registrations(d.conf.event)
	var recsBefore []talk
	for _, t := range talksBefore {
		if t.Recording != nil && !t.Recording.Live {
			recsBefore = append(recsBefore, t)
		}
	}
	d.restart(syscall.SIGKILL)
	talksAfter, err := d.api.talks(d.conf.event)
	d.verify("talks after SIGKILL", err == nil && len(talksAfter) == len(talksBefore), "%d before, %d after (%v)", len(talksBefore), len(talksAfter), err)
	regsAfter, err := d.api.registrations(d.conf.event)
	d.verify("registrations after SIGKILL", err == nil && regsAfter == regsBefore && regsBefore == len(d.attendees()),
		"%d before, %d after, %d made (%v)", regsBefore, regsAfter, len(d.attendees()), err)
	byID := map[int]talk{}
	for _, t := range talksAfter {
		byID[t.ID] = t
	}
	playable := 0
	var bad []string
	for _, t := range recsBefore {
		a := byID[t.ID]
		if a.Recording == nil {
			bad = append(bad, fmt.Sprintf("talk %d: recording gone", t.ID))
			continue
		}
		if err := d.playRecording(a); err != nil {
			bad = append(bad, fmt.Sprintf("talk %d: %v", t.ID, err))
			continue
		}
		playable++
	}
	d.verify("recordings after SIGKILL", len(bad) == 0 && len(recsBefore) > 0, "%d finished recordings before, %d playable after; %s", len(recsBefore), playable, strings.Join(bad, "; "))
}

// playRecording fetches a recording's playlist, its first and last media
// files and the start of its MP4.
func (d *day) playRecording(t talk) error {
	c := clientFrom("127.0.0.1")
	get := func(path string, rng bool) ([]byte, error) {
		req, _ := http.NewRequest("GET", d.s.url(path), nil)
		if rng {
			req.Header.Set("Range", "bytes=0-65535")
		}
		res, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<20))
		if res.StatusCode != 200 && res.StatusCode != 206 {
			return nil, fmt.Errorf("%s: %d", path, res.StatusCode)
		}
		return b, nil
	}
	pl, err := get(t.Recording.Playlist, false)
	if err != nil {
		return err
	}
	var media []string
	for _, l := range strings.Split(string(pl), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			media = append(media, l)
		} else if strings.HasPrefix(l, "#EXT-X-MAP:URI=\"") {
			media = append(media, strings.TrimSuffix(strings.TrimPrefix(l, "#EXT-X-MAP:URI=\""), "\""))
		}
	}
	if len(media) < 2 || !strings.Contains(string(pl), "#EXT-X-ENDLIST") {
		return fmt.Errorf("playlist with %d entries, ENDLIST %v", len(media), strings.Contains(string(pl), "#EXT-X-ENDLIST"))
	}
	base := t.Recording.Playlist[:strings.LastIndex(t.Recording.Playlist, "/")+1]
	for _, m := range []string{media[0], media[len(media)-1]} {
		p := m
		if !strings.HasPrefix(m, "/") {
			p = base + m
		}
		if _, err := get(p, false); err != nil {
			return err
		}
	}
	if _, err := get(t.Recording.MP4, true); err != nil {
		return err
	}
	return nil
}

// finalChecks verifies what the day must not have lost.
func (d *day) finalChecks() {
	if v, ok := d.s.metric("kast_webrtc_viewers_resumed_total"); ok {
		d.resumed += v
	}
	list := d.attendees()
	n := d.api.checkSessions(list)
	d.verify("sessions at the end", n == len(list), "%d of %d cookies work", n, len(list))
	d.verify("registrations", len(list) == scaled(120, d.cfg.scale), "%d of %d accounts registered; failures %v", len(list), scaled(120, d.cfg.scale), d.acc.failures)
	// Every on-air switch reached every websocket client there for it.
	present, missed := 0, 0
	for _, sc := range d.switches {
		p, m := sc.missed()
		present += p
		missed += m
	}
	c, conn, msgs, rec, refused := d.aud.totals()
	d.wsEnd, d.wsRefused = [4]int{c, conn, msgs, rec}, refused
	d.verify("on-air messages", missed == 0 && present > 0, "%d deliveries due to clients connected throughout, %d missed", present, missed)
}
