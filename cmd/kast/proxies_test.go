package main

import (
	"net/http"
	"testing"

	"github.com/gorilla/websocket"
)

// TestTrustedProxiesNameTheClient: kast -trusted-proxies 127.0.0.1 (an
// nginx on the same machine) limits the clients named in X-Forwarded-For,
// for logins and for the live channel's connections per source; without
// the flag the header is ignored.
func TestTrustedProxiesNameTheClient(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		env := map[string]string{"KAST_ADMIN_TOKEN": testAdminToken, "KAST_LIVE_PER_SOURCE": "1"}
		if trusted {
			env["KAST_TRUSTED_PROXIES"] = "127.0.0.1, ::1"
		}
		a, _ := startApp(t, env)
		login := func(client string) int {
			req, _ := http.NewRequest("POST", a.testURL("/api/v1/session"), nil)
			req.Header.Set("X-Forwarded-For", client)
			req.Header.Set("Content-Type", "application/json")
			req.Body = http.NoBody
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		for range 10 { // the default login burst
			login("203.0.113.1")
		}
		if got := login("203.0.113.1"); got != 429 {
			t.Fatalf("trusted %v: the 11th login of one client: %d, want 429", trusted, got)
		}
		if got, want := login("203.0.113.2"), map[bool]int{true: 400, false: 429}[trusted]; got != want {
			t.Errorf("trusted %v: another client's first login: %d, want %d", trusted, got, want)
		}
		dial := func(client string) int {
			h := http.Header{"X-Forwarded-For": {client}}
			c, res, err := websocket.DefaultDialer.Dial("ws://"+a.web.Addr().String()+"/api/v1/events/meetup/live", h)
			if err != nil {
				if res == nil {
					t.Fatal(err)
				}
				return res.StatusCode
			}
			t.Cleanup(func() { c.Close() })
			return 101
		}
		if got := dial("198.51.100.1"); got != 101 {
			t.Fatalf("trusted %v: first live connection: %d", trusted, got)
		}
		if got := dial("198.51.100.1"); got != 429 {
			t.Errorf("trusted %v: a second connection of one client (per source 1): %d, want 429", trusted, got)
		}
		if got, want := dial("198.51.100.2"), map[bool]int{true: 101, false: 429}[trusted]; got != want {
			t.Errorf("trusted %v: another client's connection: %d, want %d", trusted, got, want)
		}
	}
}
