package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// Faults on the network between kast and its clients. This kernel has no
// netem qdisc, so the faults come from the tests: a TCP proxy in front of
// the RTMP port (testutil.FaultProxy) and a UDP middlebox on the WebRTC
// port (testutil.UDPRelay).

// faultPublish is the publish of the fault tests: 640x360 at 800 kbit/s
// video and 128 kbit/s AAC (about 0.95 Mbit/s on the wire), light enough
// for ffmpeg on a shared machine.
func faultPublish(url string, d time.Duration) testutil.Publish {
	return testutil.Publish{URL: url, Duration: d, Size: "640x360", Bitrate: "800k"}
}

// playoutHold is the playout buffer the HLS checks allow a player: about
// what hls.js keeps against kast (0.65-0.9 s behind the live edge, from
// PART-HOLD-BACK 0.6 s). On a link this close to the bitrate most of the
// jitter is the keyframe's: 30-60 kB that take 0.3-0.6 s through the
// bottleneck.
const playoutHold = time.Second

// TestFaultSlowPublisherLink publishes through a link with 100 ms delay
// each way and a bandwidth a little above the stream's (1.25 Mbit/s for
// 0.95), then briefly below it (0.7 Mbit/s for 1.5 s), then above again:
// an HLS reader keeps playing without a stall.
func TestFaultSlowPublisherLink(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	proxy := testutil.NewFaultProxy(t, a.rtmp.Addr().String())
	proxy.SetDelay(testutil.Up, 100*time.Millisecond)
	proxy.SetDelay(testutil.Down, 100*time.Millisecond)
	proxy.SetRate(testutil.Up, 1_250_000)
	testutil.StartPublish(t, faultPublish("rtmp://"+proxy.Addr()+"/live/"+testStreamKey, 40*time.Second))
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 20*time.Second)

	r := testutil.StartHLSReader(t, a.testURL("/hls/main/index.m3u8"))
	r.WaitFrames(t, 30, 10*time.Second)
	b0, t0 := proxy.Bytes(testutil.Up), time.Now()
	time.Sleep(5 * time.Second)
	rate := float64(proxy.Bytes(testutil.Up)-b0) * 8 / time.Since(t0).Seconds()
	if rate < 750_000 || rate > 1_250_000 {
		t.Fatalf("the publish runs at %.0f bit/s: the link settings do not fit it", rate)
	}
	proxy.SetRate(testutil.Up, 700_000)
	below := time.Now()
	time.Sleep(1500 * time.Millisecond)
	proxy.SetRate(testutil.Up, 1_250_000)
	time.Sleep(8 * time.Second)

	frames := r.Frames()
	p := testutil.PlayoutOf(frames, playoutHold)
	var pre []testutil.HLSFrame
	for _, f := range frames {
		if f.At.Before(below) {
			pre = append(pre, f)
		}
	}
	t.Logf("before the squeeze: worst lateness %v", testutil.PlayoutOf(pre, playoutHold).MaxLate.Round(time.Millisecond))
	restarts, errs := r.Restarts()
	t.Logf("publish at %.2f Mbit/s through a 1.25 Mbit/s link, 0.7 Mbit/s for 1.5 s from %s: %d frames, worst lateness %v, %d stalls, %d restarts",
		rate/1e6, below.Format("15:04:05.000"), p.Frames, p.MaxLate.Round(time.Millisecond), len(p.Stalls), restarts)
	if len(p.Stalls) > 0 || restarts > 0 {
		t.Fatalf("the reader stalled at %v (restarts %d: %v)\n%s\n%s", p.Stalls, restarts, errs, hlsMetrics(a), logs)
	}
	// 18.5 s at 30 fps from the first frames on: most of them arrived.
	if p.Frames < 450 {
		t.Fatalf("only %d frames", p.Frames)
	}
}

