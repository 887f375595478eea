package pages_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web"
	"github.com/kastlive/kast/web/pages"
)

// fakeTracks is an in-memory TrackLookup.
type fakeTracks struct {
	tracks []conference.Track
	err    error
}

func (f fakeTracks) TrackBySlug(_ context.Context, slug string) (conference.Track, error) {
	if f.err != nil {
		return conference.Track{}, f.err
	}
	for _, t := range f.tracks {
		if t.Slug == slug {
			return t, nil
		}
	}
	return conference.Track{}, conference.ErrNotFound
}

func (f fakeTracks) Tracks(context.Context) ([]conference.Track, error) { return f.tracks, f.err }

var testTracks = fakeTracks{tracks: []conference.Track{
	{ID: 1, EventID: 1, Slug: "main", Title: "Main <stage>"},
	{ID: 2, EventID: 1, Slug: "room-b", Title: "Room B"},
}}

// get serves one GET request and returns the status, headers and body.
func get(t *testing.T, h http.Handler, target string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Result().Header, string(b)
}

// routed mounts a pages handler on kast's routes, as the server does.
func routed(h *pages.Handler) http.Handler { return web.Routes(web.Handlers{Pages: h}) }

func builtHandler(built bool) http.Handler {
	return routed(&pages.Handler{Tracks: testTracks, HLSBuilt: func() bool { return built }})
}

func TestWatchPageKnownTrack(t *testing.T) {
	code, hdr, body := get(t, builtHandler(true), "/watch/main")
	if code != http.StatusOK {
		t.Fatalf("status = %d, want 200", code)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type = %q", ct)
	}
	for _, want := range []string{
		`data-src="/hls/main/index.m3u8"`,
		`<video id="video" muted autoplay playsinline`,
		`/assets/hls.min.js?v=`,
		`/assets/watch.js?v=`,
		`Main &lt;stage&gt;`, // escaped title
		`id="unmute"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("watch page lacks %q", want)
		}
	}
	if strings.Contains(body, "<stage>") {
		t.Error("track title not escaped")
	}
	if strings.Contains(body, "was not built") {
		t.Error("built page shows the not-built message")
	}
}

func TestWatchPageUnknownTrack(t *testing.T) {
	for _, path := range []string{"/watch/nope", "/watch/", "/watch/main/extra", "/elsewhere"} {
		code, _, body := get(t, builtHandler(true), path)
		if code != http.StatusNotFound {
			t.Errorf("%s: status = %d, want 404", path, code)
		}
		if !strings.Contains(body, "Not found") {
			t.Errorf("%s: body is not the 404 page", path)
		}
	}
}

func TestWatchPageNotBuilt(t *testing.T) {
	code, _, body := get(t, builtHandler(false), "/watch/main")
	if code != http.StatusOK {
		t.Fatalf("status = %d", code)
	}
	if !strings.Contains(body, "The player was not built into this binary: run <code>make</code> (needs npm) or <code>make assets</code> and rebuild.") {
		t.Errorf("not-built message missing:\n%s", body)
	}
	if strings.Contains(body, "hls.min.js") || strings.Contains(body, "<video") {
		t.Error("not-built page still loads the player")
	}
}

func TestWatchPageStoreError(t *testing.T) {
	h := routed(&pages.Handler{Tracks: fakeTracks{err: errors.New("disk on fire")}, HLSBuilt: func() bool { return true }})
	code, _, body := get(t, h, "/watch/main")
	if code != http.StatusInternalServerError || strings.Contains(body, "disk on fire") {
		t.Fatalf("status = %d, body leaks error: %v", code, strings.Contains(body, "disk on fire"))
	}
}

func TestIndexListsTracks(t *testing.T) {
	code, _, body := get(t, builtHandler(true), "/")
	if code != http.StatusOK {
		t.Fatalf("status = %d", code)
	}
	for _, want := range []string{`href="/watch/main"`, `href="/watch/room-b"`, "Room B", "Main &lt;stage&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("index lacks %q", want)
		}
	}
}

func TestPlaylistURLOverride(t *testing.T) {
	h := routed(&pages.Handler{Tracks: testTracks, HLSBuilt: func() bool { return true },
		PlaylistURL: func(slug string) string { return "https://cdn.example/" + slug + ".m3u8?x=1&y=2" }})
	_, _, body := get(t, h, "/watch/room-b")
	if !strings.Contains(body, `data-src="https://cdn.example/room-b.m3u8?x=1&amp;y=2"`) {
		t.Errorf("custom playlist URL not rendered (escaped):\n%s", body)
	}
}

func TestAssets(t *testing.T) {
	h := builtHandler(true)
	_, v, _ := strings.Cut(pages.AssetURL("watch.js"), "?v=")
	code, hdr, body := get(t, h, "/assets/watch.js?v="+v)
	if code != http.StatusOK || !strings.Contains(body, "window.kast") {
		t.Fatalf("watch.js: status %d", code)
	}
	if cc := hdr.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned Cache-Control = %q, want immutable", cc)
	}
	if ct := hdr.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type = %q", ct)
	}
	_, hdr, _ = get(t, h, "/assets/watch.js")
	if cc := hdr.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("unversioned Cache-Control = %q, want no-cache", cc)
	}
	_, hdr, _ = get(t, h, "/assets/watch.js?v="+v, "Accept-Encoding", "gzip, br")
	if hdr.Get("Content-Encoding") != "gzip" {
		t.Errorf("gzip not used for Accept-Encoding: gzip")
	}
	code, _, _ = get(t, h, "/assets/watch.js?v="+v, "If-None-Match", `"`+v+`"`)
	if code != http.StatusNotModified {
		t.Errorf("conditional GET status = %d, want 304", code)
	}
	for _, p := range []string{"/assets/README", "/assets/nope.js"} {
		if code, _, _ := get(t, h, p); code != http.StatusNotFound {
			t.Errorf("%s: status = %d, want 404", p, code)
		}
	}
	// The mux cleans the path first and redirects to /pages.go, a 404.
	if code, _, body := get(t, h, "/assets/../pages.go"); code == http.StatusOK || strings.Contains(body, "package pages") {
		t.Errorf("/assets/../pages.go: status %d", code)
	}
	if !strings.HasPrefix(pages.AssetURL("kast.css"), "/assets/kast.css?v="+v) {
		t.Errorf("AssetURL = %q", pages.AssetURL("kast.css"))
	}
}
