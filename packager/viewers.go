package packager

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Viewer counting. kast sees every request a player makes, so it counts
// players from their requests, not from anything they report:
//
//   - An LL-HLS player (hls.js, Apple's, gohlslib) asks for the playlist
//     once per part with _HLS_msn/_HLS_part and is answered when the part
//     is out. Every answered blocking request adds one to the count of
//     the snapshot (the part) it was answered with.
//   - A classic player (ffmpeg, VLC, hls.js without low latency) fetches
//     every segment once. Every segment response adds one to the count of
//     that segment.
//
// A track's HLS viewers are the most requests any one recent part drew
// (the parts of the last viewerWindow, not the newest, whose requests
// are still coming in) plus the most fetches any recent segment drew
// (segments completed one to three target durations ago: a classic player
// fetches a new segment within a playlist reload). A player that stops
// drops out when its last part or segment leaves that window, within about
// two seconds (LL-HLS) or four target durations (classic). While no part
// comes (the publisher reconnecting), the blocking requests waiting right
// now count instead. HEAD requests and errors count for nothing.
//
// Each request costs one atomic load and one atomic add on a counter in
// a fixed ring: no lock, no allocation.

const (
	partSlots    = 64 // ring of recent parts (power of two)
	segmentSlots = 16 // ring of recent segments (power of two)
	// viewerWindow is how far back the parts counted reach.
	viewerWindow = 2 * time.Second
)

// unitCount counts the requests one part or segment drew.
type unitCount struct {
	n     atomic.Int64 // part number or MSN the slot counts now; -1 while being reset
	count atomic.Int64
	at    atomic.Int64 // unix nanoseconds: when the part was published, the segment completed
}

// viewerCounter is a muxer's. The ring slots are (re)assigned by the
// muxer goroutine when it publishes; requests only add to them.
type viewerCounter struct {
	parts    [partSlots]unitCount
	segments [segmentSlots]unitCount
	waiting  atomic.Int64 // blocking playlist requests waiting now

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

// published opens the slots of a new part and of a newly completed
// segment. Called by the muxer after each snapshot swap.
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

// playlist counts a blocking playlist response with snapshot s.
func (v *viewerCounter) playlist(r *http.Request, s *snapshot) {
	if r.Method == http.MethodGet {
		v.parts[s.nextPart&(partSlots-1)].add(s.nextPart)
	}
}

// segment counts a segment response.
func (v *viewerCounter) segment(r *http.Request, msn int) {
	if r.Method == http.MethodGet {
		v.segments[msn&(segmentSlots-1)].add(int64(msn))
	}
}

// count returns the track's HLS viewers at now given its current
// snapshot and target duration.
func (v *viewerCounter) count(cur *snapshot, now time.Time) int {
	if cur == nil || cur.gone {
		return 0
	}
	ll := 0
	from := now.Add(-viewerWindow).UnixNano()
	for n := cur.nextPart - 1; n >= 0 && n > cur.nextPart-partSlots/2; n-- {
		c := &v.parts[n&(partSlots-1)]
		if c.n.Load() != n || c.at.Load() < from {
			break
		}
		ll = max(ll, int(c.count.Load()))
	}
	// No part within the window: the stream stalls; the players still
	// waiting for one are watching.
	ll = max(ll, int(v.waiting.Load()))

	classic := 0
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
			classic = max(classic, int(c.count.Load()))
		}
	}
	return ll + classic
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
