package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/web/gate"
)

// TestGatedEventWholeServer runs the organizer's and the attendee's side
// of a registered event through kast's API, against a real SQLite file:
// the track's HLS needs a playback token (none: 401; tampered or expired:
// 401; the issued one: 200), which only a logged-in, registered account
// gets; a WHEP offer is refused through the gate's hook; a websocket on
// the live channel sees the organizer's on-air switch within a second;
// and once the event is made public nobody needs a token.
func TestGatedEventWholeServer(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_ADMIN_TOKEN": testAdminToken})
	admin := &http.Client{}
	now := time.Now().UTC()
	must := func(want, got int, body []byte, what string) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: %d %s, want %d", what, got, body, want)
		}
	}
	code, body := apiDo(t, admin, a, "POST", "/api/v1/events", map[string]any{"slug": "devconf", "name": "DevConf",
		"start": now.Add(-24 * time.Hour).Format(time.RFC3339), "end": now.Add(24 * time.Hour).Format(time.RFC3339), "access": "registered"}, true)
	must(201, code, body, "create event")
	var event struct{ ID int64 }
	json.Unmarshal(body, &event)
	code, body = apiDo(t, admin, a, "POST", "/api/v1/events/devconf/tracks", map[string]any{"slug": "stage", "name": "Stage"}, true)
	must(201, code, body, "create track")
	var track struct {
		StreamKey string `json:"stream_key"`
	}
	json.Unmarshal(body, &track)
	code, body = apiDo(t, admin, a, "POST", "/api/v1/events/devconf/talks", map[string]any{"track": "stage", "title": "Opening",
		"start": now.Add(-time.Minute).Format(time.RFC3339), "end": now.Add(time.Hour).Format(time.RFC3339)}, true)
	must(201, code, body, "create talk")
	var talk struct{ ID int64 }
	json.Unmarshal(body, &talk)

	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(track.StreamKey), Duration: 40 * time.Second, Size: "640x360", Bitrate: "800k"})
	hls := a.testURL("/hls/stage/media.m3u8")

	// An attendee registers (and is logged in) and fetches a token.
	jar, _ := cookiejar.New(nil)
	attendee := &http.Client{Jar: jar}
	code, body = apiDo(t, attendee, a, "GET", "/api/v1/events/devconf/playback-token", nil, false)
	must(401, code, body, "token before signing in")
	code, body = apiDo(t, attendee, a, "POST", "/api/v1/events/devconf/registrations", map[string]any{"name": "Ada", "email": "ada@example.org",
		"password": "analytical engine", "participation": "online", "consent_terms": true}, false)
	if code != 200 && code != 201 {
		t.Fatalf("register: %d %s", code, body)
	}
	stranger, _ := cookiejar.New(nil)
	code, body = apiDo(t, &http.Client{Jar: stranger}, a, "POST", "/api/v1/events/meetup/registrations", map[string]any{"name": "Eve", "email": "eve@example.org",
		"password": "not registered there", "participation": "online", "consent_terms": true}, false)
	if code != 200 && code != 201 {
		t.Fatalf("register elsewhere: %d %s", code, body)
	}
	code, body = apiDo(t, &http.Client{Jar: stranger}, a, "GET", "/api/v1/events/devconf/playback-token", nil, false)
	must(403, code, body, "token for an account registered elsewhere")
	code, body = apiDo(t, attendee, a, "GET", "/api/v1/events/devconf/playback-token", nil, false)
	must(200, code, body, "token")
	var tok struct {
		Token  string
		Tracks []struct {
			HLSURL string `json:"hls_url"`
		}
	}
	json.Unmarshal(body, &tok)

	get := func(c *http.Client, url string, hdr ...string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for deadline := time.Now().Add(15 * time.Second); get(attendee, hls) != 200; {
		if time.Now().After(deadline) {
			t.Fatal("the attendee's player never got the playlist")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A registered event's media is private to the viewer: no shared
	// cache in front may store it for others.
	if cc := cacheControlOf(t, attendee, hls+"?_HLS_msn=0&_HLS_part=0"); cc != "private, max-age=1" {
		t.Errorf("blocking playlist of a registered event: Cache-Control %q", cc)
	}
	flip := "A"
	if tok.Token[40] == 'A' {
		flip = "B"
	}
	expired := a.gate.Signer.Issue(gate.Claims{EventID: event.ID, Session: gate.RefOf("1"), Expires: now.Add(-time.Second)})
	for _, c := range []struct {
		name   string
		client *http.Client
		url    string
		want   int
	}{
		{"no credential", http.DefaultClient, hls, 401},
		{"cookie from the token endpoint", attendee, hls, 200},
		{"token URL from the endpoint", http.DefaultClient, a.testURL(tok.Tracks[0].HLSURL), 200},
		{"tampered token", http.DefaultClient, hls + "?token=" + tok.Token[:40] + flip + tok.Token[41:], 401},
		{"expired token", http.DefaultClient, hls + "?token=" + expired, 401},
	} {
		if got := get(c.client, c.url); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// web/webrtc is not on main yet: the hook it will call refuses an
	// offer without a token.
	offer := httptest.NewRequest("POST", "/whep/stage", strings.NewReader("v=0\r\n"))
	if err := a.gate.CheckWHEP(offer, "stage"); err == nil || err.(interface{ HTTPStatus() int }).HTTPStatus() != 401 {
		t.Errorf("WHEP offer without a token: %v", err)
	}
	offer.Header.Set("Authorization", "Bearer "+tok.Token)
	if err := a.gate.CheckWHEP(offer, "stage"); err != nil {
		t.Errorf("WHEP offer with the token: %v", err)
	}

	// The organizer switches on air; the live channel has it within 1 s.
	msgs := dialLive(t, a, "devconf")
	if m := <-msgs; m.msg.Type != "hello" {
		t.Fatalf("first message %+v", m.msg)
	}
	sent := time.Now()
	code, body = apiDo(t, admin, a, "PUT", "/api/v1/tracks/stage/on-air", map[string]any{"talk_id": talk.ID}, true)
	must(200, code, body, "on-air")
	for m := range msgs {
		if m.msg.Type != "on_air" {
			continue
		}
		if d := m.at.Sub(sent); d > time.Second || m.msg.Talk == nil || m.msg.Talk.ID != talk.ID {
			t.Fatalf("on_air %+v %v after the PUT", m.msg, d)
		}
		t.Logf("on_air %v after the organizer's PUT", m.at.Sub(sent).Round(time.Millisecond))
		break
	}

	// Logged out, the account gets no new token.
	code, body = apiDo(t, attendee, a, "DELETE", "/api/v1/session", nil, false)
	must(204, code, body, "logout")
	code, body = apiDo(t, attendee, a, "GET", "/api/v1/events/devconf/playback-token", nil, false)
	must(401, code, body, "token after logout")
	// ...and the token it had stops working at once.
	if got := get(http.DefaultClient, a.testURL(tok.Tracks[0].HLSURL)); got != 401 {
		t.Errorf("token issued before the logout: %d, want 401", got)
	}

	// Public now: no token needed, through the feed's event change.
	code, body = apiDo(t, admin, a, "PATCH", "/api/v1/events/devconf", map[string]any{"access": "public"}, true)
	must(200, code, body, "make public")
	for deadline := time.Now().Add(2 * time.Second); get(http.DefaultClient, hls) != 200 ||
		cacheControlOf(t, http.DefaultClient, hls+"?_HLS_msn=0&_HLS_part=0") != "public, max-age=1"; {
		if time.Now().After(deadline) {
			t.Fatal("the public event still asks for a token, or its media is still private")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cacheControlOf returns the Cache-Control of a 200 answer to url.
func cacheControlOf(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Sprintf("(status %d)", res.StatusCode)
	}
	return res.Header.Get("Cache-Control")
}
