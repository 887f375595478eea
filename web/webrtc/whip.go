package webrtc

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/whip"
	"github.com/kastlive/kast/internal/rtc"
)

// WHIP (RFC 9725) publishing: POST /whip/<track> with the stream key as
// a bearer token and an SDP offer; the session URL that comes back takes
// PATCH (trickle, ICE restart) and DELETE like a WHEP one, through the
// same plumbing.
//
// The URL's track must be the one the key publishes to (RFC 9725 leaves
// the URL to the server; naming the track keeps a speaker with the wrong
// key from going live on another stage unnoticed).

// PostWHIP starts a publishing session: offer in, answer out.
func (h *Handler) PostWHIP(w http.ResponseWriter, r *http.Request) {
	cors(w)
	if h.WHIP == nil {
		httpError(w, http.StatusNotFound, "WHIP publishing is off")
		return
	}
	track := r.PathValue("track")
	if mediaType(r) != contentSDP {
		httpError(w, http.StatusUnsupportedMediaType, "the offer must be sent as application/sdp")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	_, exists, err := h.Tracks.Track(r.Context(), track)
	if err != nil {
		h.Logger.Warn("whip: track lookup", "track", track, "err", err)
		httpError(w, http.StatusInternalServerError, "track lookup failed")
		return
	}
	if !exists {
		httpError(w, http.StatusNotFound, "no track "+quoteTrack(track))
		return
	}
	key, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kast"`)
		httpError(w, http.StatusUnauthorized, "send the stream key as \"Authorization: Bearer <stream key>\"")
		return
	}
	if h.sessions.len() >= h.MaxSessions {
		retryAfter(w, 10*time.Second)
		httpError(w, http.StatusServiceUnavailable, "too many WebRTC sessions")
		return
	}
	s, err := h.WHIP.Publish(r.Context(), whip.Request{StreamKey: key, Track: track, Offer: body, Remote: r.RemoteAddr})
	if err != nil {
		h.whipError(w, track, r.RemoteAddr, err)
		return
	}
	id := h.sessions.add(&sessionEntry{s: whipSession{s}, kind: "whip", track: track})
	pc := s.PeerConnection()
	hd := w.Header()
	hd.Set("Content-Type", contentSDP)
	hd.Set("Location", "/whip/"+track+"/"+id)
	hd.Set("ETag", etag(rtc.ICEGeneration(pc)))
	hd.Set("Accept-Patch", contentFrag)
	h.linkICEServers(w)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, s.Answer())
}

// whipError answers a refused WHIP offer. The reasons are written for a
// speaker reading OBS's log or the publish page.
func (h *Handler) whipError(w http.ResponseWriter, track, remote string, err error) {
	var nc *rtc.NoCommonCodecError
	var wt *whip.WrongTrackError
	switch {
	case errors.Is(err, ingest.ErrUnknownKey):
		w.Header().Set("WWW-Authenticate", `Bearer realm="kast", error="invalid_token"`)
		httpError(w, http.StatusUnauthorized, "unknown stream key")
		h.Logger.Warn("whip publish refused", "track", track, "remote", remote, "reason", "unknown stream key")
	case errors.As(err, &wt):
		httpError(w, http.StatusForbidden, wt.Error())
		h.Logger.Warn("whip publish refused", "track", track, "remote", remote, "reason", wt.Error())
	case errors.As(err, &nc):
		httpError(w, http.StatusUnprocessableEntity, err.Error())
		h.Logger.Info("whip publish refused", "track", track, "remote", remote, "reason", err.Error())
	case errors.Is(err, rtc.ErrBadOffer):
		httpError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ingest.ErrTrackBusy):
		// A publisher silent for ingest.StaleAfter is taken over, so a
		// reconnecting encoder gets in by trying again.
		retryAfter(w, ingest.StaleAfter)
		httpError(w, http.StatusConflict, "someone is already publishing track "+quoteTrack(track))
		h.Logger.Warn("whip publish refused", "track", track, "remote", remote, "reason", err.Error())
	case errors.Is(err, whip.ErrTooManySessions):
		retryAfter(w, 10*time.Second)
		httpError(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, whip.ErrClosed):
		retryAfter(w, h.RetryAfter)
		httpError(w, http.StatusServiceUnavailable, "shutting down")
	default:
		h.Logger.Warn("whip: session", "track", track, "err", err)
		httpError(w, http.StatusInternalServerError, "could not start the session")
	}
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// whipSession adapts a WHIP session to the session plumbing: Close is a
// DELETE, and returns once the track is free for the next publisher.
type whipSession struct{ s *whip.Session }

func (w whipSession) PeerConnection() *webrtc.PeerConnection { return w.s.PeerConnection() }
func (w whipSession) Close() error                           { w.s.Delete(); return nil }
func (w whipSession) Done() <-chan struct{}                  { return w.s.Done() }
