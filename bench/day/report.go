package main

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// kindTotals adds up the waves of one kind.
type kindTotals struct {
	waves, viewers, withFrames, failedWaves int
	errIn, errOut, stallIn, stallOut        uint64
	errKinds                                map[string]uint64
	when                                    map[int]uint64 // stalls and errors outside disruptions by 10 s
	p99s                                    []float64
	ttff                                    []float64
	frames, rtpPackets, rtpLost             uint64
	spanned, resumed                        int
}

func (d *day) totals(kind string, restarts []time.Time) kindTotals {
	t := kindTotals{errKinds: map[string]uint64{}, when: map[int]uint64{}}
	d.wavesMu.Lock()
	defer d.wavesMu.Unlock()
	for _, w := range d.waves {
		if w.kind != kind {
			continue
		}
		t.waves++
		t.viewers += w.viewers
		if w.res == nil {
			t.failedWaves++
			continue
		}
		t.withFrames += int(w.res.ViewersWithFrames)
		ei, eo, si, so := w.split(d.windows, d.t0, t.when)
		t.errIn, t.errOut, t.stallIn, t.stallOut = t.errIn+ei, t.errOut+eo, t.stallIn+si, t.stallOut+so
		for k, v := range w.res.ErrorsByKind {
			t.errKinds[k] += v
		}
		if w.res.DeliveryLatency.Count > 0 {
			t.p99s = append(t.p99s, w.res.DeliveryLatency.P99)
		}
		if w.res.TTFF.Count > 0 {
			t.ttff = append(t.ttff, w.res.TTFF.P50)
		}
		t.frames += w.res.Frames
		t.rtpPackets += w.res.RTPPackets
		t.rtpLost += w.res.RTPLost
		for _, r := range restarts {
			var until time.Time
			for _, win := range d.windows {
				if win.from.Equal(r) {
					until = win.to
				}
			}
			if sp, ok := w.resumedAfter(r, until); sp {
				t.spanned++
				if ok {
					t.resumed++
				}
			}
		}
	}
	sort.Float64s(t.p99s)
	sort.Float64s(t.ttff)
	return t
}

// whenString lists when stalls and errors outside disruptions came, with
// the machine's load average then.
func (d *day) whenString(m map[int]uint64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		d.loadMu.Lock()
		l := d.load[k]
		d.loadMu.Unlock()
		parts = append(parts, fmt.Sprintf("%ds:%d (load %.0f)", k, m[k], l))
	}
	return " (by 10 s of the day: " + strings.Join(parts, ", ") + ")"
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)/2]
}

func worst(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}

