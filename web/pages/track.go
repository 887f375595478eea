package pages

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web/api"
)

// trackData is what track.html and embed.html render.
type trackData struct {
	Event       conference.Event
	Track       conference.Track
	Loc         *time.Location
	Live        bool
	OnAir       *conference.Talk
	Next        *conference.Talk
	Viewers     int
	PlaylistURL string
	WHEPURL     string
	HLSBuilt    bool
	// Who may watch: CanWatch, or the reason not (log in, register).
	CanWatch, NeedLogin, NeedRegister bool
	LoginURL, RegisterURL             string
	// The chat: recent messages and questions (rendered for late joiners
	// and browsers without scripts), whether the viewer may post.
	Messages  []conference.ChatMessage
	Questions []conference.Question
	Voted     map[int64]bool
	CanPost   bool
	Moderator bool
	Gated     bool
	// Upcoming talks of the track as JSON ({id, title, start}), for the
	// script to show the right "next" after an on-air change.
	Upcoming string
}

// TrackPage renders /e/{event}/{track}: the player, what is on air and
// next, the viewer count, the chat and the questions.
func (h *Handler) TrackPage(w http.ResponseWriter, r *http.Request) {
	d, v, ok := h.trackData(w, r, true)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, "track.html", page{Title: d.Track.Title + " · " + d.Event.Title, Data: d, Viewer: v,
		Event: &d.Event, Scripts: h.playerScripts(d, "live.js")})
}

// Embed renders /embed/{event}/{track}: the player alone, for an iframe
// on an organizer's site (frame-ancestors from FrameAncestors).
func (h *Handler) Embed(w http.ResponseWriter, r *http.Request) {
	d, v, ok := h.trackData(w, r, false)
	if !ok {
		return
	}
	frame := h.FrameAncestors
	if frame == "" {
		frame = "*"
	}
	h.render(w, r, http.StatusOK, "embed.html", page{Title: d.Track.Title, Data: d, Viewer: v, Bare: true, Frame: frame,
		Scripts: h.playerScripts(d, "live.js")})
}

// playerScripts are hls.js and the player when the viewer may watch.
func (h *Handler) playerScripts(d trackData, extra string) []string {
	if !d.CanWatch || !d.HLSBuilt {
		return []string{extra}
	}
	if d.WHEPURL != "" { // WebRTC first where the server offers it (webrtc.js plays WHEP)
		return []string{"hls.min.js", "webrtc.js", "watch.js", extra}
	}
	return []string{"hls.min.js", "watch.js", extra}
}

func (h *Handler) trackData(w http.ResponseWriter, r *http.Request, chat bool) (trackData, api.Viewer, bool) {
	if !h.enabled(w, r) {
		return trackData{}, api.Viewer{}, false
	}
	ev, t, ok := h.loadTrack(w, r)
	if !ok {
		return trackData{}, api.Viewer{}, false
	}
	ctx := r.Context()
	v := h.viewer(r)
	now := h.now()
	d := trackData{Event: ev, Track: t, Loc: ev.Location(), Live: h.isLive(t.Slug), Viewers: h.viewerCount(t.Slug),
		PlaylistURL: h.playlistURL(t.Slug), HLSBuilt: h.hlsBuilt(),
		Moderator: v.Organizer, Gated: ev.Access == conference.AccessRegistered}
	if h.WHEPURL != nil {
		d.WHEPURL = h.WHEPURL(t.Slug)
	}
	here := r.URL.Path
	d.LoginURL = "/login?next=" + url.QueryEscape(here)
	d.RegisterURL = "/register/" + url.PathEscape(ev.Slug) + "?next=" + url.QueryEscape(here)
	_, registered := h.registered(ctx, v, ev)
	switch {
	// The admin cookie alone is no login session, which the playback
	// token needs: on a registered event the admin logs in with an
	// (organizer) account to watch.
	case ev.Access != conference.AccessRegistered || registered || (v.Organizer && v.Account != nil):
		d.CanWatch = true
	case v.Account == nil:
		d.NeedLogin = true
	default:
		d.NeedRegister = true
	}
	d.CanPost = v.Account != nil && (registered || v.Organizer)
	o, err := h.Store.OnAir(ctx, t.ID)
	if err != nil {
		h.serverError(w, r, err)
		return d, v, false
	}
	if o.TalkID != 0 {
		if k, err := h.Store.TalkByID(ctx, o.TalkID); err == nil {
			d.OnAir = &k
		}
	}
	talks, err := h.Store.Talks(ctx, conference.TalkFilter{TrackID: t.ID, From: now, To: now.Add(7 * 24 * time.Hour)})
	if err != nil {
		h.serverError(w, r, err)
		return d, v, false
	}
	type upcoming struct {
		ID    int64  `json:"id"`
		Title string `json:"title"`
		Start int64  `json:"start"`
		Clock string `json:"clock"`
	}
	var up []upcoming
	for i := range talks {
		if d.Next == nil && (d.OnAir == nil || talks[i].ID != d.OnAir.ID) {
			d.Next = &talks[i]
		}
		if len(up) < 20 {
			up = append(up, upcoming{ID: talks[i].ID, Title: talks[i].Title, Start: talks[i].Start.UnixMilli(), Clock: clock(talks[i].Start, d.Loc)})
		}
	}
	b, _ := json.Marshal(up)
	d.Upcoming = string(b)
	if chat && d.CanWatch && h.Chat != nil {
		if d.Messages, err = h.Chat.Messages.Messages(ctx, t.ID, conference.ChatHistory, v.Organizer); err != nil {
			h.serverError(w, r, err)
			return d, v, false
		}
		if d.Questions, err = h.Chat.Questions.Questions(ctx, t.ID, v.Organizer); err != nil {
			h.serverError(w, r, err)
			return d, v, false
		}
		d.Voted = map[int64]bool{}
		if v.Account != nil {
			d.Voted, _ = h.Chat.Questions.VotedQuestions(ctx, t.ID, v.Account.ID)
		}
	}
	return d, v, true
}
