package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/netlimit"
	"github.com/kastlive/kast/web/api"
)

// TestRegistrationAnswersLikeLogin: registering with the email of an
// existing account and a wrong password is answered exactly as a failed
// POST /session is (401, "wrong email or password", no field), so the
// answer does not say the email has an account with another password.
// (A new email is registered at once, which a prober can see: without
// email verification "create if new" cannot hide that; docs/api.md.)
func TestRegistrationAnswersLikeLogin(t *testing.T) {
	s := newServer(t, noLimits)
	s.createDemo()
	s.must(201, req{method: "POST", path: "/api/v1/events/democon/registrations", body: registration("alice@example.org", "online")})
	probe := map[string]any{"email": "alice@example.org", "password": "guess-guess", "name": "Probe", "participation": "online"}
	known := s.do(req{method: "POST", path: "/api/v1/events/democon/registrations", body: probe})
	login := s.do(req{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "alice@example.org", "password": "guess-guess"}})
	unknownLogin := s.do(req{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "nobody@example.org", "password": "guess-guess"}})
	t.Logf("registration, known email, wrong password: %d %s", known.status, known.body)
	t.Logf("login, wrong password: %d %s; unknown email: %d %s", login.status, login.body, unknownLogin.status, unknownLogin.body)
	if known.status != 401 || string(known.body) != string(login.body) || string(login.body) != string(unknownLogin.body) {
		t.Fatalf("registration of a known email answers %d %s; a failed login %d %s", known.status, known.body, login.status, login.body)
	}
	// Input checked before the lookup: the same answer for both emails,
	// and no account created.
	for _, bad := range []map[string]any{{"password": "short"}, {"name": ""}} {
		var bodies []string
		for _, email := range []string{"alice@example.org", "carol@example.org"} {
			in := map[string]any{"email": email, "password": "guess-guess", "name": "Probe", "participation": "online"}
			for k, v := range bad {
				in[k] = v
			}
			r := s.must(422, req{method: "POST", path: "/api/v1/events/democon/registrations", body: in})
			bodies = append(bodies, string(r.body))
		}
		if bodies[0] != bodies[1] {
			t.Errorf("%v: known email %s, unknown %s", bad, bodies[0], bodies[1])
		}
	}
	s.must(401, req{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "carol@example.org", "password": "guess-guess"}})
	// Alice, with her password, registers again: her registration back.
	s.must(200, req{method: "POST", path: "/api/v1/events/democon/registrations", body: registration("alice@example.org", "online")})
}

// TestRegistrationTakesTheLoginLimits: a registration carrying an email
// and a password takes from the address's login bucket, and its failed
// password checks count against the email's failure limit, which also
// stops logins for that email (from any address) once spent.
func TestRegistrationTakesTheLoginLimits(t *testing.T) {
	s := newServer(t, func(h *api.Handler) {
		h.RegisterLimit = api.RateLimit{Burst: 100, Every: time.Millisecond}
		h.LoginLimit = api.RateLimit{Burst: 3, Every: time.Hour}
	})
	s.createDemo()
	for i := range 3 {
		s.must(201, req{method: "POST", path: "/api/v1/events/democon/registrations", body: registration(string(rune('a'+i))+"@example.org", "online")})
	}
	r := s.must(429, req{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "a@example.org", "password": "correct horse battery"}})
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	r = s.must(429, req{method: "POST", path: "/api/v1/events/democon/registrations", body: registration("d@example.org", "online")})
	r.apiErr(t)

	s = newServer(t, func(h *api.Handler) {
		h.RegisterLimit = api.RateLimit{Burst: 100, Every: time.Millisecond}
		h.LoginLimit = h.RegisterLimit
		h.EmailFailureLimit = api.RateLimit{Burst: 3, Every: time.Hour}
	})
	s.createDemo()
	s.must(201, req{method: "POST", path: "/api/v1/events/democon/registrations", body: registration("alice@example.org", "online")})
	wrong := map[string]any{"email": "Alice@Example.org", "password": "guess-guess", "name": "Probe", "participation": "online"}
	s.must(401, req{method: "POST", path: "/api/v1/events/democon/registrations", body: wrong})
	s.must(401, req{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "alice@example.org", "password": "guess-2"}})
	s.must(401, req{method: "POST", path: "/api/v1/events/democon/registrations", body: wrong})
	// Spent: even the right password waits, for logins and registrations.
	r = s.must(429, req{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "alice@example.org", "password": "correct horse battery"}})
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	s.must(429, req{method: "POST", path: "/api/v1/events/democon/registrations", body: registration("alice@example.org", "online")})
	// Another email is not affected.
	s.must(201, req{method: "POST", path: "/api/v1/events/democon/registrations", body: registration("bob@example.org", "online")})
}

// TestRateLimitsBehindTrustedProxy: behind a trusted proxy (kast
// -trusted-proxies) each client named in X-Forwarded-For has its own
// bucket; from any other peer the header is ignored, so a client cannot
// pick a fresh address per attempt.
func TestRateLimitsBehindTrustedProxy(t *testing.T) {
	login := func(s *testServer, client string) int {
		return s.do(req{method: "POST", path: "/api/v1/session", body: map[string]any{"email": "x@example.org", "password": "whatever1"},
			header: http.Header{"X-Forwarded-For": {client}}}).status
	}
	proxies, err := netlimit.ParseProxies("127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	limits := func(h *api.Handler) {
		h.LoginLimit = api.RateLimit{Burst: 2, Every: time.Hour}
		h.EmailFailureLimit = api.RateLimit{Burst: 100, Every: time.Millisecond}
	}
	s := newServer(t, limits, func(h *api.Handler) { h.Proxies = proxies })
	for _, c := range []string{"203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2"} {
		if got := login(s, c); got != 401 {
			t.Fatalf("%s: %d, want 401", c, got)
		}
	}
	if got := login(s, "203.0.113.1"); got != 429 {
		t.Fatalf("the third attempt of 203.0.113.1: %d, want 429", got)
	}
	// Not trusted: the header names nobody, the peer is limited.
	s = newServer(t, limits)
	login(s, "203.0.113.1")
	login(s, "203.0.113.2")
	if got := login(s, "203.0.113.3"); got != 429 {
		t.Fatalf("a forged X-Forwarded-For from an untrusted peer got its own bucket: %d", got)
	}
}
