package webrtc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	pwebrtc "github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/rtc"
	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/relay"
)

// hubTracks knows the tracks "main" and "second" and asks the hub what
// is live on them.
type hubTracks struct{ hub *ingest.Hub }

func (h hubTracks) Track(_ context.Context, slug string) (*ingest.Stream, bool, error) {
	if slug != "main" && slug != "second" {
		return nil, false, nil
	}
	return h.hub.Live(slug), true, nil
}

type env struct {
	srv     *httptest.Server
	engine  *rtc.Engine
	relay   *relay.Relay
	handler *Handler
	hub     *ingest.Hub
}

func newEnv(t *testing.T, gate Gate) *env { return newEnvWith(t, gate, nil) }

// newEnvWith is newEnv with config applied to the handler before it
// starts.
func newEnvWith(t *testing.T, gate Gate, config func(*Handler)) *env {
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
	ice, _ := rtc.ParseICEServers("stun:stun.example.org:3478,turn:u:p@turn.example.org:3478?transport=udp")
	h := &Handler{Relay: r, Tracks: hubTracks{hub}, Gate: gate, ICEServers: ice}
	if config != nil {
		config(h)
	}
	if err := h.Initialize(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
		r.Close()
		e.Close()
	})
	return &env{srv: srv, engine: e, relay: r, handler: h, hub: hub}
}

// publish makes "main" live with a synthetic H.264 + Opus stream.
func (e *env) publish(t *testing.T) *ingest.Stream {
	p, err := e.hub.Claim("main", "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Start(testutil.SyntheticMedia(ingest.NewOpus(2)))
	t.Cleanup(func() { p.Close(nil) }) // after the feed stopped
	testutil.FeedSynthetic(t, s)
	return s
}

func TestWHEPPlaysAndDeletes(t *testing.T) {
	e := newEnv(t, nil)
	e.publish(t)
	p := testutil.NewPeer(t)
	resp, body := p.WHEP(t, e.srv.URL+"/whep/main")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/whep/main/") || resp.Header.Get("ETag") == "" ||
		resp.Header.Get("Content-Type") != "application/sdp" || resp.Header.Get("Accept-Patch") != "application/trickle-ice-sdpfrag" {
		t.Fatalf("headers %v", resp.Header)
	}
	if links := resp.Header.Values("Link"); len(links) != 2 || !strings.Contains(links[1], `username="u"`) {
		t.Fatalf("Link headers %q", links)
	}
	s := p.WaitFrames(t, 15, 10*time.Second)
	if !s.FirstFrameWasKey || s.AudioPackets == 0 {
		t.Fatalf("stats %+v", s)
	}

	// A trickled candidate: 204.
	req, _ := http.NewRequest(http.MethodPatch, e.srv.URL+loc, strings.NewReader(
		"a=ice-ufrag:"+remoteUfrag(p)+"\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n"))
	req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
	req.Header.Set("If-Match", resp.Header.Get("ETag"))
	if r := do(t, req); r.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(r.Body)
		t.Fatalf("trickle PATCH: %d %s", r.StatusCode, b)
	}
	// A stale ETag: 412.
	req, _ = http.NewRequest(http.MethodPatch, e.srv.URL+loc, strings.NewReader("a=end-of-candidates\r\n"))
	req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
	req.Header.Set("If-Match", `"stale"`)
	if r := do(t, req); r.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("stale If-Match: %d", r.StatusCode)
	}
	// A whole SDP instead of a fragment: 422.
	req, _ = http.NewRequest(http.MethodPatch, e.srv.URL+loc, strings.NewReader("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"))
	req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
	if r := do(t, req); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("unsupported PATCH: %d", r.StatusCode)
	}

	req, _ = http.NewRequest(http.MethodDelete, e.srv.URL+loc, nil)
	if r := do(t, req); r.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", r.StatusCode)
	}
	waitFor(t, func() bool { return e.handler.Sessions() == 0 && e.relay.Viewers() == 0 }, "session gone after DELETE")
	if r := do(t, req); r.StatusCode != http.StatusNotFound {
		t.Fatalf("second DELETE: %d", r.StatusCode)
	}
}

