package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	apihttp "github.com/kastlive/kast/web/api"
)

// TestLogoutRevokesOnlyItsOwnSession: SQLite gives the next session the
// row id of the session just deleted (the newest), so a revocation keyed
// by row id revoked the next login's playback tokens, anyone's. Alice
// logs out; Bob's login, which gets her row id, plays; Alice's token
// does not.
func TestLogoutRevokesOnlyItsOwnSession(t *testing.T) {
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_ADMIN_TOKEN": testAdminToken})
	now := time.Now().UTC()
	code, body := apiDo(t, http.DefaultClient, a, "POST", "/api/v1/events", map[string]any{"slug": "devconf", "name": "DevConf",
		"start": now.Add(-24 * time.Hour).Format(time.RFC3339), "end": now.Add(24 * time.Hour).Format(time.RFC3339), "access": "registered"}, true)
	if code != 201 {
		t.Fatalf("create event: %d %s", code, body)
	}
	if code, body = apiDo(t, http.DefaultClient, a, "POST", "/api/v1/events/devconf/tracks", map[string]any{"slug": "stage", "name": "Stage"}, true); code != 201 {
		t.Fatalf("create track: %d %s", code, body)
	}
	// Both register (each logged in by it): Alice's is the newest session,
	// whose row id Bob's next login takes once she logs out.
	clients := map[string]*http.Client{}
	for _, who := range []string{"bob", "alice"} {
		jar, _ := cookiejar.New(nil)
		clients[who] = &http.Client{Jar: jar}
		code, body := apiDo(t, clients[who], a, "POST", "/api/v1/events/devconf/registrations", map[string]any{"name": who, "email": who + "@example.org",
			"password": "a long enough password", "participation": "online", "consent_terms": true}, false)
		if code != 201 {
			t.Fatalf("register %s: %d %s", who, code, body)
		}
	}
	sessionID := func(c *http.Client) int64 {
		u, _ := url.Parse(a.testURL("/"))
		for _, k := range c.Jar.Cookies(u) {
			if k.Name == apihttp.SessionCookie {
				_, s, err := a.store.SessionByTokenHash(t.Context(), conference.HashSecret(k.Value))
				if err != nil {
					t.Fatal(err)
				}
				return s.ID
			}
		}
		t.Fatal("no session cookie")
		return 0
	}
	token := func(c *http.Client) string {
		code, body := apiDo(t, c, a, "GET", "/api/v1/events/devconf/playback-token", nil, false)
		if code != 200 {
			t.Fatalf("playback token: %d %s", code, body)
		}
		var tok struct{ Token string }
		json.Unmarshal(body, &tok)
		return tok.Token
	}
	plays := func(tok string) bool {
		r := httptest.NewRequest("GET", "/hls/stage/media.m3u8", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return a.gate.CheckWHEP(r, "stage") == nil
	}
	aliceID, aliceTok := sessionID(clients["alice"]), token(clients["alice"])
	if code, body := apiDo(t, clients["alice"], a, "DELETE", "/api/v1/session", nil, false); code != 204 {
		t.Fatalf("alice logs out: %d %s", code, body)
	}
	code, body = apiDo(t, clients["bob"], a, "POST", "/api/v1/session", map[string]any{"email": "bob@example.org", "password": "a long enough password"}, false)
	if code != 200 {
		t.Fatalf("bob logs in: %d %s", code, body)
	}
	bobID := sessionID(clients["bob"])
	t.Logf("alice's session row %d, bob's new session row %d", aliceID, bobID)
	if bobID != aliceID {
		t.Logf("the store did not reuse the row id: the test shows less than it could")
	}
	if bobTok := token(clients["bob"]); !plays(bobTok) {
		t.Errorf("bob's playback token, issued after alice's logout, is refused")
	}
	if plays(aliceTok) {
		t.Errorf("alice's token still plays after her logout")
	}
}
