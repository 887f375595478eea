package webrtc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/ingest/whip"
	"github.com/kastlive/kast/internal/netlimit"
	"github.com/kastlive/kast/internal/rtc"
	"github.com/kastlive/kast/relay"
	"github.com/pion/webrtc/v4"
)

// Tracks tells whether a track exists and what is live on it.
type Tracks interface {
	// Track returns the live stream of the track with this slug (nil when
	// nobody publishes), and whether the track exists at all.
	Track(ctx context.Context, slug string) (live *ingest.Stream, exists bool, err error)
}

// ErrUnauthorized is what a Gate returns for a missing or wrong viewer
// credential: the answer is 401.
var ErrUnauthorized = errors.New("a valid viewer credential is required")

// Gate decides whether a request may watch a track (a playback token of
// a gated event). nil lets everyone watch. An error that has an
// HTTPStatus() int method (web/gate's) answers with that status and its
// message; any other error answers 401.
type Gate func(r *http.Request, track string) error

// Handler serves WHEP, and WHIP when WHIP is set (whip.go).
type Handler struct {
	Relay      *relay.Relay
	WHIP       *whip.Server
	Tracks     Tracks
	Gate       Gate
	ICEServers []rtc.ICEServer
	Logger     *slog.Logger
	// RetryAfter is what a player is told to wait before asking again for
	// a track that is not live (0: 2 s).
	RetryAfter time.Duration
	// MaxSessions bounds the WebRTC sessions (0: 5000). When a new WHEP
	// offer would pass it, the oldest viewer session still connecting is
	// ended to make room; with none, POST answers 503.
	MaxSessions int
	// MaxPerSource bounds the WHEP sessions of one client (an IPv4
	// address or an IPv6 /64; 0: 64, -1: none); past it POST answers 429.
	// Proxies name the reverse proxies whose X-Forwarded-For is believed.
	MaxPerSource int
	Proxies      netlimit.Proxies
	// ConnectTimeout ends a WHEP session whose ICE and DTLS have not
	// completed this long after the answer (0: 15 s).
	ConnectTimeout time.Duration
	// GatherTimeout bounds candidate gathering on an ICE restart (0: 2 s).
	GatherTimeout time.Duration

	sessions sessions

	refusedPerSource, refusedFull, droppedUnconnected, timedOut atomic.Uint64
}

// Initialize applies the defaults.
func (h *Handler) Initialize() error {
	if h.Relay == nil || h.Tracks == nil {
		return errors.New("webrtc handler: Relay and Tracks are required")
	}
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	if h.RetryAfter <= 0 {
		h.RetryAfter = 2 * time.Second
	}
	if h.MaxPerSource == 0 {
		h.MaxPerSource = 64
	}
	if h.ConnectTimeout <= 0 {
		h.ConnectTimeout = 15 * time.Second
	}
	if h.MaxSessions <= 0 {
		h.MaxSessions = 5000
	}
	if h.GatherTimeout <= 0 {
		h.GatherTimeout = 2 * time.Second
	}
	return nil
}

// Close ends every session.
func (h *Handler) Close() { h.sessions.closeAll() }

// endIfUnconnected ends s when its ICE and DTLS have not completed
// within ConnectTimeout: an offer whose peer never connects holds a
// session slot and its UDP state until pion's ICE gives up (30 s). A
// session that connected once is left alone, even if its ICE is
// disconnected at that moment (pion's own timeouts handle that). The
// returned timer is stopped when the session ends.
func (h *Handler) endIfUnconnected(s Session) *time.Timer {
	return time.AfterFunc(h.ConnectTimeout, func() {
		select {
		case <-s.Done():
			return
		default:
		}
		pc := s.PeerConnection()
		if pc.ConnectionState() == webrtc.PeerConnectionStateConnected ||
			pc.SCTP().Transport().State() == webrtc.DTLSTransportStateConnected {
			return
		}
		h.timedOut.Add(1)
		s.Close()
	})
}

