package api

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kastlive/kast/conference"
)

type registrationInput struct {
	Name           string `json:"name"`
	Email          string `json:"email"`
	Password       string `json:"password"`
	Affiliation    string `json:"affiliation"`
	Participation  string `json:"participation"`
	ConsentTerms   bool   `json:"consent_terms"`
	ConsentContact bool   `json:"consent_contact"`
}

type registeredView struct {
	Account           accountView      `json:"account"`
	Registration      registrationView `json:"registration"`
	AlreadyRegistered bool             `json:"already_registered"`
}

// Register answers POST /events/{event}/registrations: the account is
// created when new (or its password checked, as a login: same limits,
// same 401) and logged in with a session cookie. A logged-in attendee needs no email or password.
// Offline seats are counted exactly: when the venue is full the answer is
// 409 with "offer": "online", and nothing is stored.
func (h *Handler) Register(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	var in registrationInput
	if !decode(w, r, &in) {
		return
	}
	if ev.Status == conference.StatusEnded {
		writeError(w, http.StatusConflict, "", "event %q has ended", ev.Slug)
		return
	}
	var current *conference.Account
	if a, _, _, err := h.session(r); err == nil {
		if in.Email != "" && conference.NormalizeEmail(in.Email) != a.Email {
			writeError(w, http.StatusConflict, "email", "you are logged in as another account: log out first")
			return
		}
		current = &a
	} else if !isUnauthenticated(err) {
		h.fail(w, r, err)
		return
	}
	if current == nil && in.Email != "" {
		// Registering with an email and a password may be logging in to
		// an existing account: the login limits apply.
		if wait := h.loginRL.allow(h.clientAddr(r)); wait > 0 {
			tooManyFromAddress(w, wait)
			return
		}
		if h.emailLocked(w, in.Email) {
			return
		}
	}
	acct, reg, existing, err := h.Accounts.Register(r.Context(), ev, conference.RegistrationInput{
		Name: in.Name, Email: in.Email, Password: in.Password, Affiliation: in.Affiliation,
		Participation: conference.Participation(in.Participation), ConsentTerms: in.ConsentTerms, ConsentContact: in.ConsentContact,
	}, current)
	switch {
	case isUnauthenticated(err), errors.Is(err, conference.ErrConflict):
		// The email has an account and this is not its password (or one
		// was created for it a moment ago): answered as POST /session
		// answers a failed login, so the answer does not tell an email
		// with an account from a wrong password. (That a new email is
		// registered at once still tells it had none: docs/api.md.)
		h.passwordFailed(w, in.Email)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if current == nil {
		token, sess, err := h.Sessions.Create(r.Context(), acct.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.setSession(w, r, token, sess)
	}
	status := http.StatusCreated
	if existing {
		status = http.StatusOK
	}
	writeJSON(w, status, registeredView{Account: viewAccount(acct), Registration: viewRegistration(ev.Slug, reg), AlreadyRegistered: existing})
}

// ListRegistrations answers GET /events/{event}/registrations (admin).
func (h *Handler) ListRegistrations(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	regs, accts, err := h.Store.EventRegistrations(r.Context(), ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []registrationView{}
	for i, g := range regs {
		v := viewRegistration(ev.Slug, g)
		v.Name, v.Email = accts[i].Name, accts[i].Email
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// ExportRegistrations answers GET /events/{event}/registrations.csv
// (admin): one row per registration, for the organizers' spreadsheet.
func (h *Handler) ExportRegistrations(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	regs, accts, err := h.Store.EventRegistrations(r.Context(), ev.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+ev.Slug+`-registrations.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{"ticket", "name", "email", "affiliation", "participation", "consent_terms", "consent_contact", "registered_at", "checked_in_at"})
	for i, g := range regs {
		cw.Write([]string{g.Ticket, csvCell(accts[i].Name), csvCell(accts[i].Email), csvCell(g.Affiliation), string(g.Participation),
			strconv.FormatBool(g.ConsentTerms), strconv.FormatBool(g.ConsentContact),
			formatTime(g.CreatedAt, time.UTC), formatTime(g.CheckedInAt, time.UTC)})
	}
	cw.Flush()
}

// csvCell defuses a value a spreadsheet would run as a formula (=, +, -,
// @, tab, CR first): it gets a leading apostrophe, which spreadsheets
// show as text. Everything else is written as stored.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// CheckIn answers POST /events/{event}/check-ins {"ticket": ...} (admin):
// an offline attendee arrives, once. A second check-in is 409 with the
// time of the first.
func (h *Handler) CheckIn(w http.ResponseWriter, r *http.Request) {
	ev, ok := h.event(w, r)
	if !ok {
		return
	}
	var in struct {
		Ticket string `json:"ticket"`
	}
	if !decode(w, r, &in) {
		return
	}
	ticket := conference.NormalizeTicket(in.Ticket)
	if ticket == "" {
		writeError(w, http.StatusUnprocessableEntity, "ticket", "ticket is required")
		return
	}
	reg, acct, err := h.Store.CheckIn(r.Context(), ev.ID, ticket, h.now().Truncate(time.Millisecond))
	if isNotFoundErr(err) {
		writeError(w, http.StatusNotFound, "ticket", "no registration for event %q has this ticket", ev.Slug)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := viewRegistration(ev.Slug, reg)
	v.Name, v.Email = acct.Name, acct.Email
	writeJSON(w, http.StatusOK, v)
}
