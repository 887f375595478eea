package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// TestConferencePagesInBrowser drives the viewer's and the organizer's
// pages in Chromium against a whole kast with three ffmpeg publishers
// (web/e2e/ui.mjs): a newcomer registers, logs in and watches; an on-air
// switch from the organizer page reaches the viewer within 2 s without a
// reload; chat and questions reach a second viewer and a vote reorders
// them; the organizer imports a timetable, sees the bitrate and the
// B-frame warning of a -bf 2 publish and rotates its key (the publisher
// is cut); a ticket is checked in; the embed plays in an iframe of
// another origin; a gated track asks for a login, then plays. Screenshots
// go to web/e2e/screenshots (gitignored).
func TestConferencePagesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	testutil.RequireTool(t, "ffmpeg")
	testutil.RequireBrowser(t)
	zbarimg := testutil.RequireTool(t, "zbarimg")
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_ADMIN_TOKEN": testAdminToken})
	c := http.DefaultClient
	must := func(want int, method, path string, body any) []byte {
		t.Helper()
		st, b := apiDo(t, c, a, method, path, body, true)
		if st != want {
			t.Fatalf("%s %s: %d %s", method, path, st, b)
		}
		return b
	}
	// The default event gets a time zone, seats, a second track and a
	// timetable around now; a second event is for registered attendees.
	must(200, "PATCH", "/api/v1/events/meetup", map[string]any{"timezone": "Europe/Berlin", "offline_capacity": 20})
	var side struct {
		StreamKey string `json:"stream_key"`
	}
	json.Unmarshal(must(201, "POST", "/api/v1/events/meetup/tracks", map[string]any{"slug": "side", "name": "Side room"}), &side)
	now := time.Now().UTC().Truncate(time.Minute)
	at := func(m int) string { return now.Add(time.Duration(m) * time.Minute).Format(time.RFC3339) }
	talk := func(guid, room, title, speaker string, from, to int) map[string]any {
		return map[string]any{"guid": guid, "room": room, "title": title, "kind": "talk", "speakers": []map[string]string{{"name": speaker}},
			"start": at(from), "end": at(to)}
	}
	tt := map[string]any{
		"rooms": []map[string]string{{"name": "Main stage", "slug": "main"}, {"name": "Side room", "slug": "side"}, {"name": "Workshop", "slug": "workshop"}},
		"talks": []any{
			talk("m1", "Main stage", "Opening <keynote>", "Ada Lovelace", -20, 25),
			talk("m2", "Main stage", "Low-latency video for everyone", "Grace Hopper", 25, 70),
			talk("s1", "Side room", "Hallway track", "Everyone", -5, 40),
			talk("s2", "Side room", "Lightning talks", "Many people", 40, 90),
			talk("w1", "Workshop", "Hands-on: OBS settings", "Linus", 0, 60),
		},
	}
	timetable := func(v any) []byte {
		b, _ := json.Marshal(v)
		req, _ := http.NewRequest("PUT", a.testURL("/api/v1/events/meetup/timetable"), bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		res, err := c.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("timetable: %v %v", err, res.Status)
		}
		res.Body.Close()
		return b
	}
	timetable(tt)
	var talks []struct {
		ID    int64  `json:"id"`
		GUID  string `json:"guid"`
		Title string `json:"title"`
	}
	json.Unmarshal(must(200, "GET", "/api/v1/events/meetup/talks", nil), &talks)
	ids := map[string]int64{}
	for _, k := range talks {
		ids[k.GUID] = k.ID
	}
	must(200, "PUT", "/api/v1/tracks/main/on-air", map[string]any{"talk_id": ids["m1"]})
	small := func(key string, bf int) testutil.Publish {
		return testutil.Publish{URL: a.publishURL(key), Size: "426x240", Bitrate: "500k", BFrames: bf, Duration: 10 * time.Minute}
	}
	// The workshop's key: ui.mjs starts its publisher while a viewer waits.
	var ws struct {
		StreamKey string `json:"stream_key"`
	}
	json.Unmarshal(must(200, "POST", "/api/v1/tracks/workshop/stream-key", nil), &ws)
	later := small(ws.StreamKey, 0)
	later.Duration = time.Minute

	// The file the organizer uploads: the same timetable and one talk more.
	tt["talks"] = append(tt["talks"].([]any), talk("m3", "Main stage", "Closing words", "The organizers", 70, 80))
	ttFile := filepath.Join(t.TempDir(), "schedule.json")
	b, _ := json.Marshal(tt)
	os.WriteFile(ttFile, b, 0o600)

	must(201, "POST", "/api/v1/events", map[string]any{"slug": "private", "name": "Members only", "timezone": "UTC", "access": "registered"})
	var gated struct {
		StreamKey string `json:"stream_key"`
	}
	json.Unmarshal(must(201, "POST", "/api/v1/events/private/tracks", map[string]any{"slug": "members", "name": "Members stage"}), &gated)
	jar, _ := cookiejar.New(nil)
	member := &http.Client{Jar: jar}
	if st, b := apiDo(t, member, a, "POST", "/api/v1/events/private/registrations",
		map[string]any{"name": "Member", "email": "member@example.org", "password": "members password", "consent_terms": true}, false); st != 201 {
		t.Fatalf("register member: %d %s", st, b)
	}

	// Publishers like OBS: main and the gated track without B-frames, the
	// side room with -bf 2 (the organizer page must warn).
	mainPub := small(testStreamKey, 0)
	mainPub.Size, mainPub.Bitrate = "640x360", "800k"
	testutil.StartPublish(t, mainPub)
	sidePub := testutil.StartPublish(t, small(side.StreamKey, 2))
	testutil.StartPublish(t, small(gated.StreamKey, 0))
	for _, tr := range []string{"main", "side", "members"} {
		if tr != "members" {
			waitHTTP(t, a.testURL("/hls/"+tr+"/index.m3u8"), 20*time.Second)
		}
	}

	shots := filepath.Join(testutil.RepoRoot(t), "web", "e2e", "screenshots")
	cfg, _ := json.Marshal(map[string]any{
		"base": strings.TrimSuffix(a.testURL(""), "/"), "adminToken": testAdminToken, "event": "meetup", "track": "main", "sideTrack": "side",
		"gatedEvent": "private", "gatedTrack": "members", "gatedEmail": "member@example.org", "gatedPassword": "members password",
		"timetableFile": ttFile, "importedTitle": "Closing words", "switchTalkId": ids["m2"], "switchTalkTitle": "Low-latency video for everyone",
		"screenshots": shots, "waitTrack": "workshop", "waitTalkId": ids["w1"], "ffmpeg": testutil.RequireTool(t, "ffmpeg"), "publishArgs": later.Args(),
	})
	cmd := exec.Command("node", filepath.Join(testutil.RepoRoot(t), "web", "e2e", "ui.mjs"), string(cfg))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(8 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("ui.mjs did not finish in 8 minutes: %s %s", stdout.String(), stderr.String())
	}
	var res struct {
		Steps  map[string]map[string]any `json:"steps"`
		Errors []string                  `json:"errors"`
		Failed *string                   `json:"failed"`
		NewKey string                    `json:"newKey"`
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("ui.mjs output %q (stderr %q): %v", stdout.String(), stderr.String(), err)
	}
	for name, s := range res.Steps {
		t.Logf("%s: %v", name, s)
	}
	if len(res.Errors) > 0 {
		t.Logf("page errors: %v", res.Errors)
	}
	if res.Failed != nil {
		t.Fatalf("step %q failed: %v\nstderr: %s\nserver:\n%s", *res.Failed, res.Steps[*res.Failed], stderr.String(), logs)
	}
	if len(res.Steps) != 20 {
		t.Fatalf("%d steps ran, want 20: %v", len(res.Steps), res.Steps)
	}
	if ch := res.Steps["on-air-switch"]["channel"]; ch != "ws" {
		t.Errorf("the viewer page followed the on-air switch over %v, not the live channel", ch)
	}
	// The gated track's media needs the playback token the page fetched.
	if r, err := http.Get(a.testURL("/hls/members/index.m3u8")); err != nil || r.StatusCode != 401 {
		t.Errorf("gated playlist without a credential: %v %v", r.Status, err)
	} else {
		r.Body.Close()
	}
	// The ticket's QR code, as the browser showed it, scans as the ticket.
	out, err := exec.Command(zbarimg, "-q", "--raw", filepath.Join(shots, "ticket-qr.png")).Output()
	if got, want := strings.TrimSpace(string(out)), res.Steps["ticket"]["ticket"]; err != nil || got != want {
		t.Errorf("zbarimg read %q from the ticket QR code (%v), want %q", got, err, want)
	}
	// The rotation cut the side room's publisher; its new key is the one
	// the page showed.
	select {
	case <-sidePub.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the side room's publisher is still connected after the key rotation")
	}
	p := testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(res.NewKey), Size: "320x240", Duration: 20 * time.Second})
	waitHTTP(t, a.testURL("/hls/side/index.m3u8"), 20*time.Second)
	p.Stop()
	t.Logf("screenshots in %s", shots)
}

