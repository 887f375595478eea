package gate

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeSource is a fixed access table.
type fakeSource []TrackAccess

func (f fakeSource) TrackAccess(context.Context) ([]TrackAccess, error) { return f, nil }

var testTracks = fakeSource{
	{Track: "main", TrackID: 1, EventID: 1, Event: "devconf", Registered: true},
	{Track: "side", TrackID: 2, EventID: 1, Event: "devconf", Registered: true},
	{Track: "open", TrackID: 3, EventID: 2, Event: "meetup"},
}

const testPlaylist = "#EXTM3U\n#EXT-X-MAP:URI=\"init-a-1.mp4\"\n#EXT-X-PART:DURATION=0.200,URI=\"part-a-1.m4s\",INDEPENDENT=YES\n#EXTINF:1.000,\nseg-a-1.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-a-2.m4s\"\n"

// newTestGate returns a gate in front of a handler that answers every
// file with testPlaylist.
func newTestGate(t *testing.T) (*Gate, *time.Time) {
	t.Helper()
	d := &Directory{Source: testTracks}
	if err := d.Initialize(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	now := time.Unix(1_800_000_000, 0)
	g := &Gate{
		Signer:    testSigner(t),
		Directory: d,
		Prefix:    "/hls/",
		Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Length"] = []string{"999"} // replaced by a rewrite
			w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
			w.Write([]byte(testPlaylist))
		}),
		now: func() time.Time { return now },
	}
	return g, &now
}

func (g *Gate) token(event int64, session string, ttl time.Duration) string {
	return g.Signer.Issue(Claims{EventID: event, Session: RefOf(session), Expires: g.clock().Add(ttl)})
}

func do(g http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	return w
}

func TestGate(t *testing.T) {
	g, now := newTestGate(t)
	good := g.token(1, "s1", time.Minute)
	expired := g.token(1, "s1", -time.Second)
	other := g.token(2, "s1", time.Minute)
	flip := "A"
	if good[20] == 'A' {
		flip = "B"
	}
	tampered := good[:20] + flip + good[21:]
	g.Revoke("gone")
	revoked := g.token(1, "gone", time.Minute)

	cases := []struct {
		name   string
		target string
		hdr    []string
		status int
		inBody string
	}{
		{"no credential", "/hls/main/media.m3u8", nil, 401, "registered attendees"},
		{"no credential, part", "/hls/main/part-a-1.m4s", nil, 401, "registered attendees"},
		{"cookie", "/hls/main/media.m3u8", []string{"Cookie", "other=1; kast_play=" + good}, 200, "#EXTM3U"},
		{"bearer", "/hls/side/part-a-1.m4s", []string{"Authorization", "Bearer " + good}, 200, ""},
		{"query", "/hls/main/part-a-1.m4s?token=" + good, nil, 200, ""},
		{"tampered", "/hls/main/media.m3u8", []string{"Cookie", "kast_play=" + tampered}, 401, "forged"},
		{"truncated", "/hls/main/media.m3u8?token=" + good[:40], nil, 401, "forged"},
		{"expired", "/hls/main/media.m3u8", []string{"Cookie", "kast_play=" + expired}, 401, "expired"},
		{"other event", "/hls/main/media.m3u8?token=" + other, nil, 403, "another event"},
		{"revoked session", "/hls/main/media.m3u8?token=" + revoked, nil, 401, "session"},
		{"expired cookie, good query", "/hls/main/part-a-1.m4s?token=" + good, []string{"Cookie", "kast_play=" + expired}, 200, ""},
		{"public event", "/hls/open/media.m3u8", nil, 200, "#EXTM3U"},
		{"unknown track", "/hls/nope/media.m3u8?token=" + good, nil, 404, "no such track"},
		{"preflight", "/hls/main/media.m3u8", nil, 200, ""},
	}
	for _, c := range cases {
		method := http.MethodGet
		if c.name == "preflight" {
			method = http.MethodOptions
		}
		w := do(g, method, c.target, c.hdr...)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.inBody) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, w.Code, w.Body.String(), c.status, c.inBody)
		}
		if w.Code == 401 {
			var e struct{ Error, Field string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Field != "token" || w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s: body %q (%v), WWW-Authenticate %q", c.name, w.Body.String(), err, w.Header().Get("WWW-Authenticate"))
			}
		}
	}

	// The same token stops working once its time has passed.
	*now = now.Add(time.Minute)
	if w := do(g, "GET", "/hls/main/media.m3u8", "Cookie", "kast_play="+good); w.Code != 401 {
		t.Errorf("after the TTL: %d, want 401", w.Code)
	}
}

