package webrtc

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Content types of WHIP and WHEP.
const (
	contentSDP  = "application/sdp"
	contentFrag = "application/trickle-ice-sdpfrag"
)

// cors lets a player on another origin (a conference site embedding the
// stream) use the endpoints; the session URL is the capability, so no
// credentials are involved.
func cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "OPTIONS, POST, PATCH, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch, Accept-Post, Retry-After, Kast-Audio")
	h.Set("Access-Control-Max-Age", "600")
}

// isPreflight reports whether r is a CORS preflight rather than a WHIP/
// WHEP client asking for ICE servers.
func isPreflight(r *http.Request) bool {
	return r.Header.Get("Access-Control-Request-Method") != ""
}

// linkICEServers adds a Link header per configured STUN/TURN server.
func (h *Handler) linkICEServers(w http.ResponseWriter) {
	for _, s := range h.ICEServers {
		w.Header().Add("Link", s.LinkHeader())
	}
}

func etag(gen string) string { return `"` + gen + `"` }

// ifMatch checks an If-Match header against the session's ETag: ok when
// absent, "*", or equal.
func ifMatch(r *http.Request, current string) (present, ok bool) {
	v := r.Header.Get("If-Match")
	if v == "" {
		return false, true
	}
	if strings.TrimSpace(v) == "*" {
		return true, true
	}
	for _, t := range strings.Split(v, ",") {
		if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/")) == current {
			return true, true
		}
	}
	return true, false
}

// mediaType returns the media type of the Content-Type header, lowercase,
// without parameters.
func mediaType(r *http.Request) string {
	t, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// httpError writes a plain-text error. Reasons are for people reading a
// player's console or OBS's log.
func httpError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(reason + "\n"))
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))))
}
