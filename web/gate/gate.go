package gate

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTTL is how long a playback token is valid. A watch page refreshes
// its cookie at half of it; a logout with the revocation hook wired cuts
// playback at once, without it (or after a restart) within this time.
const DefaultTTL = 10 * time.Minute

// Gate checks viewer credentials for the tracks of registered events. Its
// ServeHTTP wraps the one /hls/ handler value that the HTTP mux and the
// fast path share; CheckWHEP is the hook the WHEP handler calls.
type Gate struct {
	Signer    *Signer
	Directory *Directory
	// Next serves the HLS files of requests that pass.
	Next http.Handler
	// Prefix of the HLS paths, "/hls/": the track is the path element
	// after it.
	Prefix string
	// TTL of issued tokens (default DefaultTTL).
	TTL time.Duration
	// SecureCookies marks cookies Secure even on plain HTTP (kast behind a
	// TLS-terminating proxy); requests served over TLS get Secure anyway.
	SecureCookies bool
	// Viewers looks up who asks for a token (Issuer).
	Viewers Viewers

	now      func() time.Time // tests
	revoked  atomic.Pointer[map[SessionRef]time.Time]
	revokeMu sync.Mutex
}

func (g *Gate) ttl() time.Duration {
	if g.TTL > 0 {
		return g.TTL
	}
	return DefaultTTL
}

func (g *Gate) clock() time.Time {
	if g.now != nil {
		return g.now()
	}
	return time.Now()
}

// verdict is the outcome of one credential check.
type verdict struct {
	err         *Error
	src         source // where the accepted token came from
	tok         string // the accepted token
	validCookie bool   // a cookie held a valid token for the event
}

// check decides whether r may play a track of the event acc names.
func (g *Gate) check(r *http.Request, acc TrackAccess) verdict {
	now := g.clock()
	revoked := g.revoked.Load()
	v := verdict{err: errNoCredential}
	rank := 0 // how close the best refusal came: the viewer is told that one
	refuse := func(e *Error, r int) {
		if r > rank {
			v.err, rank = e, r
		}
	}
	candidates(r.Header["Cookie"], r.Header["Authorization"], r.URL.RawQuery, func(tok string, src source) bool {
		c, err := g.Signer.Verify(tok, now)
		switch {
		case err == ErrMalformed:
			refuse(errBadToken, 1)
		case c.EventID != acc.EventID:
			refuse(errOtherEvent, 2)
		case err == ErrExpired:
			refuse(errExpiredToken, 3)
		case revoked != nil && isRevoked(*revoked, c.Session, now):
			refuse(errRevoked, 4)
		default:
			v.err, v.src, v.tok = nil, src, tok
			v.validCookie = src == fromCookie
			return true
		}
		return false
	})
	return v
}

// ServeHTTP passes requests for public tracks, and for registered ones
// when they carry a valid token, to Next; it answers the others 401, 403
// (a token of another event) or 404 (a track no event has).
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, g.Prefix)
	track, name, _ := strings.Cut(rest, "/")
	if r.Method == http.MethodOptions {
		// CORS preflights carry no credentials.
		g.Next.ServeHTTP(w, r)
		return
	}
	acc, ok := g.Directory.Track(track)
	if !ok {
		writeError(w, errUnknownTrack)
		return
	}
	if !acc.Registered {
		g.Next.ServeHTTP(w, r)
		return
	}
	v := g.check(r, acc)
	if v.err != nil {
		writeError(w, v.err)
		return
	}
	if v.src == fromQuery && r.Method == http.MethodGet && strings.HasSuffix(name, ".m3u8") {
		// A player that sent the token in the URL and no cookie: give it
		// the cookie, and the playlist with the token in every URI in case
		// it keeps no cookies (the cost of one copy of the playlist per
		// request, for these players only: docs/benchmarks.md).
		http.SetCookie(w, g.cookie(r, track, v.tok))
		g.serveRewritten(w, r, v.tok)
		return
	}
	g.Next.ServeHTTP(w, r)
}

// CheckWHEP is the hook the WHEP handler calls before it takes an offer
// for track: nil lets it in; otherwise the error is a *Error whose
// HTTPStatus (401, 403, 404) and message the handler answers with.
func (g *Gate) CheckWHEP(r *http.Request, track string) error {
	acc, ok := g.Directory.Track(track)
	if !ok {
		return errUnknownTrack
	}
	if !acc.Registered {
		return nil
	}
	if v := g.check(r, acc); v.err != nil {
		return v.err
	}
	return nil
}

// cookie returns the cookie carrying tok for one track's HLS files.
func (g *Gate) cookie(r *http.Request, track, tok string) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    tok,
		Path:     g.Prefix + track + "/",
		MaxAge:   int(g.ttl() / time.Second),
		HttpOnly: true,
		Secure:   g.SecureCookies || r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	}
}

// Revoke makes the tokens of a login session (by the identifier the
// Viewers gave in its Grant) stop working at once, in this process. The
// conference's logout calls it; after a restart the tokens of sessions
// logged out before it expire by themselves within the TTL.
func (g *Gate) Revoke(sessionID string) {
	now := g.clock()
	g.revokeMu.Lock()
	defer g.revokeMu.Unlock()
	next := map[SessionRef]time.Time{}
	if old := g.revoked.Load(); old != nil {
		for ref, until := range *old {
			if now.Before(until) {
				next[ref] = until
			}
		}
	}
	// A token issued just before the logout lives one TTL at most.
	next[RefOf(sessionID)] = now.Add(g.ttl() + time.Second)
	g.revoked.Store(&next)
}

func isRevoked(m map[SessionRef]time.Time, ref SessionRef, now time.Time) bool {
	until, ok := m[ref]
	return ok && now.Before(until)
}