func TestGateQueryTokenRewritesPlaylistAndSetsCookie(t *testing.T) {
	g, _ := newTestGate(t)
	tok := g.token(1, "s1", time.Minute)
	w := do(g, "GET", "/hls/main/media.m3u8?token="+tok)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, uri := range []string{`URI="init-a-1.mp4?token=` + tok + `"`, `URI="part-a-1.m4s?token=` + tok + `"`, "\nseg-a-1.m4s?token=" + tok + "\n", `URI="part-a-2.m4s?token=` + tok + `"`} {
		if !strings.Contains(body, uri) {
			t.Errorf("rewritten playlist lacks %s:\n%s", uri, body)
		}
	}
	if cl := w.Header().Get("Content-Length"); cl != itoa(len(body)) {
		t.Errorf("Content-Length %s, body %d bytes", cl, len(body))
	}
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Name != CookieName || c[0].Value != tok || c[0].Path != "/hls/main/" || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode {
		t.Errorf("cookies %+v", c)
	}
	// With the cookie as well, the shared playlist bytes are served as they are.
	w = do(g, "GET", "/hls/main/media.m3u8?token="+tok, "Cookie", "kast_play="+tok)
	if w.Body.String() != testPlaylist || len(w.Result().Cookies()) != 0 {
		t.Errorf("with a cookie: rewritten or cookie set again:\n%s", w.Body)
	}
}

func TestCheckWHEP(t *testing.T) {
	g, _ := newTestGate(t)
	r := httptest.NewRequest("POST", "/whep/main", strings.NewReader("v=0"))
	err := g.CheckWHEP(r, "main")
	var st interface{ HTTPStatus() int }
	if err == nil || !asStatus(err, &st) || st.HTTPStatus() != 401 {
		t.Fatalf("WHEP offer without a token: %v, want a 401 error", err)
	}
	r.Header.Set("Authorization", "Bearer "+g.token(1, "s", time.Minute))
	if err := g.CheckWHEP(r, "main"); err != nil {
		t.Fatalf("WHEP offer with a token: %v", err)
	}
	r.Header.Set("Authorization", "Bearer "+g.token(2, "s", time.Minute))
	if err := g.CheckWHEP(r, "main"); err == nil || err.(*Error).Status != 403 {
		t.Fatalf("token of another event: %v, want 403", err)
	}
	if err := g.CheckWHEP(httptest.NewRequest("POST", "/whep/open", nil), "open"); err != nil {
		t.Fatalf("public event: %v", err)
	}
}

func asStatus(err error, st *interface{ HTTPStatus() int }) bool {
	s, ok := err.(interface{ HTTPStatus() int })
	*st = s
	return ok
}

func TestAppendRewritten(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"#EXTM3U\r\nmedia.m3u8\r\n", "#EXTM3U\r\nmedia.m3u8?token=T\r\n"},
		{"a.m4s?x=1", "a.m4s?x=1&token=T"},
		{`#EXT-X-MEDIA:TYPE=AUDIO,URI="a.m3u8",X="y"` + "\n", `#EXT-X-MEDIA:TYPE=AUDIO,URI="a.m3u8?token=T",X="y"` + "\n"},
		{`#EXT-X-RENDITION-REPORT:URI="b.m3u8",LAST-MSN=1` + "\n\n", `#EXT-X-RENDITION-REPORT:URI="b.m3u8?token=T",LAST-MSN=1` + "\n\n"},
		{`#EXT-X-BROKEN:URI="never closed` + "\n", `#EXT-X-BROKEN:URI="never closed` + "\n"},
	}
	for _, c := range cases {
		if got := string(AppendRewritten(nil, []byte(c.in), "T")); got != c.want {
			t.Errorf("AppendRewritten(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestGateCheckAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops entries under the race detector")
	}
	g, _ := newTestGate(t)
	g.Next = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	r := httptest.NewRequest("GET", "/hls/main/part-a-1.m4s", nil)
	r.Header.Set("Cookie", "a=b; kast_play="+g.token(1, "s", time.Minute))
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatal(w.Code)
	}
	if n := testing.AllocsPerRun(100, func() { g.ServeHTTP(w, r) }); n != 0 {
		t.Fatalf("a gated request allocates %v times", n)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// BenchmarkGateServe is the gate's own work per request, in process: the
// track lookup, the cookie scan, the token check (Next does nothing).
func BenchmarkGateServe(b *testing.B) {
	for _, registered := range []bool{false, true} {
		name := "public"
		if registered {
			name = "registered-cookie"
		}
		b.Run(name, func(b *testing.B) {
			d := &Directory{Source: fakeSource{{Track: "main", EventID: 1, Event: "e", Registered: registered}}}
			if err := d.Initialize(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			g := &Gate{Signer: testSigner(b), Directory: d, Prefix: "/hls/", Next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
			tok := g.Signer.Issue(Claims{EventID: 1, Expires: time.Now().Add(time.Hour)})
			r := httptest.NewRequest("GET", "/hls/main/part-x-1.m4s", nil)
			r.Header.Set("Cookie", "_ga=GA1.1.123; kast_session=abcdefabcdefabcdefabcdefabcdefabcdefabcdefa; "+CookieName+"="+tok)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			for b.Loop() {
				g.ServeHTTP(w, r)
			}
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		})
	}
}
