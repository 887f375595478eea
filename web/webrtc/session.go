package webrtc

import (
	"crypto/rand"
	"encoding/base64"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Session is one WHEP or WHIP session behind a session URL.
type Session interface {
	PeerConnection() *webrtc.PeerConnection
	// Close ends the session; it may be called more than once.
	Close() error
	// Done is closed when the session ended, whoever ended it.
	Done() <-chan struct{}
}

// sessionEntry is a session and what its resource needs.
type sessionEntry struct {
	s       Session
	kind    string // "whep" or "whip"
	track   string
	source  netip.Prefix // the client's netlimit.Key; zero when not limited
	created time.Time
	timer   *time.Timer // the connect timeout, stopped when the session ends; nil for none
	mu      sync.Mutex  // serializes PATCHes
}

// connected reports whether the session's ICE and DTLS are done.
func (e *sessionEntry) connected() bool {
	return e.s.PeerConnection().ConnectionState() == webrtc.PeerConnectionStateConnected
}

// sessions maps session IDs to sessions. An entry leaves the map when
// its session is done (DELETE, ICE failure, the stream ended, shutdown).
type sessions struct {
	mu sync.Mutex
	m  map[string]*sessionEntry
}

func (ss *sessions) add(e *sessionEntry) string {
	id := newID()
	ss.mu.Lock()
	if ss.m == nil {
		ss.m = map[string]*sessionEntry{}
	}
	ss.m[id] = e
	ss.mu.Unlock()
	go func() {
		<-e.s.Done()
		if e.timer != nil {
			e.timer.Stop()
		}
		ss.mu.Lock()
		delete(ss.m, id)
		ss.mu.Unlock()
	}()
	return id
}

func (ss *sessions) get(id string) *sessionEntry {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.m[id]
}

// fromSource counts the WHEP sessions of one source.
func (ss *sessions) fromSource(p netip.Prefix) int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	n := 0
	for _, e := range ss.m {
		if e.kind == "whep" && e.source == p {
			n++
		}
	}
	return n
}

// oldestUnconnected returns the oldest WHEP session still connecting,
// or nil.
func (ss *sessions) oldestUnconnected() *sessionEntry {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var old *sessionEntry
	for _, e := range ss.m {
		if e.kind == "whep" && !e.connected() && (old == nil || e.created.Before(old.created)) {
			old = e
		}
	}
	return old
}

func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}

// closeAll ends every session.
func (ss *sessions) closeAll() {
	ss.mu.Lock()
	var all []Session
	for _, e := range ss.m {
		all = append(all, e.s)
	}
	ss.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Add(1)
		go func() { defer wg.Done(); s.Close() }()
	}
	wg.Wait()
}

// newID returns 128 random bits, URL-safe.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