// TestOrganizerAccountWatchesGatedEvent: an organizer account gets a
// playback token for an event it is not registered for; an attendee of
// another event does not.
func TestOrganizerAccountWatchesGatedEvent(t *testing.T) {
	a, _ := startApp(t, map[string]string{"KAST_ADMIN_TOKEN": testAdminToken})
	if st, b := apiDo(t, http.DefaultClient, a, "POST", "/api/v1/events", map[string]any{"slug": "club", "name": "Club", "timezone": "UTC", "access": "registered"}, true); st != 201 {
		t.Fatalf("event: %d %s", st, b)
	}
	apiDo(t, http.DefaultClient, a, "POST", "/api/v1/events/club/tracks", map[string]any{"slug": "room", "name": "Room"}, true)
	if st, b := apiDo(t, http.DefaultClient, a, "POST", "/api/v1/organizers", map[string]any{"name": "Org", "email": "org@example.org", "password": "organizer password"}, true); st != 201 {
		t.Fatalf("organizer: %d %s", st, b)
	}
	login := func(email, pw string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		if st, b := apiDo(t, c, a, "POST", "/api/v1/session", map[string]any{"email": email, "password": pw}, false); st != 200 {
			t.Fatalf("login %s: %d %s", email, st, b)
		}
		return c
	}
	org := login("org@example.org", "organizer password")
	if st, b := apiDo(t, org, a, "GET", "/api/v1/events/club/playback-token", nil, false); st != 200 || !strings.Contains(string(b), `"token"`) {
		t.Fatalf("organizer's playback token: %d %s", st, b)
	}
	jar, _ := cookiejar.New(nil)
	other := &http.Client{Jar: jar}
	if st, b := apiDo(t, other, a, "POST", "/api/v1/events/meetup/registrations", map[string]any{"name": "Ann", "email": "ann@example.org", "password": "attendee password", "consent_terms": true}, false); st != 201 {
		t.Fatalf("attendee: %d %s", st, b)
	}
	if st, _ := apiDo(t, other, a, "GET", "/api/v1/events/club/playback-token", nil, false); st != 403 {
		t.Fatalf("attendee of another event got a token: %d", st)
	}
}
