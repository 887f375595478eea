package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/rtmp"
	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/packager"
	"github.com/kastlive/kast/store/sqlite"
	"github.com/kastlive/kast/web/gate"
)

// accessTable is a settable gate.Source.
type accessTable struct {
	mu   sync.Mutex
	list []gate.TrackAccess
}

func (a *accessTable) TrackAccess(context.Context) ([]gate.TrackAccess, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]gate.TrackAccess(nil), a.list...), nil
}

func (a *accessTable) setRegistered(v bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range a.list {
		a.list[i].Registered = v
	}
}

// gatedServer is the whole HTTP side (fast path, mux, packager) with a
// gate whose key is in a real SQLite file, and RTMP ingest for ffmpeg.
type gatedServer struct {
	web    *Server
	gate   *gate.Gate
	dir    *gate.Directory
	access *accessTable
	rtmp   *rtmp.Server
}

func newGatedServer(t *testing.T) *gatedServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "kast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.Bootstrap(ctx, conference.BootstrapOptions{}); err != nil {
		t.Fatal(err)
	}
	g := &gatedServer{access: &accessTable{list: []gate.TrackAccess{{Track: "main", TrackID: 1, EventID: 1, Event: "devconf", Registered: true}}}}
	g.dir = &gate.Directory{Source: g.access, Logger: log}
	if err := g.dir.Initialize(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.dir.Close)
	signer, err := gate.LoadSigner(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	g.gate = &gate.Gate{Signer: signer, Directory: g.dir}
	hub := &ingest.Hub{}
	pk := &packager.Server{Hub: hub, Logger: log}
	if err := pk.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pk.Close)
	g.rtmp = &rtmp.Server{Address: "127.0.0.1:0", Hub: hub, Logger: log,
		Authorize: func(context.Context, string) (string, error) { return "main", nil }}
	if err := g.rtmp.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.rtmp.Close)
	g.web = &Server{Address: "127.0.0.1:0", Store: st, Hub: hub, Packager: pk, Logger: log, Gate: g.gate}
	if err := g.web.Initialize(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.web.Shutdown(ctx)
	})
	return g
}

func (g *gatedServer) url(path string) string { return "http://" + g.web.Addr().String() + path }

func (g *gatedServer) token(ttl time.Duration) string {
	return g.gate.Signer.Issue(gate.Claims{EventID: 1, Session: gate.RefOf("session-1"), Expires: time.Now().Add(ttl)})
}

