package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kastlive/kast/conference"
)

// TestBannerShowsOnlyGeneratedSecrets: a generated stream key or admin
// token is printed once, at the start that created it; a provisioned one
// (KAST_STREAM_KEY, KAST_ADMIN_TOKEN) never, not even then.
func TestBannerShowsOnlyGeneratedSecrets(t *testing.T) {
	const key, token = "stream-key-0123456789abcdef", "admin-token-0123456789abcdef"
	for _, tc := range []struct {
		name                 string
		created              bool
		setKey, setToken     bool
		wantKey, wantToken   bool
		wantLine, unwantLine string
	}{
		{name: "first start, generated", created: true, wantKey: true, wantToken: true,
			wantLine: "stream key and admin token are shown only now"},
		{name: "first start, key provisioned", created: true, setKey: true, wantToken: true,
			wantLine: "Stream Key  the one in KAST_STREAM_KEY"},
		{name: "first start, both provisioned", created: true, setKey: true, setToken: true,
			wantLine: "the one in KAST_STREAM_KEY", unwantLine: "shown only now"},
		{name: "later start, key provisioned", setKey: true, setToken: true,
			wantLine: "the one in KAST_STREAM_KEY", unwantLine: "Admin token"},
		{name: "later start", wantLine: "rotate-stream-key main", unwantLine: "Admin token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config{PublicHost: "192.0.2.10", DataDir: "./data"}
			boot := conference.BootstrapResult{Created: tc.created, Track: conference.Track{Slug: "main"}}
			if tc.setKey {
				cfg.StreamKey = key
			}
			if tc.setToken {
				cfg.AdminToken = token
			}
			if tc.created {
				// Bootstrap returns the secrets it stored, provisioned or not.
				boot.StreamKey, boot.AdminToken = key, token
			}
			var out bytes.Buffer
			newBanner(cfg, boot, "127.0.0.1:8080", "127.0.0.1:1935", "").print(&out)
			s := out.String()
			if strings.Contains(s, key) != tc.wantKey || strings.Contains(s, token) != tc.wantToken {
				t.Fatalf("key shown %v (want %v), token shown %v (want %v):\n%s",
					strings.Contains(s, key), tc.wantKey, strings.Contains(s, token), tc.wantToken, s)
			}
			if !strings.Contains(s, tc.wantLine) || tc.unwantLine != "" && strings.Contains(s, tc.unwantLine) {
				t.Fatalf("want %q, not %q:\n%s", tc.wantLine, tc.unwantLine, s)
			}
			if !strings.Contains(s, "rtmp://192.0.2.10:1935/live") || !strings.Contains(s, "http://192.0.2.10:8080/watch/main") {
				t.Fatalf("URLs missing:\n%s", s)
			}
		})
	}
}
