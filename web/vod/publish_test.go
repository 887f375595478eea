package vod_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// TestPublishRecordingsAreForAdminsOnly: a publish's recording holds
// everything the track sent, what a talk's trim or delete leaves out
// included, so it is served under the admin API with the admin token,
// and no longer at a guessable public URL.
func TestPublishRecordingsAreForAdminsOnly(t *testing.T) {
	base, rec := talkFixture(t, 10, nil)
	if err := rec.Trim(1, 5*time.Second, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, pl := get(t, base+"/vod/1/index.m3u8"); regexp.MustCompile(`seg-0\.m4s`).MatchString(pl) {
		t.Fatalf("the trimmed talk still lists seg-0:\n%s", pl)
	}
	for _, p := range []string{"/vod/p/main/20261201T090000Z/index.m3u8", "/vod/p/main/20261201T090000Z/seg-0.m4s",
		"/vod/p/main/20261201T090000Z/recording.mp4"} {
		if code, _, _ := get(t, base+p); code != 404 {
			t.Errorf("old public URL %s: %d, want 404", p, code)
		}
	}
	admin := base + "/api/v1/admin/recordings/publishes/main/20261201T090000Z/"
	for _, f := range []string{"index.m3u8", "seg-0.m4s", "init-1.mp4"} {
		if code, h, _ := get(t, admin+f); code != 401 || h.Get("Www-Authenticate") == "" {
			t.Errorf("%s without the admin token: %d %v", f, code, h)
		}
		if code, _, _ := get(t, admin+f, "Authorization", "Bearer wrong-token-0123456789"); code != 401 {
			t.Errorf("%s with a wrong token: %d", f, code)
		}
		code, h, body := get(t, admin+f, "Authorization", "Bearer "+fixtureAdminToken)
		if code != 200 || !strings.HasPrefix(h.Get("Cache-Control"), "private") {
			t.Errorf("%s with the admin token: %d %q", f, code, h.Get("Cache-Control"))
		}
		if f == "index.m3u8" && (!strings.Contains(body, "\nseg-0.m4s\n") || !strings.Contains(body, `URI="init-1.mp4"`)) {
			t.Errorf("publish playlist:\n%s", body)
		}
	}
	// The listing points there.
	_, _, l := get(t, base+"/api/v1/admin/recordings", "Authorization", "Bearer "+fixtureAdminToken)
	if !strings.Contains(l, `"playlist": "/api/v1/admin/recordings/publishes/main/20261201T090000Z/index.m3u8"`) {
		t.Errorf("listing:\n%s", l)
	}
}

// TestWithdrawnAndOptedOutTalksAre404: a talk deleted from the
// timetable, and one whose speaker opted out, are answered 404 with the
// reason, for every file; their media stays for the admin.
func TestWithdrawnAndOptedOutTalksAre404(t *testing.T) {
	base, _ := talkFixture(t, 10, nil, map[string]any{"id": 2, "withdrawn": true}, map[string]any{"id": 3, "do_not_record": true})
	for talk, reason := range map[string]string{"2": "removed from the timetable", "3": "do_not_record"} {
		for _, f := range []string{"index.m3u8", "talk.mp4", "poster.jpg", "20261201T090000Z/seg-0.m4s"} {
			code, h, body := get(t, base+"/vod/"+talk+"/"+f)
			if code != 404 || !strings.Contains(body, reason) || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Errorf("/vod/%s/%s: %d %q %q", talk, f, code, h.Get("Content-Type"), body)
			}
		}
	}
	if code, _, _ := get(t, base+"/vod/1/index.m3u8"); code != 200 {
		t.Errorf("the other talk: %d", code)
	}
	_, _, l := get(t, base+"/api/v1/admin/recordings", "Authorization", "Bearer "+fixtureAdminToken)
	if !strings.Contains(l, `"withdrawn": true`) || !strings.Contains(l, `"do_not_record": true`) {
		t.Errorf("listing does not show them:\n%s", l)
	}
}

// TestAdminAPIUnderTheAPIsAdminCheck: the recordings' admin API is the
// JSON API's (/api/v1/admin/recordings, its one admin-token check, its
// JSON 401 and 405), and a trim's body is one JSON object, nothing after.
func TestAdminAPIUnderTheAPIsAdminCheck(t *testing.T) {
	base, _ := talkFixture(t, 10, nil)
	do := func(method, path, body, token string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 400 && res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d answered %q", method, path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		return res.StatusCode, string(b)
	}
	for _, c := range []struct {
		method, path, body, token string
		want                      int
	}{
		{"GET", "/api/v1/admin/recordings", "", "", 401},
		{"GET", "/api/v1/admin/recordings", "", "wrong-token-0123456789", 401},
		{"GET", "/api/v1/admin/recordings", "", fixtureAdminToken, 200},
		{"PUT", "/api/v1/admin/recordings", "", fixtureAdminToken, 405},
		{"POST", "/api/v1/admin/recordings/talks/1/trim", `{"cut_start_s": 2}`, "", 401},
		{"POST", "/api/v1/admin/recordings/talks/1/trim", `{"cut_start_s": 2}{"cut_end_s": 1}`, fixtureAdminToken, 400},
		{"POST", "/api/v1/admin/recordings/talks/1/trim", `{"cut_start_s": 2} x`, fixtureAdminToken, 400},
		{"POST", "/api/v1/admin/recordings/talks/1/trim", `{"cut_start_s": 2}`, fixtureAdminToken, 200},
		{"GET", "/api/admin/recordings", "", fixtureAdminToken, 404}, // the old place
	} {
		if got, body := do(c.method, c.path, c.body, c.token); got != c.want {
			t.Errorf("%s %s %q: %d %s, want %d", c.method, c.path, c.body, got, body, c.want)
		}
	}
}
