package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/store/sqlite"
	"github.com/kastlive/kast/web"
	"github.com/kastlive/kast/web/api"
)

const adminToken = "test-admin-token-0123456789"

// testServer is the API over real HTTP on 127.0.0.1, on a real SQLite
// file in a temporary directory.
type testServer struct {
	t     *testing.T
	srv   *httptest.Server
	api   *api.Handler
	store *sqlite.Store
	feed  *conference.Feed
}

func newServer(t *testing.T, configure ...func(*api.Handler)) *testServer {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "kast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Bootstrap(context.Background(), conference.BootstrapOptions{AdminToken: adminToken}); err != nil {
		t.Fatal(err)
	}
	feed := &conference.Feed{}
	h := &api.Handler{Store: st, Feed: feed}
	for _, f := range configure {
		f(h)
	}
	h.Initialize()
	srv := httptest.NewServer(web.Routes(web.Handlers{API: h}))
	t.Cleanup(srv.Close)
	return &testServer{t: t, srv: srv, api: h, store: st, feed: feed}
}

// client is a browser-like client: a cookie jar.
func (s *testServer) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

type req struct {
	method, path string
	body         any // string or []byte sent as is; anything else as JSON
	contentType  string
	admin        bool
	header       http.Header
	client       *http.Client
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// apiErr decodes the JSON error body.
func (r resp) apiErr(t *testing.T) (msg, field string) {
	t.Helper()
	var e struct{ Error, Field string }
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error with Content-Type %q: %s", ct, r.body)
	}
	r.json(t, &e)
	if e.Error == "" {
		t.Fatalf("error body without message: %s", r.body)
	}
	return e.Error, e.Field
}

func (s *testServer) do(q req) resp {
	s.t.Helper()
	var body io.Reader
	ct := q.contentType
	switch b := q.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		body = bytes.NewReader(j)
		if ct == "" {
			ct = "application/json"
		}
	}
	r, err := http.NewRequest(q.method, s.srv.URL+q.path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	if q.admin {
		r.Header.Set("Authorization", "Bearer "+adminToken)
	}
	for k, v := range q.header {
		r.Header[k] = v
	}
	c := q.client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// must does q and fails unless the status is want.
func (s *testServer) must(want int, q req) resp {
	s.t.Helper()
	r := s.do(q)
	if r.status != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", q.method, q.path, r.status, want, r.body)
	}
	return r
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../conference/schedule/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// demoEvent is the event the samples are for.
var demoEvent = map[string]any{
	"slug": "democon", "name": "DemoCon 2027", "timezone": "Europe/Berlin",
	"start": "2027-03-13T00:00:00+01:00", "end": "2027-03-15T00:00:00+01:00",
	"access": "registered", "offline_capacity": 100,
}

func (s *testServer) createDemo() {
	s.t.Helper()
	s.must(201, req{method: "POST", path: "/api/v1/events", body: demoEvent, admin: true})
}