func remoteUfrag(p *testutil.Peer) string {
	sdp := p.PC.LocalDescription().SDP
	i := strings.Index(sdp, "a=ice-ufrag:")
	rest := sdp[i+len("a=ice-ufrag:"):]
	return rest[:strings.IndexAny(rest, "\r\n")]
}

func TestWHEPICERestart(t *testing.T) {
	e := newEnv(t, nil)
	e.publish(t)
	p := testutil.NewPeer(t)
	resp, body := p.WHEP(t, e.srv.URL+"/whep/main")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	p.WaitFrames(t, 5, 10*time.Second)
	offer, err := p.PC.CreateOffer(&pwebrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	g := pwebrtc.GatheringCompletePromise(p.PC)
	if err := p.PC.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-g
	frag := ""
	for _, l := range strings.SplitAfter(p.PC.LocalDescription().SDP, "\r\n") {
		if strings.HasPrefix(l, "a=ice-ufrag:") || strings.HasPrefix(l, "a=ice-pwd:") || strings.HasPrefix(l, "a=candidate:") {
			frag += l
		}
	}
	patch := func(ifMatch string) *http.Response {
		req, _ := http.NewRequest(http.MethodPatch, e.srv.URL+resp.Header.Get("Location"), strings.NewReader(frag))
		req.Header.Set("Content-Type", "application/trickle-ice-sdpfrag")
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		return do(t, req)
	}
	if r := patch(""); r.StatusCode != http.StatusPreconditionRequired {
		t.Fatalf("restart without If-Match: %d", r.StatusCode)
	}
	r := patch("*")
	answerFrag, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusOK || r.Header.Get("ETag") == resp.Header.Get("ETag") || r.Header.Get("ETag") == "" {
		t.Fatalf("restart: %d, ETag %q (was %q)\n%s", r.StatusCode, r.Header.Get("ETag"), resp.Header.Get("ETag"), answerFrag)
	}
	if !strings.Contains(string(answerFrag), "a=ice-ufrag:") || !strings.Contains(string(answerFrag), "a=candidate:") {
		t.Fatalf("answer fragment:\n%s", answerFrag)
	}
}

func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Body.Close() })
	return r
}

func post(t *testing.T, url, ctype, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r := do(t, req)
	b, _ := io.ReadAll(r.Body)
	return r, string(b)
}

