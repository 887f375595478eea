package vod_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web/gate"
)

// accessList is a gate.Source.
type accessList []conference.TrackAccess

func (s accessList) TrackAccess(context.Context) ([]conference.TrackAccess, error) { return s, nil }

// newGate is a playback gate over the tracks of acc, and a token for
// event 1.
func newGate(t *testing.T, acc ...conference.TrackAccess) (*gate.Gate, string) {
	t.Helper()
	dir := &gate.Directory{Source: accessList(acc)}
	if err := dir.Initialize(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dir.Close)
	signer, err := gate.NewSigner(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	g := &gate.Gate{Signer: signer, Directory: dir}
	return g, signer.Issue(gate.Claims{EventID: 1, Session: gate.RefOf("s1"), Expires: time.Now().Add(time.Minute)})
}

// registeredMain: "main" is a track of registered event 1.
var registeredMain = conference.TrackAccess{Track: "main", TrackID: 1, EventID: 1, EventSlug: "devconf", Access: conference.AccessRegistered}

// TestGateCoversRecordings: a registered event's recordings need the
// same credential as its live stream, for every file; a refusal is
// answered like /hls/ answers it (401 JSON).
func TestGateCoversRecordings(t *testing.T) {
	g, tok := newGate(t, registeredMain)
	base, _ := talkFixture(t, 10, g)
	for _, path := range []string{"/vod/1/index.m3u8", "/vod/1/talk.mp4", "/vod/1/20261201T090000Z/seg-0.m4s",
		"/vod/1/20261201T090000Z/init-1.mp4"} {
		for _, tc := range []struct {
			auth string
			want int
		}{{"", 401}, {"Bearer not-a-token", 401}, {"Bearer " + tok, 200}} {
			code, h, body := get(t, base+path, "Authorization", tc.auth)
			if path == "/vod/1/talk.mp4" && tc.want == 200 {
				tc.want = 500 // the fixture's init is not an MP4: the gate passed
			}
			if code != tc.want {
				t.Errorf("%s with %q: %d, want %d", path, tc.auth, code, tc.want)
			}
			if code == 401 && (h.Get("Content-Type") != "application/json" || !strings.Contains(body, `"field":"token"`) || h.Get("Www-Authenticate") == "") {
				t.Errorf("%s refused as %q %q %q", path, h.Get("Content-Type"), h.Get("Www-Authenticate"), body)
			}
			if code == 200 && !strings.HasPrefix(h.Get("Cache-Control"), "private") {
				t.Errorf("%s: gated but Cache-Control %q", path, h.Get("Cache-Control"))
			}
		}
	}
	// Files the recording does not list are not served.
	if code, _, _ := get(t, base+"/vod/1/20261201T090000Z/seg-99.m4s", "Authorization", "Bearer "+tok); code != 404 {
		t.Fatalf("unlisted segment: %d", code)
	}
	for _, p := range []string{"/vod/1/../../etc/passwd", "/vod/1/20261201T090000Z/index.jsonl", "/vod/x/index.m3u8", "/vod/2/index.m3u8"} {
		if code, _, _ := get(t, base+p, "Authorization", "Bearer "+tok); code == 200 {
			t.Errorf("%s served", p)
		}
	}
}

// TestGatedRecordingPlaysFromTheTokenURL: a player given only the token
// URL of a registered event's recording (no cookie jar, or a browser:
// the kast_play cookie of the live stream has Path=/hls/<track>/) gets a
// playlist whose URIs carry the token, and the kast_play cookie of
// /vod/<talk>/, which alone then opens every file.
func TestGatedRecordingPlaysFromTheTokenURL(t *testing.T) {
	g, tok := newGate(t, registeredMain)
	base, _ := talkFixture(t, 10, g)
	code, h, pl := get(t, base+"/vod/1/index.m3u8?token="+tok)
	if code != 200 {
		t.Fatalf("playlist with ?token=: %d %s", code, pl)
	}
	uris := regexp.MustCompile(`(?m)^[^#\s]\S*$|URI="([^"]+)"`).FindAllString(pl, -1)
	if len(uris) < 11 {
		t.Fatalf("playlist:\n%s", pl)
	}
	for _, u := range uris {
		u = strings.TrimSuffix(strings.TrimPrefix(u, `URI="`), `"`)
		if !strings.HasSuffix(u, "?token="+tok) {
			t.Fatalf("URI %q does not carry the token", u)
		}
		if code, _, body := get(t, base+"/vod/1/"+u); code != 200 {
			t.Fatalf("%s as a player resolves it: %d %s", u, code, body)
		}
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == gate.CookieName {
			cookie = c
		}
	}
	if cookie == nil || cookie.Path != "/vod/1/" || cookie.Value != tok || !cookie.HttpOnly {
		t.Fatalf("cookie %+v", cookie)
	}
	withCookie := gate.CookieName + "=" + cookie.Value
	for _, p := range []string{"/vod/1/index.m3u8", "/vod/1/20261201T090000Z/seg-3.m4s", "/vod/1/20261201T090000Z/init-1.mp4"} {
		if code, _, _ := get(t, base+p, "Cookie", withCookie); code != 200 {
			t.Errorf("%s with the cookie: %d", p, code)
		}
	}
	// With the cookie, the playlist is the plain one.
	if _, _, pl := get(t, base+"/vod/1/index.m3u8", "Cookie", withCookie); strings.Contains(pl, "token=") {
		t.Errorf("playlist for a cookie rewritten:\n%s", pl)
	}
}

// TestRecordingGatedByItsTalksEvent: talk 1 was recorded on "main" while
// "main" was a track of registered event 1; now a public event's track
// has the slug. The recording still needs event 1's credential; a talk
// whose event is gone is refused.
func TestRecordingGatedByItsTalksEvent(t *testing.T) {
	g, tok := newGate(t,
		conference.TrackAccess{Track: "main", TrackID: 9, EventID: 2, EventSlug: "open-meetup"},
		conference.TrackAccess{Track: "hall", TrackID: 3, EventID: 1, EventSlug: "devconf", Access: conference.AccessRegistered})
	base, _ := talkFixture(t, 10, g, map[string]any{"id": 4, "event_id": 77})
	for _, p := range []string{"/vod/1/index.m3u8", "/vod/1/talk.mp4", "/vod/1/20261201T090000Z/seg-0.m4s"} {
		if code, _, _ := get(t, base+p); code != 401 {
			t.Errorf("%s of the registered event's talk, no credential: %d, want 401", p, code)
		}
	}
	if code, _, _ := get(t, base+"/vod/1/index.m3u8?token="+tok); code != 200 {
		t.Errorf("with event 1's token: %d", code)
	}
	if code, _, _ := get(t, base+"/vod/4/index.m3u8?token="+tok); code != 404 {
		t.Errorf("a talk of an event kast no longer has: %d, want 404", code)
	}
}
