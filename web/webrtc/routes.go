package webrtc

import "net/http"

// The routes of this package, in one place. {id} is the session's
// unguessable identifier: knowing the Location is what allows PATCH and
// DELETE.
const (
	routeWHEP        = "/whep/{track}"
	routeWHEPSession = "/whep/{track}/{id}"
)

// Register adds the WHEP routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+routeWHEP, h.postWHEP)
	mux.HandleFunc("OPTIONS "+routeWHEP, h.optionsEndpoint)
	mux.HandleFunc("PATCH "+routeWHEPSession, h.patchSession)
	mux.HandleFunc("DELETE "+routeWHEPSession, h.deleteSession)
	mux.HandleFunc("OPTIONS "+routeWHEPSession, h.optionsSession)
}
