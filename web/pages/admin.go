package pages

import (
	"net/http"
	"strconv"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web/api"
)

// adminHomeData is what admin.html renders.
type adminHomeData struct {
	Events []conference.Event
	Admin  bool
}

// AdminHome renders /admin: the admin-token login for someone who is not
// an organizer yet; the events, a new-event form and (for the admin) the
// organizer accounts otherwise.
func (h *Handler) AdminHome(w http.ResponseWriter, r *http.Request) {
	if !h.enabled(w, r) {
		return
	}
	v := h.viewer(r)
	d := adminHomeData{Admin: v.Admin}
	if v.Organizer {
		evs, err := h.Store.Events(r.Context())
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		d.Events = evs
	}
	h.render(w, r, http.StatusOK, "admin.html", page{Title: "Organizer", Data: d, Viewer: v, Scripts: []string{"admin.js"}})
}

// adminTrack is a track on the organizer's event page.
type adminTrack struct {
	Track   conference.Track
	Live    bool
	OnAir   int64
	Talks   []conference.Talk
	Viewers int
}

// adminEventData is what admin_event.html renders.
type adminEventData struct {
	Event         conference.Event
	Loc           *time.Location
	Tracks        []adminTrack
	RTMP, RTMPS   string
	Registrations []conference.Registration
	Accounts      []conference.Account
	Offline       int
	CheckedIn     int
}

// AdminEvent renders /admin/e/{event}: per track the OBS settings, the key
// rotation, the on-air switch, the ingest health and the viewers of the
// last hour; the timetable import; the registrations.
func (h *Handler) AdminEvent(w http.ResponseWriter, r *http.Request) {
	v, ev, ok := h.organizerEvent(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	tracks, err := h.Store.EventTracks(ctx, ev.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	onAir, err := h.Store.EventOnAir(ctx, ev.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	talks, err := h.Store.Talks(ctx, conference.TalkFilter{EventID: ev.ID})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := adminEventData{Event: ev, Loc: ev.Location()}
	host := h.ingestHost(r)
	if h.IngestPorts != nil {
		rtmp, rtmps := h.IngestPorts()
		if rtmp > 0 {
			d.RTMP = "rtmp://" + host + ":" + strconv.Itoa(rtmp) + "/live"
		}
		if rtmps > 0 {
			d.RTMPS = "rtmps://" + host + ":" + strconv.Itoa(rtmps) + "/live"
		}
	}
	for _, t := range tracks {
		at := adminTrack{Track: t, Live: h.isLive(t.Slug), OnAir: onAir[t.ID].TalkID, Viewers: h.viewerCount(t.Slug)}
		for _, k := range talks {
			if k.TrackID == t.ID {
				at.Talks = append(at.Talks, k)
			}
		}
		d.Tracks = append(d.Tracks, at)
	}
	d.Registrations, d.Accounts, err = h.Store.EventRegistrations(ctx, ev.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for _, g := range d.Registrations {
		if g.Participation == conference.ParticipationOffline {
			d.Offline++
			if !g.CheckedInAt.IsZero() {
				d.CheckedIn++
			}
		}
	}
	h.render(w, r, http.StatusOK, "admin_event.html", page{Title: "Organize " + ev.Title, Data: d, Viewer: v, Event: &ev, Scripts: []string{"admin.js"}})
}

// CheckInPage renders /admin/e/{event}/check-in: type a ticket code or
// scan its QR code (BarcodeDetector, where the browser has it).
func (h *Handler) CheckInPage(w http.ResponseWriter, r *http.Request) {
	v, ev, ok := h.organizerEvent(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "checkin.html", page{Title: "Check-in · " + ev.Title, Data: ev, Viewer: v, Event: &ev, Scripts: []string{"checkin.js"}})
}

// organizerEvent loads the event for an organizer page, sending anyone
// else to the organizer login.
func (h *Handler) organizerEvent(w http.ResponseWriter, r *http.Request) (v api.Viewer, ev conference.Event, ok bool) {
	if !h.enabled(w, r) {
		return v, ev, false
	}
	v = h.viewer(r)
	if !v.Organizer {
		http.Redirect(w, r, "/admin?next="+r.URL.Path, http.StatusSeeOther)
		return v, ev, false
	}
	ev, ok = h.loadEvent(w, r)
	return v, ev, ok
}
