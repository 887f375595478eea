package gate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/kastlive/kast/conference"
)

// Grant is a login session allowed to watch an event.
type Grant struct {
	EventID int64
	// SessionID identifies the login session (any stable string unique to
	// it, not necessarily its secret): the token carries a digest of it,
	// and Gate.Revoke takes the same string at logout.
	SessionID string
}

// Errors a Viewers implementation returns for refused requests.
var (
	// ErrNotSignedIn: no valid login session (401).
	ErrNotSignedIn = errors.New("sign in first")
	// ErrNotRegistered: the account has no registration at the event (403).
	ErrNotRegistered = errors.New("your account is not registered for this event")
)

// Viewers says who asks for a playback token: the login session behind r
// (its cookie) and whether its account is registered at the event. This
// is where the database is read, once per token.
type Viewers interface {
	PlaybackGrant(ctx context.Context, r *http.Request, event string) (Grant, error)
}

// tokenResponse is the playback-token endpoint's answer (docs/api.md).
type tokenResponse struct {
	Event      string          `json:"event"`
	Required   bool            `json:"required"`
	Token      string          `json:"token,omitempty"`
	ExpiresAt  *time.Time      `json:"expires_at,omitempty"`
	RefreshInS int             `json:"refresh_in_s,omitempty"`
	Tracks     []tokenTrackURL `json:"tracks"`
}

type tokenTrackURL struct {
	Track  string `json:"track"`
	HLSURL string `json:"hls_url"`
}

// ServeToken answers GET /api/v1/events/{event}/playback-token: for a
// registered event, a token for the signed-in, registered caller, also set
// as the kast_play cookie of each of the event's tracks; for a public event,
// {"required": false} and the plain URLs.
func (g *Gate) ServeToken(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("event")
	w.Header().Set("Cache-Control", "no-store")
	ev, ok := g.Directory.Event(slug)
	if !ok {
		writeAPIError(w, http.StatusNotFound, "no such event", "event")
		return
	}
	resp := tokenResponse{Event: ev.Slug, Required: ev.Registered, Tracks: []tokenTrackURL{}}
	if !ev.Registered {
		for _, t := range ev.Tracks {
			resp.Tracks = append(resp.Tracks, tokenTrackURL{Track: t, HLSURL: g.Prefix + t + "/index.m3u8"})
		}
		writeJSON(w, resp)
		return
	}
	if g.Viewers == nil {
		writeAPIError(w, http.StatusServiceUnavailable, "sign-in is not available", "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	grant, err := g.Viewers.PlaybackGrant(ctx, r, slug)
	switch {
	case errors.Is(err, ErrNotSignedIn):
		writeAPIError(w, http.StatusUnauthorized, err.Error(), "session")
		return
	case errors.Is(err, ErrNotRegistered):
		writeAPIError(w, http.StatusForbidden, err.Error(), "registration")
		return
	case errors.Is(err, conference.ErrNotFound):
		writeAPIError(w, http.StatusNotFound, "no such event", "event")
		return
	case err != nil:
		writeAPIError(w, http.StatusInternalServerError, "cannot issue a playback token now", "")
		return
	}
	if grant.EventID != ev.ID {
		writeAPIError(w, http.StatusForbidden, ErrNotRegistered.Error(), "registration")
		return
	}
	exp := g.clock().Add(g.ttl()).Truncate(time.Second)
	tok := g.Signer.Issue(Claims{EventID: ev.ID, Session: RefOf(grant.SessionID), Expires: exp})
	resp.Token, resp.ExpiresAt, resp.RefreshInS = tok, &exp, int(g.ttl()/2/time.Second)
	for _, t := range ev.Tracks {
		http.SetCookie(w, g.cookie(r, t, tok))
		resp.Tracks = append(resp.Tracks, tokenTrackURL{Track: t, HLSURL: g.Prefix + t + "/index.m3u8?" + QueryParam + "=" + tok})
	}
	writeJSON(w, resp)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, status int, msg, field string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]string{"error": msg}
	if field != "" {
		body["field"] = field
	}
	json.NewEncoder(w).Encode(body)
}