func fetch(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestGatedEventOverRealHTTP: ffmpeg publishes to a track of a registered
// event; HLS requests through the fast path need a token, a WHEP offer
// too (through the hook), and once the event is public nobody does.
func TestGatedEventOverRealHTTP(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	g := newGatedServer(t)
	testutil.StartPublish(t, testutil.Publish{URL: "rtmp://" + g.rtmp.Addr().String() + "/live/key", Duration: 40 * time.Second, Size: "640x360", Bitrate: "800k"})
	tok := g.token(time.Minute)
	cookie := []string{"Cookie", gate.CookieName + "=" + tok}
	for deadline := time.Now().Add(15 * time.Second); ; {
		if code, _ := fetch(t, g.url("/hls/main/media.m3u8"), cookie...); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no playlist")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // a complete segment

	_, media := fetch(t, g.url("/hls/main/media.m3u8"), cookie...)
	part := regexp.MustCompile(`part-[^"?]+\.m4s`).FindString(media)
	seg := regexp.MustCompile(`(?m)^seg-\S+\.m4s$`).FindString(media)
	if part == "" || seg == "" {
		t.Fatalf("no part or segment in\n%s", media)
	}
	flip := "A"
	if tok[30] == 'A' {
		flip = "B"
	}
	tampered := tok[:30] + flip + tok[31:]
	expired := g.token(-time.Second)
	for _, c := range []struct {
		name, path string
		hdr        []string
		status     int
	}{
		{"multivariant, no credential", "/hls/main/index.m3u8", nil, 401},
		{"media playlist, no credential", "/hls/main/media.m3u8", nil, 401},
		{"part, no credential", "/hls/main/" + part, nil, 401},
		{"segment, no credential", "/hls/main/" + seg, nil, 401},
		{"playlist, cookie", "/hls/main/media.m3u8", cookie, 200},
		{"part, cookie", "/hls/main/" + part, cookie, 200},
		{"segment, bearer", "/hls/main/" + seg, []string{"Authorization", "Bearer " + tok}, 200},
		{"playlist, query", "/hls/main/index.m3u8?token=" + tok, nil, 200},
		{"playlist, tampered token", "/hls/main/media.m3u8?token=" + tampered, nil, 401},
		{"part, tampered cookie", "/hls/main/" + part, []string{"Cookie", gate.CookieName + "=" + tampered}, 401},
		{"playlist, expired token", "/hls/main/media.m3u8?token=" + expired, nil, 401},
	} {
		code, body := fetch(t, g.url(c.path), c.hdr...)
		if code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.status)
		}
		if code == 401 && !strings.Contains(body, `"field":"token"`) {
			t.Errorf("%s: 401 body %q", c.name, body)
		}
	}

	// A player that keeps no cookies follows the token through the URIs.
	_, mv := fetch(t, g.url("/hls/main/index.m3u8?token="+tok))
	if !strings.Contains(mv, "media.m3u8?token="+tok) {
		t.Fatalf("multivariant not rewritten:\n%s", mv)
	}
	_, media = fetch(t, g.url("/hls/main/media.m3u8?token="+tok))
	uri := regexp.MustCompile(`part-[^"]+\.m4s\?token=[^"]+`).FindString(media)
	if code, _ := fetch(t, g.url("/hls/main/"+uri)); uri == "" || code != 200 {
		t.Fatalf("part %q from a rewritten playlist: %d", uri, code)
	}
	testutil.GohlslibReceivesParts(t, g.url("/hls/main/index.m3u8?token="+tok))

	// WHEP: web/webrtc is not on main yet; the hook it calls refuses an
	// offer without a token and takes one with it.
	offer := httptest.NewRequest("POST", "/whep/main", strings.NewReader("v=0\r\n"))
	err := g.gate.CheckWHEP(offer, "main")
	if st, ok := err.(interface{ HTTPStatus() int }); !ok || st.HTTPStatus() != 401 {
		t.Fatalf("WHEP offer without a token: %v", err)
	}
	offer.Header.Set("Authorization", "Bearer "+tok)
	if err := g.gate.CheckWHEP(offer, "main"); err != nil {
		t.Fatalf("WHEP offer with a token: %v", err)
	}

	// The event becomes public: nothing is asked any more.
	g.access.setRegistered(false)
	g.dir.Reload()
	for deadline := time.Now().Add(2 * time.Second); ; {
		if code, _ := fetch(t, g.url("/hls/main/media.m3u8")); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("public event still gated")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := fetch(t, g.url("/hls/main/"+part)); code != 200 {
		t.Fatalf("part of a public event: %d", code)
	}
	if err := g.gate.CheckWHEP(httptest.NewRequest("POST", "/whep/main", nil), "main"); err != nil {
		t.Fatalf("WHEP offer for a public event: %v", err)
	}
	if s := g.web.fast.Stats(); s.Requests < 20 {
		t.Errorf("only %d requests went through the fast path", s.Requests)
	}
}

// TestFFmpegPlaysGatedEventWithQueryToken: ffmpeg, given only a URL with
// the token, plays a registered event's stream.
func TestFFmpegPlaysGatedEventWithQueryToken(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	g := newGatedServer(t)
	testutil.StartPublish(t, testutil.Publish{URL: "rtmp://" + g.rtmp.Addr().String() + "/live/key", Duration: 30 * time.Second})
	tok := g.token(time.Minute)
	url := g.url("/hls/main/index.m3u8?token=" + tok)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if code, _ := fetch(t, url); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no playlist")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // ffmpeg starts three segments back
	testutil.DecodeFiveSeconds(t, url, func() string { return "" })
	if code, _ := fetch(t, g.url("/hls/main/index.m3u8")); code != 401 {
		t.Fatalf("without the token: %d", code)
	}
}
