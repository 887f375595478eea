package web

import (
	"encoding/json"
	"net/http"
	"time"
)

// health answers /healthz: 200 when the store answers, 503 otherwise.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := contextWithTimeout(r, 2*time.Second)
	defer cancel()
	status := http.StatusOK
	body := map[string]any{"status": "ok", "publishers": s.Hub.Stats().Publishers}
	if _, err := s.Store.Tracks(ctx); err != nil {
		status = http.StatusServiceUnavailable
		body["status"] = "store unavailable"
		s.Logger.Error("health check: store", "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
