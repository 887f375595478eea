package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// viewer is one simulated player. It reports what it receives to the shared
// sink of its viewerEnv and returns when ctx ends. The HLS kinds are
// implemented by hlsViewer; a WHEP viewer only has to implement run and
// feed a frameTracker with the SEI send times it sees.
type viewer interface {
	run(ctx context.Context)
}

// Client kinds selected with -client.
const (
	clientHLSJS   = "hlsjs"   // LL-HLS, blocking reloads, listed parts only
	clientApple   = "apple"   // LL-HLS, also requests the preload-hinted part at once
	clientClassic = "classic" // plain playlist polling, whole segments (TS or fMP4)
)

// viewerEnv is what all viewers share.
type viewerEnv struct {
	timeout   time.Duration // per request
	header    string        // extra request header lines (-header)
	sink      *sink
	hlsURL    string
	playlists *playlistCache
	tls       *tls.Config // for https URLs
	http2     bool        // https over HTTP/2 instead of HTTP/1.1
	goFlow    bool        // HTTP/2 flow control as Go's client does it, not a browser

	whepURL    string
	whepSample int // viewers that decrypt (the first N); the rest count packets
	whepJoined atomic.Int64
}

// newConn returns a viewer's HTTP connection for the environment.
func (e *viewerEnv) newConn() httpConn {
	c := httpConn{timeout: e.timeout, tls: e.tls, header: e.header}
	if e.http2 {
		c.h2 = newH2Client(e.tls, e.goFlow)
	}
	return c
}

// newViewer returns a viewer of the given kind.
func newViewer(kind string, env *viewerEnv) (viewer, error) {
	switch kind {
	case clientHLSJS, clientApple, clientClassic:
		return &hlsViewer{env: env, kind: kind}, nil
	case clientWHEP:
		v := &whepViewer{env: env}
		if env != nil {
			v.sampled = int(env.whepJoined.Add(1)) <= env.whepSample
		}
		return v, nil
	}
	return nil, fmt.Errorf("unknown client kind %q (want hlsjs, apple, classic or whep)", kind)
}

// errCanceled is returned for requests cut short by the end of the run.
var errCanceled = errors.New("canceled")

// classify names an error for the errors-by-kind table.
func classify(err error) string {
	var se statusError
	switch {
	case errors.As(err, &se):
		return "http_" + strconv.Itoa(int(se))
	case errors.Is(err, errParse):
		return "parse"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timeout"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "short_body"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return "conn"
	}
	return "read"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

type statusError int

func (e statusError) Error() string { return "HTTP status " + strconv.Itoa(int(e)) }

// pos identifies a part: media sequence number and part index in its segment.
type pos struct{ msn, idx int }

func (a pos) less(b pos) bool { return a.msn < b.msn || (a.msn == b.msn && a.idx < b.idx) }

// partRef is one part listed in a media playlist.
type partRef struct {
	pos         pos
	uri         string
	independent bool
}

// mediaPL is a parsed media playlist plus what viewers derive from it. It is
// shared between viewers and never modified.
type mediaPL struct {
	pl    *playlist.Media
	parts []partRef // every listed part, oldest first
	next  pos       // the first part not listed yet (the preload hint's)
}

// playlistCache parses each distinct playlist body once. Viewers of a live
// stream receive the same bytes (especially with blocking reloads), so this
// saves the bench most of its parsing work.
type playlistCache struct {
	mu sync.Mutex
	m  map[uint64]any // *mediaPL or *playlist.Multivariant
}

func newPlaylistCache() *playlistCache { return &playlistCache{m: map[uint64]any{}} }

// parse returns the cached parse of b, parsing it if needed.
func (c *playlistCache) parse(b []byte) (any, error) {
	h := fnv.New64a()
	h.Write(b)
	key := h.Sum64() ^ uint64(len(b))<<48
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	pl, err := playlist.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: playlist: %v", errParse, err)
	}
	switch pl := pl.(type) {
	case *playlist.Media:
		v = newMediaPL(pl)
	default:
		v = pl
	}
	c.mu.Lock()
	if len(c.m) >= 512 {
		clear(c.m)
	}
	c.m[key] = v
	c.mu.Unlock()
	return v, nil
}

func newMediaPL(pl *playlist.Media) *mediaPL {
	m := &mediaPL{pl: pl}
	for i, seg := range pl.Segments {
		for j, p := range seg.Parts {
			m.parts = append(m.parts, partRef{pos: pos{pl.MediaSequence + i, j}, uri: p.URI, independent: p.Independent})
		}
	}
	msn := pl.MediaSequence + len(pl.Segments)
	for j, p := range pl.Parts {
		m.parts = append(m.parts, partRef{pos: pos{msn, j}, uri: p.URI, independent: p.Independent})
	}
	m.next = pos{msn, len(pl.Parts)}
	return m
}

// lowLatency reports whether the playlist offers parts and blocking reloads.
func (m *mediaPL) lowLatency() bool {
	return m.pl.PartInf != nil && m.pl.ServerControl != nil && m.pl.ServerControl.CanBlockReload && len(m.parts) > 0
}

// startIndex returns the index in parts where a low-latency player starts:
// the newest independent part.
func (m *mediaPL) startIndex() int {
	for i := len(m.parts) - 1; i >= 0; i-- {
		if m.parts[i].independent {
			return i
		}
	}
	return 0
}

// readAll reads a small body into buf (reset first).
func readAll(buf *bytes.Buffer, r io.Reader) error {
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(r, 8<<20))
	return err
}
