package packager

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/kastlive/kast/ingest"
)

// Server packages every stream of a Hub into LL-HLS and serves it under
// /<track>/ (see ServeHTTP and ServeFile).
type Server struct {
	Hub    *ingest.Hub
	Config Config
	Logger *slog.Logger
	// Sink, when set, receives every complete segment (the recorder).
	Sink SegmentSink
	// Private, when set, tells which tracks only credentialed viewers may
	// watch (a registered event's): their responses say Cache-Control:
	// private, so that no shared cache hands them to anyone else. Set it
	// before serving; it is called on every request and must not block.
	Private func(track string) bool

	metrics Metrics
	mu      sync.RWMutex
	muxers  map[string]*muxer
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Initialize validates the configuration and subscribes to the hub.
func (s *Server) Initialize() error {
	if err := s.Config.setDefaults(); err != nil {
		return err
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.muxers = map[string]*muxer{}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.Hub.OnStream(s.onStream)
	return nil
}

// Close stops every muxer and releases blocked requests.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

// Metrics returns the packager's counters.
func (s *Server) Metrics() *Metrics { return &s.metrics }

// onStream runs in the publisher's goroutine before the stream's first
// unit: subscribing here guarantees the muxer sees every unit.
func (s *Server) onStream(st *ingest.Stream) {
	r := st.Subscribe(0)
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		r.Close()
		return
	}
	m := s.muxers[st.Track]
	if m == nil {
		m = newMuxer(st.Track, s.Config, s.Logger, &s.metrics, s.remove, s.retire)
		m.tl.rec = s.newSinkHook(m)
		s.muxers[st.Track] = m
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			m.run(s.ctx.Done())
		}()
	}
	// Queue the reader while holding the lock, so that a muxer retiring at
	// this moment (retire) either sees it or is already out of the map.
	select {
	case m.readers <- r:
		s.mu.Unlock()
	default:
		// Full: the muxer has readers queued, so it is not retiring.
		s.mu.Unlock()
		m.readers <- r
	}
}

// retire removes an idle muxer unless a reader is waiting for it.
func (s *Server) retire(m *muxer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(m.readers) > 0 {
		return false
	}
	s.forget(m)
	return true
}

func (s *Server) remove(m *muxer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget(m)
}

// forget drops m from the track map, if it is still there. s.mu is held.
func (s *Server) forget(m *muxer) {
	if s.muxers[m.track] == m {
		delete(s.muxers, m.track)
	}
}

func (s *Server) muxer(track string) *muxer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.muxers[track]
}

// ServeHTTP serves /<track>/<file>; mount it with http.StripPrefix, or
// call ServeFile from a handler that has cut the path itself.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	track, name, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if !ok {
		track, name = "", ""
	}
	s.ServeFile(w, r, track, name)
}

// ServeFile serves one file (playlist, init section, part or segment) of
// a track's presentation.
func (s *Server) ServeFile(w http.ResponseWriter, r *http.Request, track, name string) {
	setCORS(w.Header())
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ok := track != "" && !strings.Contains(name, "/")
	kind, epoch, n := parseName(name)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		s.error(w, kind, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if !ok || kind == fileUnknown {
		s.error(w, kind, http.StatusNotFound, "not found")
		return
	}
	m := s.muxer(track)
	if m == nil {
		s.error(w, kind, http.StatusNotFound, "no live stream on track "+track)
		return
	}
	h := handler{s: s, m: m, w: w, r: r, kind: kind, private: s.Private != nil && s.Private(track)}
	switch kind {
	case fileMultivariant:
		h.multivariant()
	case fileMedia:
		h.media()
	default:
		h.file(epoch, n)
	}
}

func (s *Server) error(w http.ResponseWriter, kind fileKind, status int, msg string) {
	s.metrics.request(kind, status)
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	body := msg + "\n"
	h.Set("Content-Length", itoa(len(body)))
	w.WriteHeader(status)
	w.Write([]byte(body))
}

var (
	corsOrigin  = []string{"*"}
	corsMethods = []string{"GET, HEAD, OPTIONS"}
	corsHeaders = []string{"Range, Origin, Accept, Authorization"}
	corsExpose  = []string{"Content-Length, Age, Date"}
)

// setCORS lets players on any origin read the stream. The values are
// shared slices (see handler.go).
func setCORS(h http.Header) {
	h["Access-Control-Allow-Origin"] = corsOrigin
	h["Access-Control-Allow-Methods"] = corsMethods
	h["Access-Control-Allow-Headers"] = corsHeaders
	h["Access-Control-Expose-Headers"] = corsExpose
}
