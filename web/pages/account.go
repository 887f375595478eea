package pages

import (
	"context"
	"net/http"
	"strconv"

	"github.com/kastlive/kast/conference"
)

// registerData is what register.html renders.
type registerData struct {
	Event      conference.Event
	SeatsLeft  int
	Full       bool
	Existing   *conference.Registration
	Next       string
	MinPass    int
	MaxName    int
	LoggedInAs string
}

// RegisterPage renders /register/{event}: the form posts to the API with
// a small script, which shows the API's messages beside their fields.
func (h *Handler) RegisterPage(w http.ResponseWriter, r *http.Request) {
	if !h.enabled(w, r) {
		return
	}
	ev, ok := h.loadEvent(w, r)
	if !ok {
		return
	}
	v := h.viewer(r)
	d := registerData{Event: ev, Next: safeNext(r.URL.Query().Get("next")), MinPass: conference.MinPasswordLen, MaxName: conference.MaxNameLen}
	if d.Next == "/" {
		d.Next = "/e/" + ev.Slug
	}
	if v.Account != nil {
		d.LoggedInAs = v.Account.Email
		if reg, ok := h.registered(r.Context(), v, ev); ok {
			d.Existing = &reg
		}
	}
	taken, err := h.Store.OfflineCount(r.Context(), ev.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d.SeatsLeft = max(ev.OfflineCapacity-taken, 0)
	d.Full = d.SeatsLeft == 0
	h.render(w, r, http.StatusOK, "register.html", page{Title: "Register · " + ev.Title, Data: d, Viewer: v, Event: &ev})
}

// LoginPage renders /login.
func (h *Handler) LoginPage(w http.ResponseWriter, r *http.Request) {
	if !h.enabled(w, r) {
		return
	}
	v := h.viewer(r)
	h.render(w, r, http.StatusOK, "login.html", page{Title: "Log in", Data: map[string]any{"Next": safeNext(r.URL.Query().Get("next")), "Viewer": v}, Viewer: v})
}

// myRegistration is one registration on /me.
type myRegistration struct {
	Event        conference.Event
	Registration conference.Registration
}

// MyPage renders /me: the account's registrations, with the ticket of
// each offline one as a QR code for the venue's check-in.
func (h *Handler) MyPage(w http.ResponseWriter, r *http.Request) {
	if !h.enabled(w, r) {
		return
	}
	v := h.viewer(r)
	if v.Account == nil {
		http.Redirect(w, r, "/login?next=/me", http.StatusSeeOther)
		return
	}
	regs, err := h.Store.AccountRegistrations(r.Context(), v.Account.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	var out []myRegistration
	for _, g := range regs {
		ev, err := h.Store.EventByID(r.Context(), g.EventID)
		if err != nil {
			continue
		}
		out = append(out, myRegistration{Event: ev, Registration: g})
	}
	h.render(w, r, http.StatusOK, "me.html", page{Title: "My registration", Data: out, Viewer: v})
}

// TicketQR serves /ticket/{event}/qr.svg: the logged-in attendee's ticket
// code for the event as a QR code (SVG), which the check-in page scans.
func (h *Handler) TicketQR(w http.ResponseWriter, r *http.Request) {
	if !h.enabled(w, r) {
		return
	}
	ev, ok := h.loadEvent(w, r)
	if !ok {
		return
	}
	v := h.viewer(r)
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	reg, ok := h.registered(ctx, v, ev)
	if !ok {
		h.notFound(w, r)
		return
	}
	svg, err := QRSVG(reg.Ticket)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "image/svg+xml")
	hd.Set("Content-Length", strconv.Itoa(len(svg)))
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.Write(svg)
}
