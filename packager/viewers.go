package packager

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Viewer counting. kast sees every request a player makes, so it counts
// players from the media they fetch, not from anything they report:
//
//   - An LL-HLS player fetches every part once: hls.js the parts listed in
//     the playlist (a few behind the edge), Apple's players and gohlslib
//     the preload-hinted part, which they ask for before it exists. Every
//     part request adds one to the count of that part number.
//   - A classic player (ffmpeg, VLC, hls.js without low latency) fetches
//     every segment once. Every segment response adds one to the count of
//     that segment.
//
// When a request arrives does not matter, only which part or segment it
// names, so players that lag a little still count for the right one. A
// track's HLS viewers are the most requests any one part drew among the
// parts started 1 to 3 s ago (younger ones are still being fetched by
// players that play behind the edge), plus the most fetches any segment
// drew among those completed one to three and a half target durations
// ago (a classic player fetches a new segment within a playlist reload).
// A player that stops drops out when its last part or segment leaves that
// window: within 3 s (LL-HLS) or about four target durations (classic).
// While the stream stalls and no part starts (the publisher reconnecting),
// the players waiting now for a part or a blocking playlist count
// instead. HEAD requests count for nothing.
//
// Each request costs one atomic load and two atomic adds: no lock, no
// allocation.

const (
	partSlots    = 64 // ring of recent parts (power of two)
	segmentSlots = 16 // ring of recent segments (power of two)
	// The parts counted started between partWindowEnd and partWindowStart ago.
	partWindowStart = 3 * time.Second
	partWindowEnd   = time.Second
)

// unitCount counts the requests one part or segment drew.
type unitCount struct {
	n     atomic.Int64 // part number or MSN the slot counts now; -1 while being reset
	count atomic.Int64
	at    atomic.Int64 // unix nanoseconds: when the part started (became the hint), the segment completed
}

// viewerCounter is a muxer's. The ring slots are (re)assigned by the
// muxer goroutine when it publishes; requests only add to them.
type viewerCounter struct {
	parts    [partSlots]unitCount
	segments [segmentSlots]unitCount
	// requests waiting now: blocking playlists, parts not yet complete
	waitingPlaylists, waitingParts atomic.Int64

	// muxer goroutine only
	lastPart    int64
	lastSegment int
	started     bool
}

func (c *unitCount) reset(n int64, at time.Time) {
	c.n.Store(-1)
	c.count.Store(0)
	c.at.Store(at.UnixNano())
	c.n.Store(n)
}

func (c *unitCount) add(n int64) {
	if c.n.Load() == n {
		c.count.Add(1)
	}
}

// published opens the slot of the part that has become the preload hint
// and of a newly completed segment. Called by the muxer before each
// snapshot swap.
func (v *viewerCounter) published(s *snapshot) {
	now := time.Now()
	if !v.started || s.nextPart != v.lastPart {
		v.parts[s.nextPart&(partSlots-1)].reset(s.nextPart, now)
		v.lastPart = s.nextPart
	}
	for i := len(s.segments) - 1; i >= 0; i-- {
		if seg := &s.segments[i]; seg.complete {
			if !v.started || seg.msn != v.lastSegment {
				v.segments[seg.msn&(segmentSlots-1)].reset(int64(seg.msn), now)
				v.lastSegment = seg.msn
			}
			break
		}
	}
	v.started = true
}

// partRequest counts a GET of part n and reports whether it did; the
// handler then decrements waitingParts when the request ends.
func (v *viewerCounter) partRequest(r *http.Request, n int64) bool {
	if r.Method != http.MethodGet {
		return false
	}
	v.parts[n&(partSlots-1)].add(n)
	v.waitingParts.Add(1)
	return true
}

// segment counts a segment response.
func (v *viewerCounter) segment(r *http.Request, msn int) {
	if r.Method == http.MethodGet {
		v.segments[msn&(segmentSlots-1)].add(int64(msn))
	}
}

// count returns the track's HLS viewers at now given its current snapshot.
func (v *viewerCounter) count(cur *snapshot, now time.Time) int {
	if cur == nil || cur.gone {
		return 0
	}
	var buf [partSlots]int
	counts := buf[:0]
	from, to := now.Add(-partWindowStart).UnixNano(), now.Add(-partWindowEnd).UnixNano()
	recent := false
	for n := cur.nextPart; n >= 0 && n > cur.nextPart-partSlots; n-- {
		c := &v.parts[n&(partSlots-1)]
		if c.n.Load() != n {
			continue
		}
		at := c.at.Load()
		if at < from {
			break
		}
		recent = true
		if at <= to {
			counts = append(counts, int(c.count.Load()))
		}
	}
	ll := median(counts)
	if !recent {
		// No part started lately: the players waiting are watching.
		ll = int(max(v.waitingPlaylists.Load(), v.waitingParts.Load()))
	}

	counts = buf[:0]
	td := time.Duration(max(cur.targetDur, 1)) * time.Second
	newest, oldest := now.Add(-td).UnixNano(), now.Add(-3*td-td/2).UnixNano()
	for msn := int64(cur.msn); msn >= 0 && msn > int64(cur.msn)-segmentSlots; msn-- {
		c := &v.segments[msn&(segmentSlots-1)]
		if c.n.Load() != msn {
			continue
		}
		at := c.at.Load()
		if at < oldest {
			break
		}
		if at <= newest {
			counts = append(counts, int(c.count.Load()))
		}
	}
	return ll + median(counts)
}

// median returns the middle value of v (the upper one of an even
// number), 0 for none. It sorts v.
func median(v []int) int {
	if len(v) == 0 {
		return 0
	}
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
	return v[len(v)/2]
}

// ViewerCount returns how many HLS players are watching track now
// (counted as described above; 0 for a track with no stream).
func (s *Server) ViewerCount(track string) int {
	m := s.muxer(track)
	if m == nil {
		return 0
	}
	return m.viewers.count(m.cur.Load(), time.Now())
}

// ViewerCounts returns ViewerCount for every track the packager serves.
func (s *Server) ViewerCounts() map[string]int {
	s.mu.RLock()
	ms := make([]*muxer, 0, len(s.muxers))
	for _, m := range s.muxers {
		ms = append(ms, m)
	}
	s.mu.RUnlock()
	now := time.Now()
	out := make(map[string]int, len(ms))
	for _, m := range ms {
		out[m.track] = m.viewers.count(m.cur.Load(), now)
	}
	return out
}