// report prints the day's table.
func (d *day) report(restartAt map[string]time.Time) {
	w := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(w, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	fmt.Fprintf(d.out, "\nThe day: %v, kast %s, data dir on disk, 127.0.0.0/8 only\n\n", d.cfg.duration, d.cfg.kast)

	var restarts []time.Time
	for _, win := range d.windows {
		if strings.HasPrefix(win.what, "kast ") {
			restarts = append(restarts, win.from)
		}
	}
	for _, tr := range d.conf.tracks {
		p := d.pubs[tr]
		n, asked, fails := p.counts()
		byRestart := max(0, min(len(fails)-asked, len(restarts)))
		other := len(fails) - asked - byRestart
		row("publishes "+tr, "%d by %s: %d reconnects (%d asked: talk handover/SIGKILL, %d after kast restarts, %d other)",
			n, p.name, n-1, asked, byRestart, other)
	}
	row("on-air switches", "%d through the API", len(d.switches))
	for _, kind := range []string{"hls", "whep"} {
		t := d.totals(kind, restarts)
		name := map[string]string{"hls": "HLS (bench hlsjs)", "whep": "WHEP (bench, pion)"}[kind]
		row(name+" viewers", "%d in %d waves joining and leaving; %d got frames; %d waves failed to run", t.viewers, t.waves, t.withFrames, t.failedWaves)
		row(name+" errors", "%d outside disruptions, %d during restarts/reconnects %v", t.errOut, t.errIn, t.errKinds)
		row(name+" stalls", "%d outside disruptions%s, %d during restarts/reconnects", t.stallOut, d.whenString(t.when), t.stallIn)
		row(name+" latency", "p99 %.0f ms (median wave), %.0f ms (worst wave); first frame p50 %.0f ms (median wave)", median(t.p99s), worst(t.p99s), median(t.ttff))
		if kind == "whep" {
			row(name+" resumed", "%.0f sessions went on with their track's next stream after a publisher reconnect (kast_webrtc_viewers_resumed_total)", d.resumed)
		}
		if kind == "whep" && t.rtpPackets > 0 {
			row(name+" RTP", "%d packets, %d lost (%.3f %%)", t.rtpPackets, t.rtpLost, 100*float64(t.rtpLost)/float64(t.rtpPackets))
		}
		if t.spanned > 0 {
			note := ""
			if kind == "whep" {
				note = " (a WebRTC session ends with kast's process; the bench's WHEP viewer does not offer again, the next waves play)"
			}
			row(name+" across restarts", "%d of %d waves watching through a kast restart got frames after it%s", t.resumed, t.spanned, note)
		}
	}
	for i, r := range d.readers {
		r.mu.Lock()
		var gapsOut []string
		for _, g := range r.gaps {
			in := false
			for _, win := range d.windows {
				if (win.track == "" || win.track == "hall-b") && g.to.After(win.from) && g.from.Before(win.to) {
					in = true
				}
			}
			if !in {
				gapsOut = append(gapsOut, fmt.Sprintf("%.1fs at %.0fs", g.to.Sub(g.from).Seconds(), g.from.Sub(d.t0).Seconds()))
			}
		}
		row(fmt.Sprintf("gohlslib reader %d hall-b", i+1), "%d frames, %d restarts %v, %d gaps over 2 s outside disruptions %v",
			r.frames.Load(), r.restarts, r.errs, len(gapsOut), gapsOut)
		r.mu.Unlock()
	}
	acc := d.attendees()
	row("accounts", "%d registered through the API (429s waited out: %d), logged in again after the SIGTERM restart", len(acc), d.acc.limited)
	clients, connected, msgs, reconnects, refused := d.wsEnd[0], d.wsEnd[1], d.wsEnd[2], d.wsEnd[3], d.wsRefused
	row("websocket audience", "%d clients, %d connected at the end, %d messages, %d reconnects, refused %v", clients, connected, msgs, reconnects, refused)
	if d.junk != nil {
		sent, answers := d.junk.summary()
		p99, n, failed := d.junk.healthP99()
		row("junk sent", "%s", sent)
		row("junk answers", "%s", answers)
		row("junk /healthz", "p99 %v over %d answers, %d failed", p99.Round(time.Millisecond), n, failed)
	}
	for _, e := range d.events {
		row("event", "%s", e)
	}
	d.loadMu.Lock()
	var loads []float64
	for _, l := range d.load {
		loads = append(loads, l)
	}
	d.loadMu.Unlock()
	sort.Float64s(loads)
	if len(loads) > 0 {
		row("machine load", "1-minute load average %.1f (median of 10 s) to %.1f (max) on %d cores, shared with other work", median(loads), worst(loads), runtime.NumCPU())
	}
	labels := []string{"start", "middle", "end"}
	for i, s := range d.samples {
		l := fmt.Sprintf("sample %d", i)
		if i < len(labels) {
			l = labels[i]
		}
		row("kast "+l, "RSS %.1f MB, %d goroutines (at %.0fs)", s.rssMB, s.goroutines, s.at.Sub(d.t0).Seconds())
	}
	lost := 0
	for _, c := range d.checks {
		mark := "ok"
		if !c.ok {
			mark = "LOST"
			lost++
		}
		row("check "+c.what, "%s: %s", mark, c.note)
	}
	if lost == 0 {
		row("lost", "nothing")
	} else {
		row("lost", "%d checks failed (above)", lost)
	}
	w.Flush()
}
