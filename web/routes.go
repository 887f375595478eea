package web

import (
	"net/http"
	"strings"

	"github.com/kastlive/kast/web/api"
	"github.com/kastlive/kast/web/pages"
	"github.com/kastlive/kast/web/vod"
	"github.com/kastlive/kast/web/webrtc"
)

// Every path kast serves over HTTP is registered here and nowhere else.

// hlsPrefix is where the LL-HLS presentations live: /hls/<track>/<file>.
// The fast path takes the requests under it (see Server.Initialize).
const hlsPrefix = "/hls/"

// Handlers are the handler values the routes map to. A nil field leaves
// its routes out (tests mount only what they need).
type Handlers struct {
	// HLS serves /hls/<track>/<file>; the fast path is given the same
	// value, so whatever wraps it (a playback gate) covers both.
	HLS     http.Handler
	Pages   *pages.Handler
	Metrics http.Handler
	Health  http.HandlerFunc
	// WebRTC serves WHEP, and WHIP when its WHIP field is set; session
	// URLs are /whep/<track>/<id> and /whip/<track>/<id>.
	WebRTC *webrtc.Handler
	// VOD serves the recordings, RecordingsAdmin their admin API.
	VOD             *vod.Handler
	RecordingsAdmin *vod.Admin
	// API serves the JSON API under /api/v1 (docs/api.md).
	API *api.Handler
	// PlaybackToken issues viewer credentials for registered events
	// (web/gate); Live is the websocket live channel (web/live). Both are
	// under /api/v1 but mounted here, beside the API's mux: their more
	// specific patterns win over its /api/ prefix.
	PlaybackToken http.HandlerFunc
	Live          http.Handler
}

// apiPrefix is where the JSON API lives.
const apiPrefix = "/api/v1"

