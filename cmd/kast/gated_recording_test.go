package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/web/gate"
)

// TestGatedTalkRecordingPlays: a talk of a registered event, recorded
// through the whole server, plays in ffmpeg from the token URL alone (the
// playlist's URIs carry the token) and with the kast_play cookie of
// /vod/<talk>/ alone; without a credential every file is 401, as /hls/.
func TestGatedTalkRecordingPlays(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_ADMIN_TOKEN": testAdminToken})
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
	code, body = apiDo(t, admin, a, "POST", "/api/v1/events/devconf/tracks", map[string]any{"slug": "stage", "name": "Stage"}, true)
	must(201, code, body, "create track")
	var track struct {
		StreamKey string `json:"stream_key"`
	}
	json.Unmarshal(body, &track)
	code, body = apiDo(t, admin, a, "POST", "/api/v1/events/devconf/talks", map[string]any{"track": "stage", "title": "Gated talk",
		"start": now.Add(-time.Minute).Format(time.RFC3339), "end": now.Add(time.Hour).Format(time.RFC3339)}, true)
	must(201, code, body, "create talk")
	var talk struct{ ID int64 }
	json.Unmarshal(body, &talk)

	jar, _ := cookiejar.New(nil)
	attendee := &http.Client{Jar: jar}
	code, body = apiDo(t, attendee, a, "POST", "/api/v1/events/devconf/registrations", map[string]any{"name": "Ada", "email": "ada@example.org",
		"password": "analytical engine", "participation": "online", "consent_terms": true}, false)
	if code != 200 && code != 201 {
		t.Fatalf("register: %d %s", code, body)
	}
	code, body = apiDo(t, attendee, a, "GET", "/api/v1/events/devconf/playback-token", nil, false)
	must(200, code, body, "token")
	var tok struct{ Token string }
	json.Unmarshal(body, &tok)

	pub := testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(track.StreamKey), Duration: 9 * time.Second, Size: "320x240", Bitrate: "300k"})
	waitHTTP(t, a.testURL("/hls/stage/index.m3u8?token="+tok.Token), 15*time.Second)
	code, body = apiDo(t, admin, a, "PUT", "/api/v1/tracks/stage/on-air", map[string]any{"talk_id": talk.ID}, true)
	must(200, code, body, "on air")
	time.Sleep(5 * time.Second)
	code, body = apiDo(t, admin, a, "PUT", "/api/v1/tracks/stage/on-air", map[string]any{"talk_id": nil}, true)
	must(200, code, body, "off air")
	pub.Wait(20 * time.Second)

	base := a.testURL(fmt.Sprintf("/vod/%d/", talk.ID))
	withToken := base + "index.m3u8?token=" + tok.Token
	pl := waitEndlist(t, withToken, 20*time.Second)
	if !strings.Contains(pl, ".m4s?token="+tok.Token) {
		t.Fatalf("tokened playlist does not pass the token on:\n%s", pl)
	}
	// No credential: 401, JSON, for the playlist, a segment, the MP4.
	seg := regexp.MustCompile(`(?m)^([^#\s][^?\s]*\.m4s)\?`).FindStringSubmatch(pl)[1]
	for _, p := range []string{"index.m3u8", seg, "talk.mp4"} {
		code, hdr, b := getBody(t, base+p)
		if code != 401 || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s without a credential: %d %q %s", p, code, hdr.Get("Content-Type"), b)
		}
	}

	// ffmpeg from the token URL alone.
	got, problems := decodeAll(t, withToken)
	t.Logf("token URL: %.2f s decoded", got)
	if len(problems) > 0 || got < 4 || got > 6.1 {
		t.Errorf("ffmpeg from the token URL: %.2f s, %v\n%s", got, problems, logs)
	}
	// The cookie the tokened fetch set, alone, with the plain URL.
	res, err := http.Get(withToken)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == gate.CookieName {
			cookie = c
		}
	}
	if cookie == nil || cookie.Path != fmt.Sprintf("/vod/%d/", talk.ID) {
		t.Fatalf("no kast_play cookie for the talk: %v", res.Header["Set-Cookie"])
	}
	got, problems = decodeAll(t, base+"index.m3u8", "-cookies", fmt.Sprintf("%s=%s; path=%s\n", cookie.Name, cookie.Value, cookie.Path))
	t.Logf("cookie: %.2f s decoded", got)
	if len(problems) > 0 || got < 4 || got > 6.1 {
		t.Errorf("ffmpeg with the cookie: %.2f s, %v", got, problems)
	}
	// ffmpeg without either is refused.
	if out, err := testutil.Run(t, 30*time.Second, "-hide_banner", "-loglevel", "error", "-i", base+"index.m3u8", "-f", "null", "-"); err == nil ||
		!strings.Contains(out, "401") {
		t.Errorf("ffmpeg without a credential: %v\n%s", err, out)
	}
}
