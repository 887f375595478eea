package webrtc

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/whip"
	"github.com/kastlive/kast/internal/rtc"
	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/relay"
)

const whipKey = "whip-test-key-for-main-0123456789"

// newWHIPEnv is newEnv with WHIP publishing: the key whipKey publishes
// to "main", "second-key" to "second".
func newWHIPEnv(t *testing.T) *env {
	t.Helper()
	e := &rtc.Engine{UDPAddr: "127.0.0.1:0"}
	if err := e.Initialize(); err != nil {
		t.Fatal(err)
	}
	r := &relay.Relay{Engine: e}
	if err := r.Initialize(); err != nil {
		t.Fatal(err)
	}
	hub := &ingest.Hub{}
	ws := &whip.Server{
		Engine: e,
		Hub:    hub,
		Authorize: func(_ context.Context, key string) (string, error) {
			switch key {
			case whipKey:
				return "main", nil
			case "second-key":
				return "second", nil
			}
			return "", ingest.ErrUnknownKey
		},
	}
	if err := ws.Initialize(); err != nil {
		t.Fatal(err)
	}
	ice, _ := rtc.ParseICEServers("stun:stun.example.org:3478")
	h := &Handler{Relay: r, WHIP: ws, Tracks: hubTracks{hub}, ICEServers: ice}
	if err := h.Initialize(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
		ws.Close()
		r.Close()
		e.Close()
	})
	return &env{srv: srv, engine: e, relay: r, handler: h, hub: hub}
}

