package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kastlive/kast/conference"
)

// SessionCookie names the login cookie. Its value is the session token;
// the database holds only its hash.
const SessionCookie = "kast_session"

// Admin wraps an organizer endpoint: it needs `Authorization: Bearer
// <admin token>`, checked against the stored hashes in constant time, or
// (from the organizer pages) the admin cookie or an organizer's session
// cookie, same-site only (organizers.go).
func (h *Handler) Admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			if ok, answered := h.organizerCookie(w, r); ok {
				next(w, r)
				return
			} else if answered {
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="kast"`)
			writeError(w, http.StatusUnauthorized, "", "this endpoint needs the admin token: Authorization: Bearer <token>")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
		valid, err := h.Store.CheckAdminToken(ctx, token)
		cancel()
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !valid {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kast", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "", "wrong admin token")
			return
		}
		next(w, r)
	}
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// Browser wraps an endpoint that a browser calls with the session cookie
// (or that sets it): unsafe methods coming from another site are refused
// (Sec-Fetch-Site, then Origin against Host: net/http's
// CrossOriginProtection). With SameSite=Lax cookies this is the CSRF
// defence; requests from non-browser clients carry neither header and
// pass, as they carry no ambient cookie either.
func (h *Handler) Browser(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.csrf.Check(r); err != nil {
			writeError(w, http.StatusForbidden, "", "cross-origin request refused: send it from this site's own pages")
			return
		}
		next(w, r)
	}
}

// Limited wraps an endpoint with the rate limit named by which
// ("login" or "register"), per client address.
func (h *Handler) Limited(which string, next http.HandlerFunc) http.HandlerFunc {
	rl := h.loginRL
	if which == "register" {
		rl = h.registerRL
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if wait := rl.allow(clientKey(r)); wait > 0 {
			w.Header().Set("Retry-After", retryAfter(wait))
			writeError(w, http.StatusTooManyRequests, "", "too many attempts from your address: try again in %s", wait.Round(time.Second))
			return
		}
		next(w, r)
	}
}

// session returns the account behind the request's session cookie.
func (h *Handler) session(r *http.Request) (conference.Account, conference.Session, string, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return conference.Account{}, conference.Session{}, "", conference.ErrUnauthenticated
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	a, s, err := h.Sessions.Authenticate(ctx, c.Value)
	return a, s, c.Value, err
}

// setSession gives the client the session cookie.
func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, token string, s conference.Session) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    token,
		Path:     "/",
		Expires:  s.ExpiresAt,
		MaxAge:   int(time.Until(s.ExpiresAt).Seconds()),
		HttpOnly: true,
		Secure:   r.TLS != nil || h.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

func (h *Handler) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil || h.SecureCookies, SameSite: http.SameSiteLaxMode})
}

func isUnauthenticated(err error) bool { return errors.Is(err, conference.ErrUnauthenticated) }
