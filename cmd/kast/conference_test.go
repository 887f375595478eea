package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

const testAdminToken = "test-admin-token-0123456789"

// apiDo sends a JSON request to the app's API.
func apiDo(t *testing.T, c *http.Client, a *app, method, path string, body any, admin bool) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.testURL(path), r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestSessionSurvivesRestart: log in, stop kast and start it again on the
// same data directory: the same cookie still works (sessions are in the
// database, hashed). Logging out then invalidates it.
func TestSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAppEnv(t, map[string]string{"KAST_DATA_DIR": dir, "KAST_ADMIN_TOKEN": testAdminToken})
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	st, b := apiDo(t, browser, a, "POST", "/api/v1/events/meetup/registrations", map[string]any{
		"name": "Ada", "email": "ada@example.org", "password": "analytical engine", "participation": "online"}, false)
	if st != 201 {
		t.Fatalf("register: %d %s", st, b)
	}
	if st, b = apiDo(t, browser, a, "GET", "/api/v1/me", nil, false); st != 200 {
		t.Fatalf("me: %d %s", st, b)
	}
	oldURL := a.testURL("")
	a.stop()

	a2, _ := startAppIn(t, dir)
	// The cookie jar holds the cookie for the old address; send it to the
	// new one as the same browser would.
	u, _ := http.NewRequest("GET", oldURL, nil)
	cookies := jar.Cookies(u.URL)
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	u2, _ := http.NewRequest("GET", a2.testURL("/"), nil)
	jar.SetCookies(u2.URL, cookies)
	st, b = apiDo(t, browser, a2, "GET", "/api/v1/me", nil, false)
	if st != 200 || !strings.Contains(string(b), "ada@example.org") {
		t.Fatalf("me after restart: %d %s", st, b)
	}
	if st, b = apiDo(t, browser, a2, "DELETE", "/api/v1/session", nil, false); st != 204 {
		t.Fatalf("logout: %d %s", st, b)
	}
	// The cookie's value, sent again by someone who kept it: refused.
	req, _ := http.NewRequest("GET", a2.testURL("/api/v1/me"), nil)
	req.AddCookie(cookies[0])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("me with the logged-out cookie: %d", res.StatusCode)
	}
}

// TestStreamKeyRotationCutsPublisher: rotating a track's key through the
// API drops the live publisher at once, the old key is refused, the new
// one publishes.
func TestStreamKeyRotationCutsPublisher(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_ADMIN_TOKEN": testAdminToken})
	pub := testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Size: "320x240", Duration: 60 * time.Second})
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)

	var tr struct{ Live bool }
	_, b := apiDo(t, http.DefaultClient, a, "GET", "/api/v1/tracks/main", nil, false)
	json.Unmarshal(b, &tr)
	if !tr.Live {
		t.Fatalf("track not live while publishing: %s", b)
	}

	st, b := apiDo(t, http.DefaultClient, a, "POST", "/api/v1/tracks/main/stream-key", nil, true)
	var rot struct {
		StreamKey string `json:"stream_key"`
		Dropped   bool   `json:"publisher_dropped"`
	}
	json.Unmarshal(b, &rot)
	if st != 200 || rot.StreamKey == "" || !rot.Dropped {
		t.Fatalf("rotate: %d %s", st, b)
	}
	select {
	case <-pub.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("publisher still connected after the key rotation\n%s", logs)
	}
	// The old key (OBS reconnecting) is refused.
	again := testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Size: "320x240", Duration: 10 * time.Second})
	if err := again.Wait(10 * time.Second); err == nil {
		t.Fatalf("publish with the old key succeeded")
	}
	if _, b := apiDo(t, http.DefaultClient, a, "GET", "/api/v1/tracks/main", nil, false); strings.Contains(string(b), `"live":true`) {
		t.Fatalf("live with the old key: %s", b)
	}
	// The new key publishes.
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(rot.StreamKey), Size: "320x240", Duration: 30 * time.Second})
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, b = apiDo(t, http.DefaultClient, a, "GET", "/api/v1/tracks/main", nil, false)
		json.Unmarshal(b, &tr)
		if tr.Live {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new key does not publish\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Without the admin token nothing rotates.
	if st, _ := apiDo(t, http.DefaultClient, a, "POST", "/api/v1/tracks/main/stream-key", nil, false); st != 401 {
		t.Fatalf("rotate without token: %d", st)
	}
}
