package api

import (
	"context"
	"net/http"
	"time"

	"github.com/kastlive/kast/conference"
)

// AdminCookie names the cookie the organizer pages keep the admin token
// in after an admin logs in with it (POST /admin/session): HttpOnly,
// SameSite=Strict, so scripts and other sites never see or send it.
const AdminCookie = "kast_admin"

// Viewer is who a browser request comes from.
type Viewer struct {
	// Account behind the session cookie; nil when not logged in.
	Account *conference.Account
	// Organizer: the admin cookie holds a valid admin token, or the
	// account has the organizer role.
	Organizer bool
	// Admin: the organizer is the admin token (may create organizers).
	Admin bool
}

// Viewer returns who the request's cookies belong to (the pages use it
// too). Unknown or expired cookies are anonymous, not errors.
func (h *Handler) Viewer(r *http.Request) (Viewer, error) {
	var v Viewer
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	if c, err := r.Cookie(AdminCookie); err == nil && c.Value != "" && len(c.Value) <= 256 {
		ok, err := h.Store.CheckAdminToken(ctx, c.Value)
		if err != nil {
			return v, err
		}
		v.Organizer, v.Admin = ok, ok
	}
	acct, _, _, err := h.session(r)
	if err != nil && !isUnauthenticated(err) {
		return v, err
	}
	if err == nil {
		v.Account = &acct
		if !v.Organizer && h.Organizers != nil {
			ok, err := h.Organizers.IsOrganizer(ctx, acct.ID)
			if err != nil {
				return v, err
			}
			v.Organizer = ok
		}
	}
	return v, nil
}

// organizerCookie authorizes an organizer endpoint by cookie (the admin
// cookie or an organizer's session), refusing cross-site requests like
// every cookie endpoint. It reports whether it answered the request.
func (h *Handler) organizerCookie(w http.ResponseWriter, r *http.Request) (ok, answered bool) {
	_, adminErr := r.Cookie(AdminCookie)
	_, sessErr := r.Cookie(SessionCookie)
	if adminErr != nil && sessErr != nil {
		return false, false
	}
	if err := h.csrf.Check(r); err != nil {
		writeError(w, http.StatusForbidden, "", "cross-origin request refused: send it from this site's own pages")
		return false, true
	}
	v, err := h.Viewer(r)
	if err != nil {
		h.fail(w, r, err)
		return false, true
	}
	if v.Organizer {
		return true, false
	}
	if v.Account != nil {
		writeError(w, http.StatusForbidden, "", "this needs an organizer: ask an admin to make your account one")
		return false, true
	}
	return false, false
}

// AdminLogin answers POST /admin/session {"token"}: the admin token, once
// checked, goes into the admin cookie for the organizer pages.
func (h *Handler) AdminLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"token"`
	}
	if !decode(w, r, &in) {
		return
	}
	ok := false
	if in.Token != "" && len(in.Token) <= 256 {
		var err error
		if ok, err = h.Store.CheckAdminToken(r.Context(), in.Token); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if !ok {
		writeError(w, http.StatusUnauthorized, "token", "wrong admin token")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: AdminCookie, Value: in.Token, Path: "/", MaxAge: int((12 * time.Hour).Seconds()),
		HttpOnly: true, Secure: r.TLS != nil || h.SecureCookies, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, map[string]any{"organizer": true, "admin": true})
}

// AdminLogout answers DELETE /admin/session.
func (h *Handler) AdminLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: AdminCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil || h.SecureCookies, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

type organizerView struct {
	Account accountView `json:"account"`
}

// ListOrganizers answers GET /organizers (admin token).
func (h *Handler) ListOrganizers(w http.ResponseWriter, r *http.Request) {
	if !h.organizersEnabled(w) {
		return
	}
	as, err := h.Organizers.Organizers(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []accountView{}
	for _, a := range as {
		out = append(out, viewAccount(a))
	}
	writeJSON(w, http.StatusOK, out)
}

// CreateOrganizer answers POST /organizers {"email", "name", "password"}
// (admin token only): the account is made an organizer, created first
// when the email is new (then name and password are required).
func (h *Handler) CreateOrganizer(w http.ResponseWriter, r *http.Request) {
	if !h.organizersEnabled(w) || !h.adminOnly(w, r) {
		return
	}
	var in struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	ctx := r.Context()
	acct, err := h.Store.AccountByEmail(ctx, conference.NormalizeEmail(in.Email))
	status := http.StatusOK
	if isNotFoundErr(err) {
		status = http.StatusCreated
		acct, err = conference.NewOrganizerAccount(ctx, in.Name, in.Email, in.Password, h.now())
		if err == nil {
			acct, err = h.Organizers.CreateOrganizer(ctx, acct)
		}
	} else if err == nil {
		err = h.Organizers.SetOrganizer(ctx, acct.ID, true)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, status, organizerView{Account: viewAccount(acct)})
}

// DeleteOrganizer answers DELETE /organizers/{id} (admin token only): the
// account stays, without the role.
func (h *Handler) DeleteOrganizer(w http.ResponseWriter, r *http.Request) {
	if !h.organizersEnabled(w) || !h.adminOnly(w, r) {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	if err := h.Organizers.SetOrganizer(r.Context(), id, false); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminOnly refuses an organizer account where only the admin token may
// act (making organizers): Admin let the request in, by token or cookie.
func (h *Handler) adminOnly(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := bearer(r); ok {
		return true // Admin checked it
	}
	v, err := h.Viewer(r)
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	if !v.Admin {
		writeError(w, http.StatusForbidden, "", "only the admin token makes organizers")
		return false
	}
	return true
}

func (h *Handler) organizersEnabled(w http.ResponseWriter) bool {
	if h.Organizers == nil {
		writeError(w, http.StatusNotFound, "", "organizer accounts are not enabled on this server")
		return false
	}
	return true
}