// apiRoutes are the JSON API's routes. a.Admin marks organizer
// endpoints (admin token); a.Browser the ones a browser calls with the
// session cookie (cross-site requests refused); a.Limited rate-limits
// per client address.
func apiRoutes(a *api.Handler) http.Handler {
	mux := http.NewServeMux()
	v := func(pattern string) string {
		method, path, _ := strings.Cut(pattern, " ")
		return method + " " + apiPrefix + path
	}
	// Events.
	mux.HandleFunc(v("GET /events"), a.ListEvents)
	mux.HandleFunc(v("POST /events"), a.Admin(a.CreateEvent))
	mux.HandleFunc(v("GET /events/{event}"), a.GetEvent)
	mux.HandleFunc(v("PATCH /events/{event}"), a.Admin(a.UpdateEvent))
	mux.HandleFunc(v("DELETE /events/{event}"), a.Admin(a.DeleteEvent))
	// Tracks and what they have on air.
	mux.HandleFunc(v("GET /events/{event}/tracks"), a.ListTracks)
	mux.HandleFunc(v("POST /events/{event}/tracks"), a.Admin(a.CreateTrack))
	mux.HandleFunc(v("GET /tracks/{track}"), a.GetTrack)
	mux.HandleFunc(v("PATCH /tracks/{track}"), a.Admin(a.UpdateTrack))
	mux.HandleFunc(v("DELETE /tracks/{track}"), a.Admin(a.DeleteTrack))
	mux.HandleFunc(v("POST /tracks/{track}/stream-key"), a.Admin(a.RotateStreamKey))
	mux.HandleFunc(v("GET /tracks/{track}/on-air"), a.GetOnAir)
	mux.HandleFunc(v("PUT /tracks/{track}/on-air"), a.Admin(a.SetOnAir))
	// The timetable.
	mux.HandleFunc(v("GET /events/{event}/talks"), a.ListTalks)
	mux.HandleFunc(v("POST /events/{event}/talks"), a.Admin(a.CreateTalk))
	mux.HandleFunc(v("GET /talks/{id}"), a.GetTalk)
	mux.HandleFunc(v("PATCH /talks/{id}"), a.Admin(a.UpdateTalk))
	mux.HandleFunc(v("DELETE /talks/{id}"), a.Admin(a.DeleteTalk))
	mux.HandleFunc(v("GET /events/{event}/timetable.ics"), a.Timetable)
	mux.HandleFunc(v("GET /events/{event}/timetable"), a.ExportTimetable)
	mux.HandleFunc(v("PUT /events/{event}/timetable"), a.Admin(a.ImportTimetable))
	mux.HandleFunc(v("POST /events/{event}/timetable/sync"), a.Admin(a.SyncTimetable))
	// Attendees.
	mux.HandleFunc(v("POST /events/{event}/registrations"), a.Browser(a.Limited("register", a.Register)))
	mux.HandleFunc(v("GET /events/{event}/registrations"), a.Admin(a.ListRegistrations))
	mux.HandleFunc(v("GET /events/{event}/registrations.csv"), a.Admin(a.ExportRegistrations))
	mux.HandleFunc(v("POST /events/{event}/check-ins"), a.Admin(a.CheckIn))
	mux.HandleFunc(v("POST /session"), a.Browser(a.Limited("login", a.Login)))
	mux.HandleFunc(v("DELETE /session"), a.Browser(a.Logout))
	mux.HandleFunc(v("GET /me"), a.Me)
	// Chat and Q&A per track (chat.go).
	mux.HandleFunc(v("GET /tracks/{track}/messages"), a.ListMessages)
	mux.HandleFunc(v("POST /tracks/{track}/messages"), a.Browser(a.PostMessage))
	mux.HandleFunc(v("PATCH /tracks/{track}/messages/{id}"), a.Admin(a.ModerateMessage))
	mux.HandleFunc(v("GET /tracks/{track}/questions"), a.ListQuestions)
	mux.HandleFunc(v("POST /tracks/{track}/questions"), a.Browser(a.AskQuestion))
	mux.HandleFunc(v("PATCH /tracks/{track}/questions/{id}"), a.Admin(a.ModerateQuestion))
	mux.HandleFunc(v("PUT /tracks/{track}/questions/{id}/vote"), a.Browser(a.Vote))
	mux.HandleFunc(v("DELETE /tracks/{track}/questions/{id}/vote"), a.Browser(a.Vote))
	// Organizers: the pages' admin cookie, organizer accounts, ingest health.
	mux.HandleFunc(v("POST /admin/session"), a.Browser(a.Limited("login", a.AdminLogin)))
	mux.HandleFunc(v("DELETE /admin/session"), a.Browser(a.AdminLogout))
	mux.HandleFunc(v("GET /organizers"), a.Admin(a.ListOrganizers))
	mux.HandleFunc(v("POST /organizers"), a.Admin(a.CreateOrganizer))
	mux.HandleFunc(v("DELETE /organizers/{id}"), a.Admin(a.DeleteOrganizer))
	mux.HandleFunc(v("GET /tracks/{track}/ingest"), a.Admin(a.Ingest))
	// Unknown paths and wrong methods get the mux's 404 and 405, as JSON.
	return api.JSONErrors(mux)
}

