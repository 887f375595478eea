// Package jsonerr writes the one error shape kast's HTTP endpoints answer
// with (the JSON API, the playback gate, the live channel, the
// recordings): {"error": "what went wrong, for a person", "field": "the
// input it is about"}, field left out when there is none.
package jsonerr

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Append appends the body {"error": msg, "field": field} and a newline
// to dst.
func Append(dst []byte, msg, field string) []byte {
	dst = append(dst, `{"error":`...)
	dst = appendString(dst, msg)
	if field != "" {
		dst = append(dst, `,"field":`...)
		dst = appendString(dst, field)
	}
	return append(dst, "}\n"...)
}

// appendString appends s as a JSON string (encoding/json's escaping:
// control characters, invalid UTF-8, and <, >, & for HTML safety).
func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// Write answers status with the error body: JSON, not cacheable, not
// sniffed, with its Content-Length. Headers set before (CORS,
// WWW-Authenticate, Retry-After) are kept.
func Write(w http.ResponseWriter, status int, msg, field string) {
	body := Append(make([]byte, 0, 32+len(msg)+len(field)), msg, field)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	w.Write(body)
}