func chromeOffer(t *testing.T) string {
	b, err := os.ReadFile("../../internal/rtc/testdata/chrome-whep-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWHEPStatusCodes(t *testing.T) {
	e := newEnv(t, func(r *http.Request, track string) error {
		if track == "second" && r.Header.Get("Authorization") == "Bearer other-event" {
			return statusErr{403, "this ticket is for another event"}
		}
		if track == "second" && r.Header.Get("Authorization") != "Bearer ticket" {
			return ErrUnauthorized
		}
		return nil
	})
	offer := chromeOffer(t)
	url := e.srv.URL + "/whep/"
	for _, tc := range []struct {
		name, track, ctype, body, auth string
		status                         int
		inBody, header                 string
	}{
		{"unknown track", "nope", "application/sdp", offer, "", 404, "no track", ""},
		{"not live", "main", "application/sdp", offer, "", 409, "not live", "Retry-After"},
		{"gated", "second", "application/sdp", offer, "", 401, "credential", "WWW-Authenticate"},
		{"gated, credential ok, not live", "second", "application/sdp", offer, "Bearer ticket", 409, "not live", ""},
		{"gated, the gate's own status", "second", "application/sdp", offer, "Bearer other-event", 403, "another event", ""},
		{"wrong type", "main", "text/plain", offer, "", 415, "application/sdp", ""},
		{"too big", "main", "application/sdp", strings.Repeat("a", 70<<10), "", 413, "64 KiB", ""},
	} {
		r, body := post(t, url+tc.track, tc.ctype, tc.body, "Authorization", tc.auth)
		if r.StatusCode != tc.status || !strings.Contains(body, tc.inBody) || (tc.header != "" && r.Header.Get(tc.header) == "") {
			t.Errorf("%s: %d %q %v", tc.name, r.StatusCode, body, r.Header)
		}
		if r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: no CORS header", tc.name)
		}
	}

	e.publish(t)
	for _, tc := range []struct {
		name, body string
		status     int
		inBody     string
	}{
		{"malformed", "v=0\r\nhello\r\n", 400, "malformed SDP offer"},
		{"no fingerprint", strings.ReplaceAll(offer, "a=fingerprint:", "a=x-fingerprint:"), 400, "no DTLS fingerprint"},
		{"no H.264 pm1", vp8Only(offer), 422, "no common video codec: the offer has VP8/90000"},
	} {
		r, body := post(t, url+"main", "application/sdp", tc.body)
		if r.StatusCode != tc.status || !strings.Contains(body, tc.inBody) {
			t.Errorf("%s: %d %q", tc.name, r.StatusCode, body)
		}
	}
	if n := e.handler.Sessions(); n != 0 {
		t.Fatalf("%d sessions after refused offers", n)
	}
}

// vp8Only keeps only VP8 on the video m-line.
func vp8Only(offer string) string {
	var out []string
	for _, l := range strings.SplitAfter(offer, "\r\n") {
		if strings.HasPrefix(l, "m=video") {
			l = "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
		}
		if strings.Contains(l, "H264") || strings.Contains(l, "AV1") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

func TestOPTIONS(t *testing.T) {
	e := newEnv(t, nil)
	// A WHEP client asking for ICE servers: Link headers.
	req, _ := http.NewRequest(http.MethodOptions, e.srv.URL+"/whep/main", nil)
	r := do(t, req)
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Accept-Post") != "application/sdp" || len(r.Header.Values("Link")) != 2 {
		t.Fatalf("OPTIONS: %d %v", r.StatusCode, r.Header)
	}
	// A browser's CORS preflight: no Link headers.
	req, _ = http.NewRequest(http.MethodOptions, e.srv.URL+"/whep/main", nil)
	req.Header.Set("Origin", "https://conference.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	r = do(t, req)
	if r.StatusCode != http.StatusNoContent || len(r.Header.Values("Link")) != 0 ||
		r.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Content-Type") ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "Location") {
		t.Fatalf("preflight: %d %v", r.StatusCode, r.Header)
	}
}

// Test200SessionsLeaveNothingBehind creates and deletes 200 WHEP
// sessions: no goroutine, socket or UDP mux state is left.
func Test200SessionsLeaveNothingBehind(t *testing.T) {
	e := newEnv(t, nil)
	e.publish(t)
	warm := testutil.NewPeer(t)
	resp, _ := warm.WHEP(t, e.srv.URL+"/whep/main")
	warm.WaitFrames(t, 1, 10*time.Second)
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+resp.Header.Get("Location"), nil)
	do(t, req)
	warm.PC.Close()
	http.DefaultClient.CloseIdleConnections()
	waitFor(t, func() bool { return e.relay.Viewers() == 0 }, "warm-up session gone")
	time.Sleep(300 * time.Millisecond)
	baseG, baseFD := runtime.NumGoroutine(), openFDs(t)

	for i := range 200 {
		p := testutil.NewPeer(t)
		resp, body := p.WHEP(t, e.srv.URL+"/whep/main")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("session %d: %d %s", i, resp.StatusCode, body)
		}
		if i%20 == 0 {
			p.WaitFrames(t, 1, 10*time.Second)
		}
		req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+resp.Header.Get("Location"), nil)
		if r := do(t, req); r.StatusCode != http.StatusOK {
			t.Fatalf("DELETE %d: %d", i, r.StatusCode)
		}
		p.PC.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), openFDs(t)
		if g <= baseG+3 && fd <= baseFD+3 && e.engine.MuxSessions() == 0 && e.handler.Sessions() == 0 && e.relay.Viewers() == 0 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("left behind: goroutines %d (base %d), fds %d (base %d), mux %d, sessions %d\n%s",
				g, baseG, fd, baseFD, e.engine.MuxSessions(), e.handler.Sessions(), buf[:n])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc")
	}
	return len(ents)
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

