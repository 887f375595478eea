package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/store/sqlite"
	"github.com/kastlive/kast/web/gate"
	"github.com/kastlive/kast/web/live"
)

// startPlayback sets up the playback gate (its key from the store, the
// access table in memory) and the live channel.
func (a *app) startPlayback(ctx context.Context, st *sqlite.Store, boot conference.BootstrapResult) error {
	a.directory = &gate.Directory{
		Source: trackAccess{st: st, event: boot.Event},
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
	a.gate = &gate.Gate{Signer: signer, Directory: a.directory, TTL: a.cfg.PlaybackTokenTTL}
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
	return a.live.Initialize()
}

// trackAccess lists the tracks for the gate's directory.
//
// TODO(merge conference): use the store's TrackAccess (events with their
// access mode) once it is on main; until then every event is public and
// only the bootstrap event's slug is known.
type trackAccess struct {
	st    *sqlite.Store
	event conference.Event
}

func (t trackAccess) TrackAccess(ctx context.Context) ([]gate.TrackAccess, error) {
	tracks, err := t.st.Tracks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]gate.TrackAccess, 0, len(tracks))
	for _, tr := range tracks {
		a := gate.TrackAccess{Track: tr.Slug, TrackID: tr.ID, EventID: tr.EventID}
		if tr.EventID == t.event.ID {
			a.Event = t.event.Slug
		}
		out = append(out, a)
	}
	return out, nil
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
