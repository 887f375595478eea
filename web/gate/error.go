package gate

import (
	"net/http"
	"strconv"
)

// Error is a refused credential: the status to answer (401 or 403) and a
// message meant for the viewer. The WHEP side answers with HTTPStatus too;
// it need not import this package to read it (interface{ HTTPStatus() int }).
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// HTTPStatus returns the status the request is answered with.
func (e *Error) HTTPStatus() int { return e.Status }

// The refusals. Their bodies name what is missing so a viewer (or the
// developer of a player) knows what to do.
var (
	errNoCredential = &Error{http.StatusUnauthorized, "this event is for registered attendees: sign in and fetch a playback token (GET /api/v1/events/{event}/playback-token)"}
	errBadToken     = &Error{http.StatusUnauthorized, "playback token malformed or forged: fetch a new one"}
	errExpiredToken = &Error{http.StatusUnauthorized, "playback token expired: fetch a new one"}
	errRevoked      = &Error{http.StatusUnauthorized, "the login session of this playback token has ended: sign in again"}
	errOtherEvent   = &Error{http.StatusForbidden, "this playback token is for another event"}
	errUnknownTrack = &Error{http.StatusNotFound, "no such track"}
)

// writeError answers err as JSON, like the API's 4xx ({"error": ...,
// "field": ...}), with the CORS headers HLS responses carry so a player on
// another origin can read why.
func writeError(w http.ResponseWriter, err *Error) {
	h := w.Header()
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	h["X-Content-Type-Options"] = headerNoSniff
	h["Access-Control-Allow-Origin"] = headerAnyOrigin
	if err.Status == http.StatusUnauthorized {
		h["Www-Authenticate"] = headerAuthenticate
	}
	body := errorBody(err)
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(err.Status)
	w.Write(body)
}

func errorBody(err *Error) []byte {
	b := []byte(`{"error":`)
	b = strconv.AppendQuote(b, err.Msg)
	if err.Status == http.StatusUnauthorized || err.Status == http.StatusForbidden {
		b = append(b, `,"field":"token"`...)
	}
	return append(b, "}\n"...)
}

// Shared header values (never modified), as in the packager: assigning a
// slice saves an allocation per header.
var (
	headerJSON         = []string{"application/json"}
	headerNoStore      = []string{"no-store"}
	headerNoSniff      = []string{"nosniff"}
	headerAnyOrigin    = []string{"*"}
	headerAuthenticate = []string{`Bearer realm="kast playback"`}
)