// whepThroughRelay opens a WHEP session of p whose media goes through
// relay: kast's candidates in the answer name the relay instead, and the
// offer names none, so kast knows the peer only by the relay's address
// (a peer-reflexive candidate) and sends every packet through it.
func whepThroughRelay(t *testing.T, a *app, p *testutil.Peer, relay *testutil.UDPRelay) {
	t.Helper()
	var offer strings.Builder
	for _, l := range strings.SplitAfter(p.Offer(t), "\n") {
		if !strings.HasPrefix(l, "a=candidate:") && !strings.HasPrefix(l, "a=end-of-candidates") {
			offer.WriteString(l)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	var answer string
	for {
		resp, err := http.Post(a.testURL("/whep/main"), "application/sdp", strings.NewReader(offer.String()))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			answer = string(b)
			break
		}
		if resp.StatusCode != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("WHEP: %d %s", resp.StatusCode, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	kastPort := strconv.Itoa(a.rtc.UDPLocalAddr().(*net.UDPAddr).Port)
	relayPort := strconv.Itoa(relay.Addr().Port)
	re := regexp.MustCompile(`(?m)^(a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 )` + kastPort + ` `)
	rewritten := re.ReplaceAllString(answer, "${1}"+relayPort+" ")
	if rewritten == answer {
		t.Fatalf("no UDP candidate on port %s in the answer:\n%s", kastPort, answer)
	}
	p.Accept(t, rewritten)
}

// metric reads one sample of kast's /metrics (-1 when absent).
func metric(a *app, name string) float64 { return metricValue(metricLines(a, "kast_"), name) }

// TestFaultWHEPViewerLossyLink watches over WHEP through a link that loses
// 2 % of the packets each way: the viewer's NACKs are
// served from the stream's packet history, every frame is completed, and
// the video does not freeze. A second viewer on a clean link watches
// alongside: a pause that it sees too (ffmpeg or the shared machine
// stalled) is not the lossy link's.
func TestFaultWHEPViewerLossyLink(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	testutil.StartPublish(t, faultPublish(a.publishURL(testStreamKey), 40*time.Second))
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 20*time.Second)

	relay := testutil.NewUDPRelay(t, a.rtc.UDPLocalAddr().String(), 12)
	// Loss only: a delay would add the relay's own timer goroutine to the
	// lossy viewer's path, and its hiccups on a loaded machine would be
	// taken for the link's.
	relay.SetLoss(testutil.Up, 0.02)
	relay.SetLoss(testutil.Down, 0.02)
	lossy, clean := testutil.NewPeer(t), testutil.NewPeer(t)
	lfc, cfc := testutil.NewFrameChecker(), testutil.NewFrameChecker()
	lossy.OnVideoRTP(lfc.Push)
	clean.OnVideoRTP(cfc.Push)
	whepThroughRelay(t, a, lossy, relay)
	if resp, body := clean.WHEP(t, a.testURL("/whep/main")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHEP: %d %s", resp.StatusCode, body)
	}
	lossy.WaitFrames(t, 30, 20*time.Second)
	clean.WaitFrames(t, 30, 20*time.Second)
	// Judged from here: packets lost before the first one a client got
	// cannot be NACKed (it does not know of them), and it starts on the
	// next keyframe, as a browser would.
	ls0, cs0, from := lfc.Stats(), cfc.Stats(), time.Now()
	time.Sleep(15 * time.Second)
	ls, cs := lfc.Stats(), cfc.Stats()
	served := metric(a, "kast_webrtc_nack_served_total")
	nacked := metric(a, "kast_webrtc_nacked_packets_total")
	lost := ls.LostPackets - ls0.LostPackets
	t.Logf("through the relay: %d datagrams down (%d dropped), %d up (%d dropped); kast: %v packets NACKed, %v served; "+
		"lossy viewer: %d complete frames in 15 s, %d packets lost for good, pauses %v; clean viewer: %d frames, pauses %v",
		relay.Forwarded(testutil.Down), relay.Dropped(testutil.Down), relay.Forwarded(testutil.Up), relay.Dropped(testutil.Up),
		nacked, served, ls.Frames-ls0.Frames, lost, ls.FreezesAfter(from), cs.Frames-cs0.Frames, cs.FreezesAfter(from))
	rec := append([]time.Duration(nil), ls.Recovered...)
	slices.Sort(rec)
	if len(rec) > 0 {
		t.Logf("lossy viewer: %d packets recovered, after %v (median) to %v (max)", len(rec), rec[len(rec)/2].Round(time.Millisecond), rec[len(rec)-1].Round(time.Millisecond))
	}
	if len(rec) < 10 {
		t.Fatalf("only %d retransmissions reached the viewer", len(rec))
	}
	if relay.Dropped(testutil.Down) < 20 {
		t.Fatalf("the relay dropped only %d packets: the test did not test loss", relay.Dropped(testutil.Down))
	}
	if served == 0 {
		t.Fatalf("no NACK served\n%s\n%s", metricLines(a, "kast_webrtc"), logs)
	}
	if got, want := ls.Frames-ls0.Frames, cs.Frames-cs0.Frames; got < want-15 || got < 300 {
		t.Fatalf("%d complete frames through the lossy link, %d on the clean one", got, want)
	}
	if fr := ls.Unexplained(cs, from); len(fr) > 0 || lost > 0 {
		t.Fatalf("video froze %v; %d packets never recovered (losses at %v; judged from %s)\n%s",
			fr, lost, ls.LossEvents, from.Format("15:04:05.000"), metricLines(a, "kast_webrtc"))
	}
}

// TestFaultPublisherLinkDrops cuts the publisher's link for 5 s (nothing
// gets through), then resets it, as a NAT that dropped the connection
// would; the encoder reconnects, as OBS does. hls.js in Chromium (its
// default configuration) opened before the drop keeps playing the same
// playlist URL, which goes on with EXT-X-DISCONTINUITY; the WHEP viewer connected
// before the drop receives video again in the same session, without
// renegotiating.
func TestFaultPublisherLinkDrops(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	testutil.RequireBrowser(t)
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	proxy := testutil.NewFaultProxy(t, a.rtmp.Addr().String())
	url := "rtmp://" + proxy.Addr() + "/live/" + testStreamKey
	first := testutil.StartPublish(t, faultPublish(url, 60*time.Second))
	playlist := a.testURL("/hls/main/media.m3u8")
	waitHTTP(t, playlist, 20*time.Second)

	p := waitWHEPLive(t, a)
	fc := testutil.NewFrameChecker()
	p.OnVideoRTP(fc.Push)
	type played struct {
		res  testutil.PlayResult
		code int
	}
	page := make(chan played, 1)
	pages := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	defer pages.Close()
	hlsjs := pages.URL + "/hlsjs.html?src=" + neturl.QueryEscape(a.testURL("/hls/main/index.m3u8")) +
		"&player=" + neturl.QueryEscape(a.testURL("/assets/hls.min.js"))
	go func() {
		res, code := testutil.Play(t, hlsjs, "40", "30")
		page <- played{res, code}
	}()
	p.WaitFrames(t, 60, 15*time.Second)
	// The page plays once hls.js fetches parts (nothing else here does);
	// the drop comes 4 s later.
	deadline := time.Now().Add(40 * time.Second)
	for partRequests(a) < 10 {
		if time.Now().After(deadline) {
			t.Fatal("hls.js fetched no parts in 40 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(4 * time.Second)

	cut := time.Now()
	proxy.CutFor(5*time.Second, true)
	select {
	case <-first.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("ffmpeg did not notice the reset")
	}
	back := time.Now()
	t.Logf("link cut at %s, reset 5 s later; ffmpeg exited after %v (%q); reconnecting",
		cut.Format("15:04:05.000"), back.Sub(cut).Round(time.Millisecond), firstLine(first.Output()))
	beforeWHEP := p.Stats().Frames
	testutil.StartPublish(t, faultPublish(url, 60*time.Second))
	p.WaitFrames(t, beforeWHEP+90, 20*time.Second)
	whepBack := time.Now()

	res, err := http.Get(playlist)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "#EXT-X-DISCONTINUITY\n") {
		t.Fatalf("playlist %d without EXT-X-DISCONTINUITY:\n%s", res.StatusCode, body)
	}
	pl := <-page

	// The page: sampled every 250 ms from sampling on.
	if !pl.res.Started || pl.res.StartMs == nil {
		t.Fatalf("hls.js did not play: %+v\n%s", pl.res, logs)
	}
	series, wall := pl.res.FramesSeries, pl.res.WallSeries
	if len(wall) != len(series) || len(series) < 10 {
		t.Fatalf("page samples: %d frames, %d times", len(series), len(wall))
	}
	sampling := time.UnixMilli(wall[0])
	// at returns the sample taken at t or just after.
	at := func(t time.Time) int {
		for i, w := range wall {
			if w >= t.UnixMilli() {
				return i
			}
		}
		return len(wall) - 1
	}
	if !sampling.Before(cut.Add(-2 * time.Second)) {
		t.Fatalf("the page started playing at %s, too late to watch the drop at %s", sampling.Format("15:04:05.000"), cut.Format("15:04:05.000"))
	}
	iCut, iBack := at(cut), at(back)
	end := len(series) - 1
	t.Logf("hls.js: frames %d at the cut, %d at the reset, %d at the end (%.1f s after the reset); currentTime %v at the cut, %v at the reset, %v at the end; latency %v s; errors %v",
		series[iCut], series[iBack], series[end], float64(wall[end]-wall[iBack])/1000,
		pl.res.TimeSeries[iCut], pl.res.TimeSeries[iBack], pl.res.TimeSeries[end], derefF(pl.res.Latency), pl.res.Errors)
	if series[iCut] <= series[0] {
		t.Fatalf("the page was not playing before the cut: %v", series)
	}
	// Playing again after the reconnect: 5 s in a row with frames
	// decoded in every sample (a loaded machine's hiccup elsewhere is
	// tolerated), well past the frames before the drop.
	if series[end] < series[iBack]+150 || longestGrowth(series[iBack:]) < 20 {
		t.Fatalf("hls.js did not go on after the reconnect: frames %v (cut at sample %d, reset at %d); errors %v", series, iCut, iBack, pl.res.Errors)
	}

	s := fc.Stats()
	if sessions := metric(a, `kast_webrtc_sessions{direction="whep"}`); sessions != 1 {
		t.Fatalf("%v WHEP sessions", sessions)
	}
	if st := p.PC.ConnectionState().String(); st != "connected" {
		t.Fatalf("WHEP peer %s", st)
	}
	if resumed := metric(a, "kast_webrtc_viewers_resumed_total"); resumed != 1 {
		t.Fatalf("resumed %v\n%s", resumed, logs)
	}
	t.Logf("WHEP: 90 frames after the reconnect %v after the reset, %d complete frames in all, pauses %v, %d packets lost",
		whepBack.Sub(back).Round(time.Millisecond), s.Frames, s.FreezesAfter(cut), s.LostPackets)
	// One long pause, the outage; shorter ones after it are the shared
	// machine's (two ffmpeg, Chromium and kast on 2 cores).
	long := 0
	for _, f := range s.FreezesAfter(cut) {
		if f.Gap > 3*time.Second {
			long++
		}
	}
	if long != 1 || time.Since(s.Last) > time.Second {
		t.Fatalf("WHEP pauses %v (last frame %v ago), want one long one, the outage", s.FreezesAfter(cut), time.Since(s.Last))
	}
}

// partRequests returns how many LL-HLS parts kast served.
func partRequests(a *app) float64 {
	n := 0.0
	for _, l := range strings.Split(metricLines(a, `kast_hls_requests_total{kind="part"`), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			v, _ := strconv.ParseFloat(f[1], 64)
			n += v
		}
	}
	return n
}

func derefF(p *float64) any {
	if p == nil {
		return "?"
	}
	return *p
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
