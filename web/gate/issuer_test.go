package gate

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeViewers signs in whoever sends the cookie session=<id>; account
// "stranger" is registered nowhere.
type fakeViewers struct{}

func (fakeViewers) PlaybackGrant(_ context.Context, r *http.Request, event string) (Grant, error) {
	c, err := r.Cookie("session")
	if err != nil {
		return Grant{}, ErrNotSignedIn
	}
	if c.Value == "stranger" {
		return Grant{}, ErrNotRegistered
	}
	return Grant{EventID: 1, SessionID: c.Value}, nil
}

func serveToken(g *Gate, event string, cookie string) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/events/{event}/playback-token", g.ServeToken)
	r := httptest.NewRequest("GET", "/api/v1/events/"+event+"/playback-token", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func TestServeToken(t *testing.T) {
	g, _ := newTestGate(t)
	g.Viewers = fakeViewers{}
	for _, c := range []struct {
		event, cookie string
		status        int
	}{
		{"devconf", "", 401},
		{"devconf", "session=stranger", 403},
		{"nope", "session=s1", 404},
	} {
		if w := serveToken(g, c.event, c.cookie); w.Code != c.status || !strings.Contains(w.Body.String(), `"error"`) {
			t.Errorf("%s with %q: %d %s, want %d", c.event, c.cookie, w.Code, w.Body, c.status)
		}
	}

	w := serveToken(g, "devconf", "session=s1")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
	var resp struct {
		Required   bool
		Token      string
		ExpiresAt  time.Time `json:"expires_at"`
		RefreshInS int       `json:"refresh_in_s"`
		Tracks     []struct {
			Track  string
			HLSURL string `json:"hls_url"`
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if !resp.Required || len(resp.Token) != TokenLen || resp.RefreshInS != int(DefaultTTL/2/time.Second) || len(resp.Tracks) != 2 ||
		resp.Tracks[0].HLSURL != "/hls/main/index.m3u8?token="+resp.Token || !resp.ExpiresAt.Equal(g.clock().Add(DefaultTTL)) {
		t.Fatalf("response %+v", resp)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 2 || cookies[0].Path != "/hls/main/" || cookies[1].Path != "/hls/side/" || cookies[1].Value != resp.Token {
		t.Fatalf("cookies %+v", cookies)
	}
	// The token opens the tracks; a logout closes them at once.
	if w := do(g, "GET", "/hls/side/media.m3u8", "Cookie", "kast_play="+resp.Token); w.Code != 200 {
		t.Fatalf("issued token refused: %d %s", w.Code, w.Body)
	}
	g.Revoke("s1")
	if w := do(g, "GET", "/hls/side/media.m3u8", "Cookie", "kast_play="+resp.Token); w.Code != 401 {
		t.Fatalf("after logout: %d, want 401", w.Code)
	}

	w = serveToken(g, "meetup", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"required":false`) || strings.Contains(w.Body.String(), "token=") {
		t.Fatalf("public event: %d %s", w.Code, w.Body)
	}
}
