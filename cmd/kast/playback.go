package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/store/sqlite"
	apihttp "github.com/kastlive/kast/web/api"
	"github.com/kastlive/kast/web/gate"
	"github.com/kastlive/kast/web/live"
)

// startPlayback sets up the playback gate (its key from the store, the
// access table in memory, following the feed) and the live channel, and
// gives the API the viewer counts.
func (a *app) startPlayback(ctx context.Context, st *sqlite.Store, api *apihttp.Handler) error {
	a.directory = &gate.Directory{
		Source: st, // conference.TrackStore lists the tracks' access
		Feed:   a.feed,
		Logger: a.log.With("component", "gate"),
	}
	if err := a.directory.Initialize(ctx); err != nil {
		return fmt.Errorf("playback access: %w", err)
	}
	signer, err := gate.LoadSigner(ctx, st)
	if err != nil {
		return err
	}
	a.gate = &gate.Gate{
		Signer:        signer,
		Directory:     a.directory,
		TTL:           a.cfg.PlaybackTokenTTL,
		SecureCookies: a.cfg.SecureCookies,
		Viewers:       sessionViewers{&conference.Playback{Sessions: api.Sessions, Store: st, Organizers: st}},
	}
	// A registered event's media must not land in a shared cache.
	dir := a.directory
	a.hls.Private = func(track string) bool {
		t, ok := dir.Track(track)
		return ok && t.Registered
	}
	var origins []string
	for _, o := range strings.Split(a.cfg.LiveOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	a.live = &live.Hub{
		Feed:   a.feed,
		Events: liveEvents{a.directory},
		HLS:    a.hls,
		Config: live.Config{
			MaxSwitchDelay: a.cfg.LiveSwitchDelay,
			MaxPerSource:   a.cfg.LivePerSource,
			AllowedOrigins: origins,
		},
		Proxies: a.cfg.proxies,
		Logger:  a.log.With("component", "live"),
	}
	total := viewerTotal{hls: a.hls}
	if a.relay != nil {
		a.live.WebRTC = a.relay
		total.webrtc = a.relay
	}
	api.Viewers = total
	return a.live.Initialize()
}

// sessionViewers hands the gate's question at the playback-token
// endpoint (who is this, may they watch) to conference.Playback with the
// request's session cookie.
type sessionViewers struct{ p *conference.Playback }

func (v sessionViewers) PlaybackGrant(ctx context.Context, r *http.Request, event string) (gate.Grant, error) {
	var token string
	if c, err := r.Cookie(apihttp.SessionCookie); err == nil {
		token = c.Value
	}
	who, err := v.p.Viewer(ctx, token, event)
	return gate.Grant{EventID: who.EventID, SessionID: who.SessionRef}, err
}

// liveEvents gives the live channel the events of the gate's directory.
type liveEvents struct{ d *gate.Directory }

func (l liveEvents) LiveEvent(slug string) (live.Event, bool) {
	e, ok := l.d.Event(slug)
	if !ok {
		return live.Event{}, false
	}
	return live.Event{ID: e.ID, Slug: e.Slug, Tracks: e.Tracks}, true
}

// viewerTotal is the API's viewer count of a track: HLS players and WebRTC
// sessions.
type viewerTotal struct{ hls, webrtc live.Counter }

func (v viewerTotal) Viewers(track string) int {
	n := v.hls.ViewerCount(track)
	if v.webrtc != nil {
		n += v.webrtc.ViewerCount(track)
	}
	return n
}
