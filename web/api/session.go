package api

import (
	"net/http"
)

// Login answers POST /session {"email", "password"}: a session cookie on
// success; 401 "wrong email or password" otherwise, the same answer after
// the same work for an unknown email and a wrong password.
func (h *Handler) Login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	acct, err := h.Accounts.Login(r.Context(), in.Email, in.Password)
	if isUnauthenticated(err) {
		writeError(w, http.StatusUnauthorized, "", "wrong email or password")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	token, sess, err := h.Sessions.Create(r.Context(), acct.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.setSession(w, r, token, sess)
	writeJSON(w, http.StatusOK, map[string]any{"account": viewAccount(acct)})
}

// Logout answers DELETE /session: the session ends in the database (the
// cookie stops working everywhere) and the cookie is cleared.
func (h *Handler) Logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if h.OnLogout != nil {
			if _, sess, err := h.Sessions.Authenticate(r.Context(), c.Value); err == nil {
				h.OnLogout(sess.ID)
			}
		}
		if err := h.Sessions.End(r.Context(), c.Value); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.clearSession(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// Me answers GET /me: the logged-in account and its registrations.
func (h *Handler) Me(w http.ResponseWriter, r *http.Request) {
	acct, _, _, err := h.session(r)
	if isUnauthenticated(err) {
		writeError(w, http.StatusUnauthorized, "", "not logged in")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	regs, err := h.Store.AccountRegistrations(r.Context(), acct.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	slugs := map[int64]string{}
	out := []registrationView{}
	for _, g := range regs {
		slug, ok := slugs[g.EventID]
		if !ok {
			if ev, err := h.Store.EventByID(r.Context(), g.EventID); err == nil {
				slug = ev.Slug
			}
			slugs[g.EventID] = slug
		}
		out = append(out, viewRegistration(slug, g))
	}
	writeJSON(w, http.StatusOK, map[string]any{"account": viewAccount(acct), "registrations": out})
}