var _ = errors.New

// TestSessionEndsWhenPeerGoes closes the player without a DELETE: the
// session and its state go away by themselves.
func TestSessionEndsWhenPeerGoes(t *testing.T) {
	e := newEnv(t, nil)
	e.publish(t)
	p := testutil.NewPeer(t)
	resp, body := p.WHEP(t, e.srv.URL+"/whep/main")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	p.WaitFrames(t, 2, 10*time.Second)
	p.PC.Close()
	deadline := time.Now().Add(30 * time.Second)
	for e.handler.Sessions() != 0 || e.relay.Viewers() != 0 || e.engine.MuxSessions() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("session still there: %d sessions, %d viewers, mux %d", e.handler.Sessions(), e.relay.Viewers(), e.engine.MuxSessions())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// statusErr is an error with its HTTP status, like web/gate's.
type statusErr struct {
	status int
	msg    string
}

func (e statusErr) Error() string   { return e.msg }
func (e statusErr) HTTPStatus() int { return e.status }

// postOffer POSTs an offer whose peer never takes the answer: the
// session stays unconnected.
func postOffer(t *testing.T, url string) *http.Response {
	t.Helper()
	p := testutil.NewPeer(t)
	res, err := http.Post(url, "application/sdp", strings.NewReader(p.Offer(t)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// TestWHEPSessionLimits: offers past the per-source limit answer 429;
// sessions that never connect end after ConnectTimeout; when the
// sessions are full, the oldest unconnected one makes room for a new
// viewer, who plays.
func TestWHEPSessionLimits(t *testing.T) {
	e := newEnvWith(t, nil, func(h *Handler) { h.MaxPerSource, h.ConnectTimeout = 2, time.Second })
	e.publish(t)
	h := e.handler
	url := e.srv.URL + "/whep/main"
	for i := range 2 {
		if res := postOffer(t, url); res.StatusCode != http.StatusCreated {
			t.Fatalf("offer %d: %d", i, res.StatusCode)
		}
	}
	if res := postOffer(t, url); res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Fatalf("third offer from one source: %d (Retry-After %q)", res.StatusCode, res.Header.Get("Retry-After"))
	}
	waitFor(t, func() bool { return h.Sessions() == 0 }, "unconnected sessions ended after ConnectTimeout")
	if l := h.Limits(); l.RefusedPerSource != 1 || l.ConnectTimeouts != 2 {
		t.Fatalf("limits %+v", l)
	}

	e = newEnvWith(t, nil, func(h *Handler) { h.MaxPerSource, h.MaxSessions = -1, 2 })
	e.publish(t)
	h, url = e.handler, e.srv.URL+"/whep/main"
	for i := range 2 {
		if res := postOffer(t, url); res.StatusCode != http.StatusCreated {
			t.Fatalf("offer %d: %d", i, res.StatusCode)
		}
	}
	p := testutil.NewPeer(t)
	resp, body := p.WHEP(t, url)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("viewer past the full sessions: %d %s", resp.StatusCode, body)
	}
	if s := p.WaitFrames(t, 15, 10*time.Second); !s.FirstFrameWasKey {
		t.Fatalf("stats %+v", s)
	}
	if l := h.Limits(); l.DroppedUnconnected != 1 {
		t.Fatalf("limits %+v", l)
	}
}
