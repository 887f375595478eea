package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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
		Source: trackAccess{st},
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
		Viewers:       sessionViewers{sessions: api.Sessions, store: st},
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
		Logger: a.log.With("component", "live"),
	}
	total := viewerTotal{hls: a.hls}
	if a.relay != nil {
		a.live.WebRTC = a.relay
		total.webrtc = a.relay
	}
	api.Viewers = total
	return a.live.Initialize()
}

// trackAccess lists the tracks for the gate's directory.
type trackAccess struct{ st conference.TrackStore }

func (t trackAccess) TrackAccess(ctx context.Context) ([]gate.TrackAccess, error) {
	all, err := t.st.TrackAccess(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]gate.TrackAccess, 0, len(all))
	for _, a := range all {
		out = append(out, gate.TrackAccess{Track: a.Track, TrackID: a.TrackID, EventID: a.EventID, Event: a.EventSlug,
			Registered: a.Access == conference.AccessRegistered})
	}
	return out, nil
}

// sessionViewers answers the gate's question at the playback-token
// endpoint: the login session behind the request, and its registration.
type sessionViewers struct {
	sessions *conference.Sessions
	store    conference.Store
}

func (v sessionViewers) PlaybackGrant(ctx context.Context, r *http.Request, event string) (gate.Grant, error) {
	c, err := r.Cookie(apihttp.SessionCookie)
	if err != nil || c.Value == "" {
		return gate.Grant{}, gate.ErrNotSignedIn
	}
	acct, sess, err := v.sessions.Authenticate(ctx, c.Value)
	if errors.Is(err, conference.ErrUnauthenticated) {
		return gate.Grant{}, gate.ErrNotSignedIn
	}
	if err != nil {
		return gate.Grant{}, err
	}
	ev, err := v.store.EventBySlug(ctx, event)
	if err != nil {
		return gate.Grant{}, err
	}
	if _, err := v.store.RegistrationFor(ctx, ev.ID, acct.ID); errors.Is(err, conference.ErrNotFound) {
		// Organizer accounts watch (and moderate) every event unregistered.
		if o, ok := v.store.(conference.OrganizerStore); ok {
			if is, err := o.IsOrganizer(ctx, acct.ID); err != nil {
				return gate.Grant{}, err
			} else if is {
				return gate.Grant{EventID: ev.ID, SessionID: strconv.FormatInt(sess.ID, 10)}, nil
			}
		}
		return gate.Grant{}, gate.ErrNotRegistered
	} else if err != nil {
		return gate.Grant{}, err
	}
	return gate.Grant{EventID: ev.ID, SessionID: strconv.FormatInt(sess.ID, 10)}, nil
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