// LimitStats counts the WHEP offers the limits turned away or the
// sessions they ended, for /metrics.
type LimitStats struct {
	RefusedPerSource, RefusedFull, DroppedUnconnected, ConnectTimeouts uint64
}

// Limits returns the counters of the session limits.
func (h *Handler) Limits() LimitStats {
	return LimitStats{RefusedPerSource: h.refusedPerSource.Load(), RefusedFull: h.refusedFull.Load(),
		DroppedUnconnected: h.droppedUnconnected.Load(), ConnectTimeouts: h.timedOut.Load()}
}

// Sessions returns the number of open sessions.
func (h *Handler) Sessions() int { return h.sessions.len() }

// OptionsEndpoint answers OPTIONS on /whep/<track>: CORS, Accept-Post,
// and the ICE servers unless it is a browser's preflight.
func (h *Handler) OptionsEndpoint(w http.ResponseWriter, r *http.Request) {
	cors(w)
	w.Header().Set("Accept-Post", contentSDP)
	if !isPreflight(r) {
		h.linkICEServers(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

// OptionsSession answers OPTIONS on a session URL.
func (h *Handler) OptionsSession(w http.ResponseWriter, r *http.Request) {
	cors(w)
	w.Header().Set("Accept-Patch", contentFrag)
	w.WriteHeader(http.StatusNoContent)
}

// readBody reads a bounded body; it answers 413 itself when too large.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rtc.MaxOfferSize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpError(w, http.StatusRequestEntityTooLarge, "body larger than 64 KiB")
		} else {
			httpError(w, http.StatusBadRequest, "could not read the body: "+err.Error())
		}
		return nil, false
	}
	return body, true
}

