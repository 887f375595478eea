package webrtc

import "net/http"

// Register adds the WHEP routes to mux the way web/routes.go does (tests
// and tools that mount this package alone). Session URLs are
// /whep/<track>/<id>: <id> is unguessable, and knowing the Location is what
// allows PATCH and DELETE.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /whep/{track}", h.PostWHEP)
	mux.HandleFunc("OPTIONS /whep/{track}", h.OptionsEndpoint)
	mux.HandleFunc("PATCH /whep/{track}/{id}", h.PatchSession)
	mux.HandleFunc("DELETE /whep/{track}/{id}", h.DeleteSession)
	mux.HandleFunc("OPTIONS /whep/{track}/{id}", h.OptionsSession)
	if h.WHIP != nil {
		mux.HandleFunc("POST /whip/{track}", h.PostWHIP)
		mux.HandleFunc("OPTIONS /whip/{track}", h.OptionsEndpoint)
		mux.HandleFunc("PATCH /whip/{track}/{id}", h.PatchSession)
		mux.HandleFunc("DELETE /whip/{track}/{id}", h.DeleteSession)
		mux.HandleFunc("OPTIONS /whip/{track}/{id}", h.OptionsSession)
	}
}