// offerOnly returns the offer of a pion publisher that can send only the
// given video codec (and Opus).
func offerOnly(t *testing.T, video pwebrtc.RTPCodecCapability) []byte {
	t.Helper()
	me := &pwebrtc.MediaEngine{}
	if err := me.RegisterCodec(pwebrtc.RTPCodecParameters{RTPCodecCapability: video, PayloadType: 98}, pwebrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	if err := me.RegisterCodec(pwebrtc.RTPCodecParameters{RTPCodecCapability: pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, pwebrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	se := pwebrtc.SettingEngine{}
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIncludeLoopbackCandidate(true)
	pc, err := pwebrtc.NewAPI(pwebrtc.WithMediaEngine(me), pwebrtc.WithSettingEngine(se)).NewPeerConnection(pwebrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []pwebrtc.RTPCodecType{pwebrtc.RTPCodecTypeVideo, pwebrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, pwebrtc.RTPTransceiverInit{Direction: pwebrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := pwebrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-g
	return []byte(pc.LocalDescription().SDP)
}

func postSDP(t *testing.T, url, ctype, auth string, body []byte) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestWHIPRefusals checks the status codes and reasons of refused offers.
func TestWHIPRefusals(t *testing.T) {
	e := newWHIPEnv(t)
	good := testutil.NewPublisher(t, true, true).Offer()
	vp9 := offerOnly(t, pwebrtc.RTPCodecCapability{MimeType: pwebrtc.MimeTypeVP9, ClockRate: 90000})
	bearer := "Bearer " + whipKey
	for _, tc := range []struct {
		name, path, ctype, auth string
		body                    []byte
		status                  int
		reason                  string
		header                  [2]string
	}{
		{"not sdp", "/whip/main", "text/plain", bearer, good, 415, "application/sdp", [2]string{}},
		{"unknown track", "/whip/nope", "application/sdp", bearer, good, 404, `no track "nope"`, [2]string{}},
		{"no key", "/whip/main", "application/sdp", "", good, 401, "Authorization: Bearer", [2]string{"WWW-Authenticate", `Bearer realm="kast"`}},
		{"basic auth", "/whip/main", "application/sdp", "Basic dTpw", good, 401, "Authorization: Bearer", [2]string{}},
		{"unknown key", "/whip/main", "application/sdp", "Bearer wrong", good, 401, "unknown stream key", [2]string{"WWW-Authenticate", `Bearer realm="kast", error="invalid_token"`}},
		{"other track's key", "/whip/main", "application/sdp", "Bearer second-key", good, 403, `publishes to track "second", not "main"`, [2]string{}},
		{"malformed", "/whip/main", "application/sdp", bearer, []byte("v=0\r\nbogus\r\n"), 400, "malformed SDP offer", [2]string{}},
		{"no media", "/whip/main", "application/sdp", bearer, []byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"), 400, "no audio or video m-line", [2]string{}},
		{"receive only", "/whip/main", "application/sdp", bearer, []byte(strings.ReplaceAll(string(good), "a=sendonly", "a=recvonly")), 400, "no audio or video m-line sends media", [2]string{}},
		{"VP9 only", "/whip/main", "application/sdp", bearer, vp9, 422,
			"no common video codec: the offer has VP9/90000; kast has H264/90000 packetization-mode=1, VP8/90000", [2]string{}},
		{"too large", "/whip/main", "application/sdp", bearer, []byte(strings.Repeat("a", rtc.MaxOfferSize+1)), 413, "64 KiB", [2]string{}},
	} {
		resp, body := postSDP(t, e.srv.URL+tc.path, tc.ctype, tc.auth, tc.body)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.reason) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, resp.StatusCode, body, tc.status, tc.reason)
		}
		if tc.header[0] != "" && resp.Header.Get(tc.header[0]) != tc.header[1] {
			t.Errorf("%s: %s %q, want %q", tc.name, tc.header[0], resp.Header.Get(tc.header[0]), tc.header[1])
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: no CORS header", tc.name)
		}
	}
	if st := e.handler.WHIP.Stats(); st.Sessions != 0 || st.Created != 0 {
		t.Fatalf("refused offers left sessions: %+v", st)
	}
	if e.hub.Stats().Publishers != 0 {
		t.Fatal("a refused offer claimed the track")
	}
}

// TestWHIPBusyTrack: a track with a live publisher answers 409 with
// Retry-After; once that publisher has been silent for ingest.StaleAfter,
// a WHIP offer takes the track over.
func TestWHIPBusyTrack(t *testing.T) {
	e := newWHIPEnv(t)
	kicked := make(chan struct{})
	pub, err := e.hub.Claim("main", "rtmp 127.0.0.1:9", func() { close(kicked) })
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(nil)
	st := pub.Start(ingest.Media{Audio: ingest.NewOpus(2)})
	st.Write(&ingest.Unit{Kind: ingest.KindAudio, Received: time.Now(), Key: true, Frame: []byte{0xfc}})
	p := testutil.NewPublisher(t, true, true)
	resp, body := p.WHIP(e.srv.URL+"/whip/main", whipKey)
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("Retry-After") != "3" || !strings.Contains(body, "already publishing") {
		t.Fatalf("live track: %d %q Retry-After %q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	st.Write(&ingest.Unit{Kind: ingest.KindAudio, Received: time.Now().Add(-ingest.StaleAfter - time.Second), Key: true, Frame: []byte{0xfc}})
	p2 := testutil.NewPublisher(t, true, true)
	if resp, body := p2.WHIP(e.srv.URL+"/whip/main", whipKey); resp.StatusCode != http.StatusCreated {
		t.Fatalf("stale publisher not taken over: %d %q", resp.StatusCode, body)
	}
	select {
	case <-kicked:
	case <-time.After(time.Second):
		t.Fatal("stale publisher not kicked")
	}
}

// TestWHIPToWHEP publishes with a stock pion WHIP client over HTTP and
// watches with a stock pion WHEP client: the viewer starts on a keyframe
// and gets video and Opus; DELETE ends the publish, the track is free at
// once, and the session URL is gone.
func TestWHIPToWHEP(t *testing.T) {
	e := newWHIPEnv(t)
	pub := testutil.NewPublisher(t, true, true)
	resp, body := pub.WHIP(e.srv.URL+"/whip/main", whipKey)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/whip/main/") || resp.Header.Get("ETag") == "" ||
		resp.Header.Get("Accept-Patch") != "application/trickle-ice-sdpfrag" ||
		!strings.Contains(resp.Header.Get("Link"), `rel="ice-server"`) {
		t.Fatalf("headers %v", resp.Header)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go pub.Send(ctx, testutil.LoadClip(t, 30), true)

	var viewer *testutil.Peer
	waitUntil(t, 10*time.Second, "track live over WHEP", func() bool {
		viewer = testutil.NewPeer(t)
		resp, _ := viewer.WHEP(t, e.srv.URL+"/whep/main")
		if resp.StatusCode == http.StatusCreated {
			return true
		}
		viewer.PC.Close()
		return false
	})
	s := viewer.WaitFrames(t, 60, 10*time.Second)
	if !s.FirstFrameWasKey || s.VideoCodec != "video/H264" || s.AudioCodec != "audio/opus" || s.AudioPackets < 50 {
		t.Fatalf("viewer stats %+v", s)
	}

	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+loc, nil)
	dresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	dresp.Body.Close()
	if dresp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", dresp.StatusCode)
	}
	if e.hub.Live("main") != nil || e.hub.Stats().Publishers != 0 {
		t.Fatal("track still live after DELETE returned")
	}
	waitUntil(t, 2*time.Second, "session URL gone", func() bool {
		req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+loc, nil)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode == http.StatusNotFound
	})
	// Publishing again right away works: nothing holds the track.
	pub2 := testutil.NewPublisher(t, true, true)
	if resp, body := pub2.WHIP(e.srv.URL+"/whip/main", whipKey); resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish after DELETE: %d %s", resp.StatusCode, body)
	}
}

// TestWHIPOptions: a preflight gets CORS without Link headers; a plain
// OPTIONS gets Accept-Post and the ICE servers.
func TestWHIPOptions(t *testing.T) {
	e := newWHIPEnv(t)
	req, _ := http.NewRequest(http.MethodOptions, e.srv.URL+"/whip/main", nil)
	req.Header.Set("Origin", "https://conf.example.org")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || h.Get("Link") != "" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, h)
	}
	req, _ = http.NewRequest(http.MethodOptions, e.srv.URL+"/whip/main", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Accept-Post") != "application/sdp" || !strings.Contains(resp.Header.Get("Link"), "stun:stun.example.org") {
		t.Fatalf("OPTIONS: %v", resp.Header)
	}
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWHIPPatch: trickled candidates (204), a stale ETag (412), a whole
// SDP (422), and an ICE restart (428 without If-Match, 200 with a new
// ETag); the publisher applies kast's new credentials and its media keeps
// reaching the hub over the restarted ICE session.
func TestWHIPPatch(t *testing.T) {
	e := newWHIPEnv(t)
	var mu sync.Mutex
	units := 0
	e.hub.OnStream(func(s *ingest.Stream) {
		r := s.Subscribe(0)
		go func() {
			for range r.Units() {
				mu.Lock()
				units++
				mu.Unlock()
			}
		}()
	})
	count := func() int { mu.Lock(); defer mu.Unlock(); return units }
	pub := testutil.NewPublisher(t, true, true)
	resp, body := pub.WHIP(e.srv.URL+"/whip/main", whipKey)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	loc, tag := e.srv.URL+resp.Header.Get("Location"), resp.Header.Get("ETag")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go pub.Send(ctx, testutil.LoadClip(t, 30), true)
	waitUntil(t, 10*time.Second, "media in the hub", func() bool { return count() > 30 })

	patch := func(frag, ifMatch string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPatch, loc, strings.NewReader(frag))
		req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		r := do(t, req)
		b, _ := io.ReadAll(r.Body)
		return r, string(b)
	}
	local := pub.PC.LocalDescription().SDP
	ufrag := sdpAttr(local, "a=ice-ufrag:")
	if r, b := patch("a=ice-ufrag:"+ufrag+"\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n", tag); r.StatusCode != http.StatusNoContent {
		t.Fatalf("trickle: %d %s", r.StatusCode, b)
	}
	if r, _ := patch("a=end-of-candidates\r\n", `"stale"`); r.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d", r.StatusCode)
	}
	if r, _ := patch("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", ""); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("whole SDP: %d", r.StatusCode)
	}

	// ICE restart, as RFC 9725 4.3.2 describes it.
	offer, err := pub.PC.CreateOffer(&pwebrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	g := pwebrtc.GatheringCompletePromise(pub.PC)
	if err := pub.PC.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-g
	frag := ""
	for _, l := range strings.SplitAfter(pub.PC.LocalDescription().SDP, "\r\n") {
		if strings.HasPrefix(l, "a=ice-ufrag:") || strings.HasPrefix(l, "a=ice-pwd:") || strings.HasPrefix(l, "a=candidate:") {
			frag += l
		}
	}
	if r, _ := patch(frag, ""); r.StatusCode != http.StatusPreconditionRequired {
		t.Fatalf("restart without If-Match: %d", r.StatusCode)
	}
	r, answerFrag := patch(frag, tag)
	if r.StatusCode != http.StatusOK || r.Header.Get("ETag") == tag || r.Header.Get("ETag") == "" {
		t.Fatalf("restart: %d, ETag %q (was %q)\n%s", r.StatusCode, r.Header.Get("ETag"), tag, answerFrag)
	}
	// The publisher's new answer: kast's first one with the new
	// credentials and candidates of the fragment.
	answer := body
	var cands []string
	for _, l := range strings.SplitAfter(answerFrag, "\r\n") {
		if strings.HasPrefix(l, "a=candidate:") {
			cands = append(cands, l)
		}
	}
	var out []string
	for _, l := range strings.SplitAfter(answer, "\r\n") {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = "a=ice-ufrag:" + sdpAttr(answerFrag, "a=ice-ufrag:") + "\r\n"
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = "a=ice-pwd:" + sdpAttr(answerFrag, "a=ice-pwd:") + "\r\n"
		case strings.HasPrefix(l, "a=candidate:"):
			continue
		case strings.HasPrefix(l, "a=end-of-candidates"):
			out = append(out, cands...)
		}
		out = append(out, l)
	}
	if err := pub.PC.SetRemoteDescription(pwebrtc.SessionDescription{Type: pwebrtc.SDPTypeAnswer, SDP: strings.Join(out, "")}); err != nil {
		t.Fatalf("applying the restart answer: %v", err)
	}
	before := count()
	time.Sleep(3 * time.Second)
	if n := count() - before; n < 60 {
		t.Fatalf("%d units in 3 s after the ICE restart", n)
	}
	if st := e.handler.WHIP.Stats(); st.Sessions != 1 || st.Created != 1 {
		t.Fatalf("stats after the restart %+v", st)
	}
}

func sdpAttr(sdp, prefix string) string {
	i := strings.Index(sdp, prefix)
	if i < 0 {
		return ""
	}
	rest := sdp[i+len(prefix):]
	return rest[:strings.IndexAny(rest, "\r\n")]
}
