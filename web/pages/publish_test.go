package pages_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kastlive/kast/web/pages"
)

func TestPublishPage(t *testing.T) {
	h := routed(&pages.Handler{Tracks: testTracks})
	code, hdr, body := get(t, h, "/publish/main")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		`data-whip="/whip/main"`,
		`<label for="stream-key">Stream key</label>`,
		`type="password" id="stream-key"`,
		`id="source-screen"`,
		`role="alert"`,
		`aria-live="polite"`,
		"Main &lt;stage&gt;", // the title, escaped
		"/assets/publish.js?v=",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The key input has no name: a form submitted without the script
	// cannot put it in a URL.
	if strings.Contains(body, `name="key"`) || strings.Contains(body, `name="stream-key"`) || !strings.Contains(body, `method="post"`) {
		t.Error("the stream key could end up in a URL")
	}
	if hdr.Get("X-Frame-Options") != "DENY" || !strings.Contains(hdr.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("the page may be framed: %v", hdr)
	}
	if code, _, _ := get(t, h, "/publish/nope"); code != http.StatusNotFound {
		t.Errorf("unknown track: %d", code)
	}
	if code, hdr, body := get(t, h, "/assets/publish.js"); code != http.StatusOK || !strings.Contains(hdr.Get("Content-Type"), "javascript") || !strings.Contains(body, "setCodecPreferences") {
		t.Errorf("publish.js: %d %s", code, hdr.Get("Content-Type"))
	}
}
