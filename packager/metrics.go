package packager

import (
	"sync/atomic"

	"github.com/kastlive/kast/ingest"
)

// Metrics counts what the packager does. All fields are safe for
// concurrent use; read them with Stats.
type Metrics struct {
	videoFrames atomic.Uint64
	audioFrames atomic.Uint64
	parts       atomic.Uint64
	segments    atomic.Uint64
	blocked     atomic.Int64
	requests    [numKinds][len(statusCodes)]atomic.Uint64
}

// statusCodes are the response statuses counted separately; others count
// as the last entry, 0.
var statusCodes = [...]int{200, 400, 404, 405, 503, 0}

// Kinds of requests, for Stats.Requests.
var requestKinds = [...]string{"other", "multivariant", "playlist", "init", "part", "segment"}

const numKinds = len(requestKinds)

// Stats is a snapshot of the metrics.
type Stats struct {
	VideoFrames uint64
	AudioFrames uint64
	Parts       uint64
	Segments    uint64
	// Blocked is the number of requests waiting for a part right now.
	Blocked int64
	// Requests counts responses by kind ("playlist", "part", ...) and status.
	Requests map[string]map[int]uint64
}

func (m *Metrics) frames(u *ingest.Unit) {
	if u.Kind == ingest.KindVideo {
		m.videoFrames.Add(1)
	} else {
		m.audioFrames.Add(1)
	}
}

func (m *Metrics) published(newPart, newSegment bool) {
	if newPart {
		m.parts.Add(1)
	}
	if newSegment {
		m.segments.Add(1)
	}
}

func (m *Metrics) request(kind fileKind, status int) {
	i := len(statusCodes) - 1
	for j, c := range statusCodes {
		if c == status {
			i = j
			break
		}
	}
	m.requests[kind][i].Add(1)
}

// Stats returns the current counters.
func (m *Metrics) Stats() Stats {
	s := Stats{
		VideoFrames: m.videoFrames.Load(),
		AudioFrames: m.audioFrames.Load(),
		Parts:       m.parts.Load(),
		Segments:    m.segments.Load(),
		Blocked:     m.blocked.Load(),
		Requests:    map[string]map[int]uint64{},
	}
	for k := range m.requests {
		for i, c := range statusCodes {
			if v := m.requests[k][i].Load(); v > 0 {
				if s.Requests[requestKinds[k]] == nil {
					s.Requests[requestKinds[k]] = map[int]uint64{}
				}
				s.Requests[requestKinds[k]][c] = v
			}
		}
	}
	return s
}