// Routes returns the mux serving h.
func Routes(h Handlers) *http.ServeMux {
	mux := http.NewServeMux()
	if h.HLS != nil {
		mux.Handle(hlsPrefix, h.HLS)
	}
	if h.Metrics != nil {
		mux.Handle("GET /metrics", h.Metrics)
	}
	if h.Health != nil {
		mux.HandleFunc("GET /healthz", h.Health)
	}
	if w := h.WebRTC; w != nil {
		mux.HandleFunc("POST /whep/{track}", w.PostWHEP)
		mux.HandleFunc("OPTIONS /whep/{track}", w.OptionsEndpoint)
		mux.HandleFunc("PATCH /whep/{track}/{id}", w.PatchSession)
		mux.HandleFunc("DELETE /whep/{track}/{id}", w.DeleteSession)
		mux.HandleFunc("OPTIONS /whep/{track}/{id}", w.OptionsSession)
		if w.WHIP != nil {
			mux.HandleFunc("POST /whip/{track}", w.PostWHIP)
			mux.HandleFunc("OPTIONS /whip/{track}", w.OptionsEndpoint)
			mux.HandleFunc("PATCH /whip/{track}/{id}", w.PatchSession)
			mux.HandleFunc("DELETE /whip/{track}/{id}", w.DeleteSession)
			mux.HandleFunc("OPTIONS /whip/{track}/{id}", w.OptionsSession)
		}
	}
	if v := h.VOD; v != nil {
		mux.HandleFunc("GET /vod/{talk}/index.m3u8", v.TalkPlaylist)
		mux.HandleFunc("GET /vod/{talk}/talk.mp4", v.TalkMP4)
		mux.HandleFunc("GET /vod/{talk}/poster.jpg", v.TalkPoster)
		mux.HandleFunc("GET /vod/{talk}/{publish}/{file}", v.TalkFile)
		mux.HandleFunc("GET /vod/p/{track}/{publish}/index.m3u8", v.PublishPlaylist)
		mux.HandleFunc("GET /vod/p/{track}/{publish}/recording.mp4", v.PublishMP4)
		mux.HandleFunc("GET /vod/p/{track}/{publish}/poster.jpg", v.PublishPoster)
		mux.HandleFunc("GET /vod/p/{track}/{publish}/{file}", v.PublishFile)
	}
	if a := h.RecordingsAdmin; a != nil {
		mux.HandleFunc("GET /api/admin/recordings", a.List)
		mux.HandleFunc("POST /api/admin/recordings/talks/{talk}/trim", a.Trim)
		mux.HandleFunc("DELETE /api/admin/recordings/talks/{talk}", a.DeleteTalk)
		mux.HandleFunc("DELETE /api/admin/recordings/publishes/{track}/{publish}", a.DeletePublish)
	}
	if h.API != nil {
		mux.Handle("/api/", apiRoutes(h.API))
	}
	if h.PlaybackToken != nil {
		mux.HandleFunc("GET "+apiPrefix+"/events/{event}/playback-token", h.PlaybackToken)
	}
	if h.Live != nil {
		mux.Handle("GET "+apiPrefix+"/events/{event}/live", h.Live)
	}
	if p := h.Pages; p != nil {
		mux.HandleFunc("GET /{$}", p.Index)
		mux.HandleFunc("GET /watch/{track}", p.Watch)
		mux.HandleFunc("GET /watch/{track}/{$}", p.Watch)
		mux.HandleFunc("GET /publish/{track}", p.Publish)
		// The conference pages (issue 10): one handler file each.
		mux.HandleFunc("GET /e/{event}", p.EventHome)
		mux.HandleFunc("GET /e/{event}/{$}", p.EventHome)
		mux.HandleFunc("GET /e/{event}/{track}", p.TrackPage)
		mux.HandleFunc("GET /embed/{event}/{track}", p.Embed)
		mux.HandleFunc("GET /register/{event}", p.RegisterPage)
		mux.HandleFunc("GET /login", p.LoginPage)
		mux.HandleFunc("GET /me", p.MyPage)
		mux.HandleFunc("GET /ticket/{event}/qr.svg", p.TicketQR)
		mux.HandleFunc("GET /admin", p.AdminHome)
		mux.HandleFunc("GET /admin/e/{event}", p.AdminEvent)
		mux.HandleFunc("GET /admin/e/{event}/check-in", p.CheckInPage)
		mux.HandleFunc("GET /assets/{file...}", p.Asset)
		mux.HandleFunc("/", p.NotFound)
	}
	return mux
}

// MetricsRoutes returns the mux of the separate metrics listener.
func MetricsRoutes(metrics http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	return mux
}
