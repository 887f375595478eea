package pages_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/store/sqlite"
	"github.com/kastlive/kast/web"
	"github.com/kastlive/kast/web/api"
	"github.com/kastlive/kast/web/pages"
)

const adminToken = "pages-admin-token-0123456789"

// site is the pages and the API over HTTP on a SQLite store with a public
// event "conf" (track "hall", a talk on air) and a registered-only
// event "club" (track "room").
type site struct {
	t   *testing.T
	url string
}

func newSite(t *testing.T, now time.Time) *site {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "kast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	st.Bootstrap(ctx, conference.BootstrapOptions{AdminToken: adminToken})
	a := &api.Handler{Store: st, Chat: &conference.Chat{Messages: st, Questions: st}, Organizers: st, Now: func() time.Time { return now }}
	a.Initialize()
	p := &pages.Handler{Tracks: st, Store: st, Auth: a, Chat: a.Chat, HLSBuilt: func() bool { return true }, Now: func() time.Time { return now },
		FrameAncestors: "https://conf.example.org", IngestPorts: func() (int, int) { return 1935, 0 },
		Recorded: func(int64) bool { return true }}
	srv := httptest.NewServer(web.Routes(web.Handlers{API: a, Pages: p}))
	t.Cleanup(srv.Close)
	s := &site{t: t, url: srv.URL}
	s.api(nil, "POST", "/api/v1/events", map[string]any{"slug": "conf", "name": "Conf <2027>", "timezone": "Europe/Berlin"}, 201)
	s.api(nil, "POST", "/api/v1/events/conf/tracks", map[string]any{"slug": "hall", "name": "Hall <A>"}, 201)
	s.api(nil, "POST", "/api/v1/events", map[string]any{"slug": "club", "name": "Club", "timezone": "UTC", "access": "registered"}, 201)
	s.api(nil, "POST", "/api/v1/events/club/tracks", map[string]any{"slug": "room", "name": "Room"}, 201)
	var k struct{ ID int64 }
	json.Unmarshal(s.api(nil, "POST", "/api/v1/events/conf/talks", map[string]any{"track": "hall", "title": "Now <talk>", "kind": "talk",
		"start": now.Add(-10 * time.Minute).Format(time.RFC3339), "end": now.Add(20 * time.Minute).Format(time.RFC3339),
		"speakers": []map[string]string{{"name": "Ada <L>"}}}, 201), &k)
	s.api(nil, "POST", "/api/v1/events/conf/talks", map[string]any{"track": "hall", "title": "Later talk", "kind": "talk",
		"start": now.Add(20 * time.Minute).Format(time.RFC3339), "end": now.Add(50 * time.Minute).Format(time.RFC3339)}, 201)
	s.api(nil, "PUT", "/api/v1/tracks/hall/on-air", map[string]any{"talk_id": k.ID}, 200)
	return s
}

// api calls the API (as admin when c is nil) and checks the status.
func (s *site) api(c *http.Client, method, path string, body any, want int) []byte {
	s.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if c == nil {
		c = http.DefaultClient
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	res, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(res.Body)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, out.String())
	}
	return out.Bytes()
}