// PostWHEP starts a playback session: offer in, answer out.
func (h *Handler) PostWHEP(w http.ResponseWriter, r *http.Request) {
	cors(w)
	track := r.PathValue("track")
	if mediaType(r) != contentSDP {
		httpError(w, http.StatusUnsupportedMediaType, "the offer must be sent as application/sdp")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if h.Gate != nil {
		if err := h.Gate(r, track); err != nil {
			status := http.StatusUnauthorized
			var hs interface{ HTTPStatus() int }
			if errors.As(err, &hs) && hs.HTTPStatus() >= 400 {
				status = hs.HTTPStatus()
			}
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="kast"`)
			}
			httpError(w, status, err.Error())
			return
		}
	}
	live, exists, err := h.Tracks.Track(r.Context(), track)
	if err != nil {
		h.Logger.Warn("whep: track lookup", "track", track, "err", err)
		httpError(w, http.StatusInternalServerError, "track lookup failed")
		return
	}
	if !exists {
		httpError(w, http.StatusNotFound, "no track "+quoteTrack(track))
		return
	}
	if live == nil {
		retryAfter(w, h.RetryAfter)
		httpError(w, http.StatusConflict, "track "+quoteTrack(track)+" is not live yet")
		return
	}
	offer, err := rtc.ParseOffer(body)
	if err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	source := netlimit.Key(h.Proxies.ClientAddr(r))
	if h.MaxPerSource > 0 && source.IsValid() && h.sessions.fromSource(source) >= h.MaxPerSource {
		h.refusedPerSource.Add(1)
		retryAfter(w, 10*time.Second)
		httpError(w, http.StatusTooManyRequests, "too many WebRTC sessions from this address; watch over HLS")
		return
	}
	if h.sessions.len() >= h.MaxSessions {
		old := h.sessions.oldestUnconnected()
		if old == nil {
			h.refusedFull.Add(1)
			retryAfter(w, 10*time.Second)
			httpError(w, http.StatusServiceUnavailable, "too many WebRTC sessions; watch over HLS")
			return
		}
		h.droppedUnconnected.Add(1)
		old.s.Close()
	}
	v, err := h.Relay.Play(live, offer)
	if err != nil {
		var nc *rtc.NoCommonCodecError
		switch {
		case errors.As(err, &nc), errors.Is(err, relay.ErrBFrames):
			httpError(w, http.StatusUnprocessableEntity, err.Error())
		case errors.Is(err, rtc.ErrBadOffer):
			httpError(w, http.StatusBadRequest, err.Error())
		case errors.Is(err, relay.ErrClosed):
			retryAfter(w, h.RetryAfter)
			httpError(w, http.StatusServiceUnavailable, "shutting down")
		default:
			h.Logger.Warn("whep: session", "track", track, "err", err)
			httpError(w, http.StatusInternalServerError, "could not start the session")
		}
		return
	}
	id := h.sessions.add(&sessionEntry{s: v, kind: "whep", track: track, source: source, created: time.Now(),
		timer: h.endIfUnconnected(v)})
	pc := v.PeerConnection()
	hd := w.Header()
	hd.Set("Content-Type", contentSDP)
	hd.Set("Location", "/whep/"+track+"/"+id)
	hd.Set("ETag", etag(rtc.ICEGeneration(pc)))
	hd.Set("Accept-Patch", contentFrag)
	if v.AudioMissing != "" {
		hd.Set("Kast-Audio", "none: "+v.AudioMissing)
	}
	h.linkICEServers(w)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}

func quoteTrack(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	b := []byte{'"'}
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e || c == '"' {
			c = '?'
		}
		b = append(b, c)
	}
	return string(append(b, '"'))
}

// session looks up the session of a session URL; it answers 404 itself.
func (h *Handler) session(w http.ResponseWriter, r *http.Request) *sessionEntry {
	e := h.sessions.get(r.PathValue("id"))
	if e == nil || e.track != r.PathValue("track") {
		httpError(w, http.StatusNotFound, "no such session (it ended, or the URL is wrong)")
		return nil
	}
	return e
}

// DeleteSession ends a session.
func (h *Handler) DeleteSession(w http.ResponseWriter, r *http.Request) {
	cors(w)
	e := h.session(w, r)
	if e == nil {
		return
	}
	e.s.Close()
	w.WriteHeader(http.StatusOK)
}

// PatchSession takes trickled candidates (204) or restarts ICE (200 with
// kast's new credentials and a new ETag).
func (h *Handler) PatchSession(w http.ResponseWriter, r *http.Request) {
	cors(w)
	e := h.session(w, r)
	if e == nil {
		return
	}
	if mediaType(r) != contentFrag {
		w.Header().Set("Accept-Patch", contentFrag)
		httpError(w, http.StatusUnsupportedMediaType, "PATCH takes application/trickle-ice-sdpfrag")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	frag, err := rtc.ParseSDPFrag(body)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, rtc.ErrUnsupportedFrag) {
			status = http.StatusUnprocessableEntity
		}
		httpError(w, status, err.Error())
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	pc := e.s.PeerConnection()
	cur := etag(rtc.ICEGeneration(pc))
	present, match := ifMatch(r, cur)
	if !match {
		httpError(w, http.StatusPreconditionFailed, "If-Match does not name the session's current ICE generation "+cur)
		return
	}
	if frag.IsRestart(pc) {
		if !present {
			httpError(w, http.StatusPreconditionRequired, "an ICE restart needs If-Match")
			return
		}
		answer, err := rtc.RestartICE(pc, frag, h.GatherTimeout)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, rtc.ErrUnsupportedFrag) || errors.Is(err, rtc.ErrBadFrag) {
				status = http.StatusUnprocessableEntity
			}
			httpError(w, status, err.Error())
			return
		}
		w.Header().Set("Content-Type", contentFrag)
		w.Header().Set("ETag", etag(rtc.ICEGeneration(pc)))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, answer)
		return
	}
	if err := frag.AddCandidates(pc); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
