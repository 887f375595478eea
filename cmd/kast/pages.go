package main

import (
	"context"
	"net"
	"strconv"

	"github.com/kastlive/kast/web/api"
	"github.com/kastlive/kast/web/pages"
)

// pages returns the HTML pages' handler: the conference pages on the
// store, with who is logged in from the API's cookies.
func (a *app) pages(h *api.Handler) *pages.Handler {
	return &pages.Handler{
		Tracks:         a.store,
		Store:          a.store,
		Auth:           h,
		Chat:           h.Chat,
		Live:           func(track string) bool { return a.hub.Live(track) != nil },
		Viewers:        h.ViewerCount,
		FrameAncestors: a.cfg.EmbedAncestors,
		IngestPorts:    func() (int, int) { return port(a.rtmpAddr()), port(a.rtmpsAddr()) },
		PublicHost:     a.cfg.PublicHost,
		Log:            a.log.With("component", "pages"),
		Recorded: func(id int64) bool {
			if h.Recordings == nil {
				return false
			}
			_, ok := h.Recordings.TalkRecording(id)
			return ok
		},
	}
}

// trackSlugs lists every track, for the viewer history.
func (a *app) trackSlugs(ctx context.Context) ([]string, error) {
	ts, err := a.store.Tracks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Slug
	}
	return out, nil
}

// port is the port of a listen address (0 when there is none).
func port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
