package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/web/internal/jsonerr"
)

var errTooManyRedirects = errors.New("more than 5 redirects")

// apiError is the body of every 4xx and 5xx answer: {"error": "...",
// "field": "..."}, plus details some answers add.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
	// Offer: what the client may do instead ("online" for a full venue).
	Offer       string `json:"offer,omitempty"`
	CheckedInAt string `json:"checked_in_at,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, field, format string, args ...any) {
	jsonerr.Write(w, status, fmt.Sprintf(format, args...), field)
}

// fail answers err: domain errors get their 4xx, anything else is logged
// and answered 500 without details.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var fe *conference.FieldError
	var already *conference.AlreadyCheckedInError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &fe):
		writeError(w, http.StatusUnprocessableEntity, fe.Field, "%s %s", fieldLabel(fe.Field), fe.Msg)
	case errors.As(err, &already):
		writeJSON(w, http.StatusConflict, apiError{Error: already.Error(), Field: "ticket",
			CheckedInAt: already.At.UTC().Format(time.RFC3339)})
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "", "request body larger than %d bytes", tooBig.Limit)
	case errors.Is(err, conference.ErrNotFound):
		writeError(w, http.StatusNotFound, "", "not found")
	case errors.Is(err, conference.ErrVenueFull):
		writeJSON(w, http.StatusConflict, apiError{Error: err.Error(), Field: "participation", Offer: string(conference.ParticipationOnline)})
	case errors.Is(err, conference.ErrConflict):
		writeError(w, http.StatusConflict, "", "%v", err)
	case errors.Is(err, conference.ErrUnauthenticated):
		writeError(w, http.StatusUnauthorized, "", "%v", err)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
	default:
		h.Log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "", "internal error")
	}
}

// fieldLabel is the field as a message's subject.
func fieldLabel(f string) string {
	if f == "" {
		return "value"
	}
	return f
}

// decode reads one JSON object into v: at most maxJSONBody bytes,
// unknown fields refused, nothing after it. It answers the client and
// returns false on any problem.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			writeError(w, http.StatusUnsupportedMediaType, "", "send JSON (Content-Type: application/json)")
			return false
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, "", "request body larger than %d bytes", tooBig.Limit)
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "", "reading the request body: %v", err)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field, msg := describeJSONError(err)
		writeError(w, http.StatusBadRequest, field, "%s", msg)
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "", "malformed JSON: data after the object")
		return false
	}
	return true
}

// describeJSONError turns a json error into a field and a message.
func describeJSONError(err error) (string, string) {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "", fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		return typ.Field, fmt.Sprintf("%s must be %s, not %s", fieldLabel(typ.Field), jsonType(typ.Type.String()), typ.Value)
	case errors.Is(err, io.EOF):
		return "", "empty body: send a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "", "malformed JSON: the body ends too early"
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return f, fmt.Sprintf("unknown field %q", f)
	}
	return "", "malformed JSON: " + err.Error()
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"), strings.HasPrefix(goType, "*int"):
		return "a number"
	case goType == "string" || goType == "*string":
		return "a string"
	case goType == "bool" || goType == "*bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// parseTime reads an RFC 3339 time from an input field ("" is zero).
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, &conference.FieldError{Field: field, Msg: fmt.Sprintf("must be an RFC 3339 time such as 2027-03-13T10:00:00+01:00, not %q", s)}
	}
	return t, nil
}

// formatTime writes t in loc as RFC 3339; zero is "".
func formatTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.RFC3339)
}

// JSONErrors makes the plain-text errors net/http's mux writes for the
// API's paths (404 for an unknown path, 405 for a wrong method) JSON like
// every other API error.
func JSONErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&jsonErrorWriter{ResponseWriter: w}, r)
	})
}

type jsonErrorWriter struct {
	http.ResponseWriter
	rewrite bool
}

func (w *jsonErrorWriter) WriteHeader(status int) {
	h := w.Header()
	if status >= 400 && strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		w.rewrite = true
		h.Del("Content-Length")
		h.Del("X-Content-Type-Options")
		msg := strings.ToLower(http.StatusText(status))
		if status == http.StatusMethodNotAllowed {
			msg += " (allowed: " + h.Get("Allow") + ")"
		}
		writeJSON(w.ResponseWriter, status, apiError{Error: msg})
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *jsonErrorWriter) Write(b []byte) (int, error) {
	if w.rewrite {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *jsonErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
