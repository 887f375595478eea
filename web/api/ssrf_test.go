package api_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kastlive/kast/web/api"
)

// counted is a test server that counts the requests it got.
func counted(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); h(w, r) }))
	t.Cleanup(srv.Close)
	return srv, &n
}

func port(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Port()
}

func (s *testServer) sync(u string) resp {
	s.t.Helper()
	return s.do(req{method: "POST", path: "/api/v1/events/democon/timetable/sync", admin: true,
		body: map[string]any{"url": u, "dry_run": true}})
}

// TestSyncRefusesInternalAddresses: by default a timetable sync connects
// to no loopback (by address or by a name resolving to one), link-local
// (the cloud metadata services included), unspecified or multicast
// address; the check is on the connected address, so nothing is sent.
// The organizer is told why, not what the network looks like.
func TestSyncRefusesInternalAddresses(t *testing.T) {
	s := newServer(t)
	s.createDemo()
	if api.DefaultFetchProxy(s.api) {
		t.Error("the sync client uses a proxy from the environment")
	}
	internal, hits := counted(t, func(w http.ResponseWriter, r *http.Request) { w.Write(sample(t, "pretalx-schedule.json")) })
	p := port(t, internal.URL)
	for _, u := range []string{internal.URL + "/", "http://[::1]:" + p + "/", "http://localhost:" + p + "/",
		"http://0.0.0.0:" + p + "/", "http://169.254.169.254/latest/meta-data/", "http://[fe80::1%25lo]:" + p + "/",
		"http://[fd00:ec2::254]/", "http://[::ffff:127.0.0.1]:" + p + "/", "http://224.0.0.1:" + p + "/"} {
		r := s.sync(u)
		msg, field := r.apiErr(t)
		if r.status != 502 || field != "url" || !strings.Contains(msg, "does not fetch from") {
			t.Errorf("%s: %d %s", u, r.status, r.body)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server got %d requests", n)
	}
	for _, a := range []string{"127.0.0.1", "::1", "169.254.169.254", "fe80::1", "fd00:ec2::254", "0.0.0.0", "0.1.2.3", "::", "ff02::1", "255.255.255.255"} {
		if !api.RefusedAddr(netip.MustParseAddr(a), false) {
			t.Errorf("%s allowed", a)
		}
	}
	for _, a := range []string{"192.0.2.1", "10.1.2.3", "2001:db8::1", "fd00:1::5"} {
		if api.RefusedAddr(netip.MustParseAddr(a), false) {
			t.Errorf("%s refused", a)
		}
	}
	if api.RefusedAddr(netip.MustParseAddr("127.0.0.1"), true) || !api.RefusedAddr(netip.MustParseAddr("169.254.169.254"), true) {
		t.Error("-timetable-sync-allow-loopback allows loopback only")
	}
}

// TestSyncRefusesRedirectsInward: a public-looking URL (here the one
// loopback port allowed) redirecting to an internal one is refused at the
// redirect's connection; https may not redirect to http; redirects are
// bounded; a closed port and an open one look alike to the organizer.
func TestSyncRefusesRedirectsInward(t *testing.T) {
	internal, hits := counted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(sample(t, "pretalx-schedule.json"))
	})
	var redirector *httptest.Server
	redirector, _ = counted(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/closed":
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			ln.Close()
			http.Redirect(w, r, "http://"+ln.Addr().String()+"/", http.StatusFound)
		default:
			http.Redirect(w, r, internal.URL+"/admin-only/schedule.json", http.StatusFound)
		}
	})
	rp, _ := strconv.Atoi(port(t, redirector.URL))
	s := newServer(t, func(h *api.Handler) { h.Fetch = api.FetchClientAllowingPort(5*time.Second, uint16(rp)) })
	s.createDemo()
	r := s.sync(redirector.URL + "/schedule.json")
	if msg, _ := r.apiErr(t); r.status != 502 || !strings.Contains(msg, "does not fetch from") || hits.Load() != 0 {
		t.Errorf("redirect to %s: %d %s (internal server hit %d times)", internal.URL, r.status, r.body, hits.Load())
	}
	r = s.sync(redirector.URL + "/loop")
	if msg, _ := r.apiErr(t); r.status != 502 || !strings.Contains(msg, "more than 5") {
		t.Errorf("redirect loop: %d %s", r.status, r.body)
	}

	// With loopback allowed (kast -timetable-sync-allow-loopback, a
	// pretalx on the same machine): a closed port says no more than
	// "could not connect", and an https URL may not redirect to http.
	tlsRedirector := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/schedule.json", http.StatusFound)
	}))
	defer tlsRedirector.Close()
	s = newServer(t, func(h *api.Handler) { h.SyncAllowLoopback = true })
	s.api.Fetch.Transport.(*http.Transport).TLSClientConfig = tlsRedirector.Client().Transport.(*http.Transport).TLSClientConfig
	s.createDemo()
	r = s.sync(redirector.URL + "/closed")
	if msg, _ := r.apiErr(t); r.status != 502 || msg != "fetching the timetable failed: could not connect to the timetable URL" {
		t.Errorf("closed port: %d %s", r.status, r.body)
	}
	r = s.sync(tlsRedirector.URL + "/schedule.json")
	if msg, _ := r.apiErr(t); r.status != 502 || !strings.Contains(msg, "https to http") {
		t.Errorf("https to http: %d %s", r.status, r.body)
	}
	if r := s.sync(internal.URL + "/schedule.json"); r.status != 200 {
		t.Errorf("allowed loopback: %d %s", r.status, r.body)
	}
}