func (s *site) get(c *http.Client, path string) (*http.Response, string) {
	s.t.Helper()
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := c.Get(s.url + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res, b.String()
}

func jar() *http.Client {
	j, _ := cookiejar.New(nil)
	return &http.Client{Jar: j, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestEventHome(t *testing.T) {
	now := time.Date(2027, 3, 13, 10, 0, 0, 0, time.UTC)
	s := newSite(t, now)
	var past struct{ ID int64 }
	json.Unmarshal(s.api(nil, "POST", "/api/v1/events/conf/talks", map[string]any{"track": "hall", "title": "Earlier", "kind": "talk",
		"start": now.Add(-time.Hour).Format(time.RFC3339), "end": now.Add(-30 * time.Minute).Format(time.RFC3339)}, 201), &past)
	res, body := s.get(nil, "/e/conf")
	if n := strings.Count(body, "/talk.mp4"); n != 1 || !strings.Contains(body, fmt.Sprintf(`href="/vod/%d/talk.mp4"`, past.ID)) {
		t.Errorf("recording links: %d, want one for the ended talk", n)
	}
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	for _, want := range []string{
		"Conf &lt;2027&gt;", "Hall &lt;A&gt;", "Now &lt;talk&gt;", "Ada &lt;L&gt;", // escaped
		`href="/api/v1/events/conf/timetable.ics"`, `href="/register/conf"`, `href="/e/conf/hall"`,
		`class="slot now"`, `class="slot next"`, ">11:20<", // the later talk at 11:20 Berlin time
		"times in Europe/Berlin", `data-event-tz="Europe/Berlin"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("event home lacks %q", want)
		}
	}
	if strings.Contains(body, "<talk>") || strings.Contains(body, "<A>") {
		t.Error("unescaped text")
	}
	if csp := res.Header.Get("Content-Security-Policy"); csp != "frame-ancestors 'self'" {
		t.Errorf("CSP %q", csp)
	}
	if res, _ := s.get(nil, "/e/nope"); res.StatusCode != 404 {
		t.Errorf("unknown event: %d", res.StatusCode)
	}
	if res, _ := s.get(nil, "/e/conf/room"); res.StatusCode != 404 {
		t.Errorf("track of another event: %d", res.StatusCode)
	}
}

func TestTrackPageAndEmbed(t *testing.T) {
	now := time.Date(2027, 3, 13, 10, 0, 0, 0, time.UTC)
	s := newSite(t, now)
	ada := jar()
	s.api(ada, "POST", "/api/v1/events/conf/registrations", map[string]any{"name": "Ada", "email": "ada@example.org", "password": "long enough password", "consent_terms": true}, 201)
	s.api(ada, "POST", "/api/v1/tracks/hall/messages", map[string]any{"body": "<img src=x onerror=alert(1)>"}, 201)
	s.api(ada, "POST", "/api/v1/tracks/hall/questions", map[string]any{"body": "Why <b>?"}, 201)

	// A late joiner, not logged in, sees the history, escaped.
	_, body := s.get(nil, "/e/conf/hall")
	for _, want := range []string{
		`data-src="/hls/hall/index.m3u8"`, `id="video"`, "Now &lt;talk&gt;", "Later talk", `id="waiting"`, `id="cannot-play"`,
		"&lt;img src=x onerror=alert(1)&gt;", "Why &lt;b&gt;?", `data-can-post="false"`, "Log in</a> or <a",
		`/assets/live.js?v=`, `/assets/hls.min.js?v=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("track page lacks %q", want)
		}
	}
	if strings.Contains(body, "<img src=x") {
		t.Fatal("chat message rendered as HTML")
	}
	_, body = s.get(ada, "/e/conf/hall")
	if !strings.Contains(body, `data-can-post="true"`) || !strings.Contains(body, `id="chat-form"`) {
		t.Error("a registered attendee cannot post")
	}

	res, body := s.get(nil, "/embed/conf/hall")
	if csp := res.Header.Get("Content-Security-Policy"); csp != "frame-ancestors https://conf.example.org" {
		t.Errorf("embed CSP %q", csp)
	}
	if !strings.Contains(body, `id="video"`) || strings.Contains(body, `class="top"`) || strings.Contains(body, "chat-form") {
		t.Error("embed is not the bare player")
	}
}

func TestGatedTrackAsksForLogin(t *testing.T) {
	s := newSite(t, time.Now())
	_, body := s.get(nil, "/e/club/room")
	if !strings.Contains(body, "Log in to watch") || strings.Contains(body, "<video") || strings.Contains(body, "hls.min.js") {
		t.Fatalf("gated page without login:\n%s", body)
	}
	if !strings.Contains(body, `href="/login?next=%2Fe%2Fclub%2Froom"`) {
		t.Error("no login link back to the track")
	}
	// Logged in, registered elsewhere only: register.
	c := jar()
	s.api(c, "POST", "/api/v1/events/conf/registrations", map[string]any{"name": "Bo", "email": "bo@example.org", "password": "long enough password", "consent_terms": true}, 201)
	if _, body = s.get(c, "/e/club/room"); !strings.Contains(body, "Register to watch") {
		t.Fatal("not asked to register")
	}
	s.api(c, "POST", "/api/v1/events/club/registrations", map[string]any{"consent_terms": true}, 201)
	if _, body = s.get(c, "/e/club/room"); !strings.Contains(body, `id="video"`) {
		t.Fatal("registered attendee gets no player")
	}
}

func TestAccountPages(t *testing.T) {
	s := newSite(t, time.Now())
	if res, _ := s.get(nil, "/me"); res.StatusCode != 303 || res.Header.Get("Location") != "/login?next=/me" {
		t.Fatalf("/me anonymous: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, body := s.get(nil, "/register/conf?next=//evil.example")
	if !strings.Contains(body, `data-next="/e/conf"`) || !strings.Contains(body, `minlength="8"`) {
		t.Errorf("register page: unsafe next or no rules:\n%s", body)
	}
	_, body = s.get(nil, "/login?next=https://evil.example/")
	if !strings.Contains(body, `data-next="/"`) {
		t.Error("login page keeps an off-site next")
	}
	s.api(nil, "PATCH", "/api/v1/events/conf", map[string]any{"offline_capacity": 5}, 200)
	c := jar()
	var reg struct{ Registration struct{ Ticket string } }
	json.Unmarshal(s.api(c, "POST", "/api/v1/events/conf/registrations", map[string]any{"name": "Cy", "email": "cy@example.org",
		"password": "long enough password", "consent_terms": true, "participation": "offline"}, 201), &reg)
	_, body = s.get(c, "/me")
	if !strings.Contains(body, reg.Registration.Ticket) || !strings.Contains(body, `src="/ticket/conf/qr.svg"`) {
		t.Fatalf("/me lacks the ticket:\n%s", body)
	}
	res, svg := s.get(c, "/ticket/conf/qr.svg")
	if res.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(svg, "<svg ") || !strings.Contains(svg, `<path fill="#000" d="M`) {
		t.Fatalf("QR: %s %.200s", res.Header.Get("Content-Type"), svg)
	}
	if res, _ := s.get(nil, "/ticket/conf/qr.svg"); res.StatusCode != 404 {
		t.Errorf("ticket without login: %d", res.StatusCode)
	}
	if _, body = s.get(c, "/register/conf"); !strings.Contains(body, "You are registered") {
		t.Error("register page does not say so")
	}
}

func TestOrganizerPages(t *testing.T) {
	s := newSite(t, time.Now())
	_, body := s.get(nil, "/admin")
	if !strings.Contains(body, `id="admin-login"`) || strings.Contains(body, "/admin/e/conf") {
		t.Fatal("admin page without login shows events")
	}
	if res, _ := s.get(nil, "/admin/e/conf"); res.StatusCode != 303 {
		t.Fatalf("organizer page without login: %d", res.StatusCode)
	}
	c := jar()
	s.api(c, "POST", "/api/v1/admin/session", map[string]any{"token": adminToken}, 200)
	_, body = s.get(c, "/admin")
	if !strings.Contains(body, `href="/admin/e/conf"`) || !strings.Contains(body, `id="organizer-form"`) {
		t.Fatal("admin page lacks the events or the organizer form")
	}
	res, body := s.get(c, "/admin/e/conf")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	host := strings.TrimPrefix(s.url, "http://")
	host = host[:strings.LastIndexByte(host, ':')]
	for _, want := range []string{"rtmp://" + host + ":1935/live", "data-rotate", `data-talk="0"`, "Now &lt;talk&gt;", "switch current",
		`id="import-form"`, "registrations.csv", "/admin/e/conf/check-in"} {
		if !strings.Contains(body, want) {
			t.Errorf("organizer page lacks %q", want)
		}
	}
	if _, body = s.get(c, "/admin/e/conf/check-in"); !strings.Contains(body, `id="ticket"`) {
		t.Error("check-in page lacks the ticket field")
	}
	// An attendee is not an organizer.
	a := jar()
	s.api(a, "POST", "/api/v1/events/conf/registrations", map[string]any{"name": "Dee", "email": "dee@example.org", "password": "long enough password", "consent_terms": true}, 201)
	if res, _ := s.get(a, "/admin/e/conf"); res.StatusCode != 303 {
		t.Errorf("attendee opens the organizer page: %d", res.StatusCode)
	}
}

func TestQRSVG(t *testing.T) {
	svg, err := pages.QRSVG("ABCDE-FGHJK-LMNPQ-RSTUV")
	if err != nil {
		t.Fatal(err)
	}
	// Version 2 (25 modules) plus the quiet zone.
	if !bytes.HasPrefix(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 33 33"`)) {
		t.Fatalf("%.120s", svg)
	}
}

func TestFrontPageListsEvents(t *testing.T) {
	s := newSite(t, time.Now())
	_, body := s.get(nil, "/")
	for _, want := range []string{`href="/e/conf"`, "Conf &lt;2027&gt;", `href="/e/conf/hall"`, `href="/e/club/room"`} {
		if !strings.Contains(body, want) {
			t.Errorf("front page lacks %q", want)
		}
	}
	// The old player URL still plays.
	if res, body := s.get(nil, "/watch/hall"); res.StatusCode != 200 || !strings.Contains(body, `data-src="/hls/hall/index.m3u8"`) {
		t.Errorf("/watch/hall: %d", res.StatusCode)
	}
}
