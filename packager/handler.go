package packager

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Cache-Control values. Parts, segments and init segments never change
// under their name. A blocking playlist request for a given _HLS_msn and
// _HLS_part always gets a playlist that contains that part, so a cache in
// front may share it for a while; a plain playlist request must see the
// newest one.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheBlocking  = "public, max-age=1"
	cacheLive      = "no-cache"
)

const (
	typePlaylist = "application/vnd.apple.mpegurl"
	typeMP4      = "video/mp4"
	typeM4S      = "video/iso.segment"
)

// advancePartLimit is how many parts past the last one a blocking request
// may ask for (RFC 8216bis 6.2.5.2).
const advancePartLimit = 3

// handler serves one request for a track's files.
type handler struct {
	s    *Server
	m    *muxer                    // the track's
	cur  *atomic.Pointer[snapshot] // the track's, or a rendition's
	w    http.ResponseWriter
	r    *http.Request
	kind fileKind
	// private: the track is for credentialed viewers (Server.Private),
	// so no shared cache may keep its responses.
	private bool
}

func (h *handler) multivariant() {
	snap := h.cur.Load()
	if snap.gone || snap.multivariant == nil || snap.playlist == nil {
		h.s.error(h.w, h.kind, http.StatusNotFound, "no live stream on this track")
		return
	}
	h.writePlaylist(headerLive, snap.multivariant, snap.multivariantLen)
}

func (h *handler) media() {
	msnArg, partArg, skipArg := hlsQuery(h.r.URL.RawQuery)
	if partArg != "" && msnArg == "" {
		h.s.error(h.w, h.kind, http.StatusBadRequest, "_HLS_part requires _HLS_msn")
		return
	}
	skip := skipArg == "YES" || skipArg == "v2"
	if msnArg == "" {
		snap := h.cur.Load()
		if snap.gone || snap.playlist == nil {
			h.s.error(h.w, h.kind, http.StatusNotFound, "no live stream on this track")
			return
		}
		// Only a request with no directive at all is held: players start
		// with one, and gohlslib's client reloads with _HLS_skip alone.
		if h.s.Config.JoinHold != JoinAtOnce && snap.live && skipArg == "" {
			if snap = h.joinHold(snap); snap == nil {
				h.s.metrics.request(h.kind, 0) // the client went away
				return
			}
		}
		body, length := pickPlaylist(snap, skip)
		h.writePlaylist(headerLive, body, length)
		return
	}

	msn, err1 := strconv.Atoi(msnArg)
	part := -1
	var err2 error
	if partArg != "" {
		part, err2 = strconv.Atoi(partArg)
	}
	if err1 != nil || err2 != nil || msn < 0 || (partArg != "" && part < 0) {
		h.s.error(h.w, h.kind, http.StatusBadRequest, "invalid _HLS_msn or _HLS_part")
		return
	}
	snap := h.cur.Load()
	if !snap.gone && h.tooFarAhead(snap, msn, part) {
		h.s.error(h.w, h.kind, http.StatusBadRequest, "_HLS_msn/_HLS_part too far ahead of the live edge")
		return
	}
	h.m.viewers.waitingPlaylists.Add(1)
	defer h.m.viewers.waitingPlaylists.Add(-1)
	snap, status := h.wait(snap, func(s *snapshot) bool { return s.playlist != nil && s.has(msn, part) })
	if status != http.StatusOK {
		h.waitFailed(status)
		return
	}
	body, length := pickPlaylist(snap, skip)
	h.writePlaylist(headerBlocking, body, length)
}

// joinHold waits for the snapshot to answer a player's first playlist
// request with (see JoinHold). It returns nil if the request was
// cancelled, and the newest snapshot when the wait times out.
func (h *handler) joinHold(snap *snapshot) *snapshot {
	cfg := &h.s.Config
	// Parts of the open segment past PART-HOLD-BACK: a player's start
	// position is then inside the segment's first part rather than on a
	// part boundary, where rounding could put it in the part before the
	// keyframe.
	parts := int(cfg.PartHoldBack/cfg.PartTarget) + 1
	timer := time.NewTimer(cfg.SegmentTarget + 2*cfg.PartTarget)
	defer timer.Stop()
	h.s.metrics.blocked.Add(1)
	defer h.s.metrics.blocked.Add(-1)
	done := h.r.Context().Done()
	first := snap.nextPart
	for {
		// A snapshot is published per part, but a slow request may see
		// only every other one: look for the open segment reaching the
		// parts since the last snapshot seen.
		prevMSN, prevParts := snap.msn, snap.parts
		select {
		case <-snap.next:
			next := h.cur.Load()
			if next.gone || next.playlist == nil || !next.live {
				return snap
			}
			snap = next
		case <-timer.C:
			return snap
		case <-done:
			return nil
		}
		if snap.nextPart == first {
			continue
		}
		if snap.parts >= parts && (snap.msn != prevMSN || prevParts < parts) {
			return snap
		}
	}
}

// hlsQuery returns the delivery directives of a playlist request. Their
// values are plain numbers and words, so no unescaping is needed; this
// avoids the map url.Values builds for every blocking request.
func hlsQuery(raw string) (msn, part, skip string) {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "_HLS_msn":
			msn = v
		case "_HLS_part":
			part = v
		case "_HLS_skip":
			skip = v
		}
	}
	return msn, part, skip
}

func pickPlaylist(s *snapshot, skip bool) ([]byte, []string) {
	if skip && s.delta != nil {
		return s.delta, s.deltaLen
	}
	return s.playlist, s.playlistLen
}

// writePlaylist sends a playlist with its Content-Length value, computed
// once per snapshot.
func (h *handler) writePlaylist(cache []string, body []byte, length []string) {
	h.header(headerPlaylist, cache, length)
	if h.r.Method != http.MethodHead {
		h.w.Write(body)
	}
}

// tooFarAhead applies RFC 8216bis 6.2.5.2: more than two segments or more
// than the Advance Part Limit past the live edge is a bad request.
func (h *handler) tooFarAhead(s *snapshot, msn, part int) bool {
	switch {
	case msn > s.msn+2:
		return true
	case msn == s.msn:
		return part >= s.parts+advancePartLimit
	case msn > s.msn:
		perSegment := int(time.Duration(s.targetDur)*time.Second/h.s.Config.PartTarget) + 1
		return part >= perSegment+advancePartLimit
	}
	return false
}

func (h *handler) file(epoch string, n int64) {
	if h.kind == filePart && h.m.viewers.partRequest(h.r, n) {
		defer h.m.viewers.waitingParts.Add(-1)
	}
	snap := h.cur.Load()
	if snap.gone || epoch != snap.epoch {
		h.s.error(h.w, h.kind, http.StatusNotFound, "not found")
		return
	}
	switch h.kind {
	case fileInit:
		if b, ok := snap.inits[int(n)]; ok {
			h.write(typeMP4, cacheImmutable, b)
			return
		}
	case fileSegment:
		if seg := snap.segment(int(n)); seg != nil {
			h.writeSegment(seg)
			return
		}
	case filePart:
		if p := snap.part(n); p != nil {
			h.writePart(p)
			return
		}
		// The hinted part streams as it is built; the couple after it
		// are worth waiting for.
		if n >= snap.nextPart && n < snap.nextPart+advancePartLimit {
			ready := func(s *snapshot) bool { return s.nextPart >= n }
			if h.s.Config.HoldHintedPart {
				ready = func(s *snapshot) bool { return s.nextPart > n }
			}
			snap, status := h.wait(snap, ready)
			if status != http.StatusOK {
				h.waitFailed(status)
				return
			}
			if p := snap.part(n); p != nil {
				h.writePart(p)
				return
			}
			if snap.building != nil && snap.building.n == n {
				h.stream(snap.building, snap.targetDur)
				return
			}
		}
	}
	h.s.error(h.w, h.kind, http.StatusNotFound, "not found")
}

// abortStream breaks off a streamed part that will not be completed. The
// connection is reset instead of ending the chunked body cleanly, so that
// neither the player nor a cache in front takes a truncated part for the
// immutable whole.
func abortStream() { panic(http.ErrAbortHandler) }

// stream sends the chunks of a part as they are built, without
// Content-Length, flushing after each.
func (h *handler) stream(ps *partStream, targetDur int) {
	hd := h.w.Header()
	hd["Content-Type"] = headerM4S
	hd["Cache-Control"] = h.cacheControl(headerImmutable)
	h.w.WriteHeader(http.StatusOK)
	h.s.metrics.request(h.kind, http.StatusOK)
	if h.r.Method == http.MethodHead {
		return
	}
	h.s.metrics.blocked.Add(1)
	defer h.s.metrics.blocked.Add(-1)
	rc := http.NewResponseController(h.w)
	timer := time.NewTimer(time.Duration(3*max(targetDur, 1)) * time.Second)
	defer timer.Stop()
	done := h.r.Context().Done()
	interval := h.s.Config.StreamInterval
	written := 0
	var last time.Time
	var holdTimer *time.Timer // ends a hold when no further frame comes
	var holdFor time.Time     // the write holdTimer counts from
	defer func() {
		if holdTimer != nil {
			holdTimer.Stop()
		}
	}()
	for {
		chunks, finished, complete, wake := ps.read(written)
		// After the first frames, frames closer together than interval
		// go out in one write.
		hold := !finished && interval > 0 && written > 0 && time.Since(last) < interval
		if len(chunks) > 0 && !hold {
			if err := h.writeChunks(chunks); err != nil {
				return
			}
			written += len(chunks)
			last = time.Now()
			continue
		}
		if finished {
			if !complete {
				abortStream()
			}
			return
		}
		var holdEnd <-chan time.Time
		if hold {
			wake = ps.waitBeyond(written + len(chunks))
			if len(chunks) > 0 {
				// Frames are held: they go out with the first frame
				// packaged after the interval, or at twice the interval
				// if the publisher pauses. Waking on the next frame
				// rather than on a timer keeps timers from firing for
				// every viewer.
				// The timer is set once per write, not per frame.
				if holdTimer == nil {
					holdTimer = time.NewTimer(time.Until(last.Add(2 * interval)))
					holdFor = last
				} else if holdFor != last {
					holdTimer.Reset(time.Until(last.Add(2 * interval)))
					holdFor = last
				}
				holdEnd = holdTimer.C
			}
		}
		if wake == nil {
			continue
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-wake:
		case <-holdEnd:
		case <-done:
			abortStream()
		case <-timer.C:
			abortStream()
		}
	}
}

// wait blocks until ready accepts a snapshot, the request is cancelled,
// the track goes away or the blocking timeout passes.
func (h *handler) wait(snap *snapshot, ready func(*snapshot) bool) (*snapshot, int) {
	if snap.gone {
		return nil, http.StatusNotFound
	}
	if ready(snap) {
		return snap, http.StatusOK
	}
	// RFC 8216bis 6.2.5.2: three target durations.
	timer := time.NewTimer(time.Duration(3*max(snap.targetDur, 1)) * time.Second)
	defer timer.Stop()
	h.s.metrics.blocked.Add(1)
	defer h.s.metrics.blocked.Add(-1)
	done := h.r.Context().Done()
	for {
		select {
		case <-snap.next:
			snap = h.cur.Load()
			if snap.gone {
				return nil, http.StatusNotFound
			}
			if ready(snap) {
				return snap, http.StatusOK
			}
		case <-done:
			return nil, 0
		case <-timer.C:
			return nil, http.StatusServiceUnavailable
		}
	}
}

func (h *handler) waitFailed(status int) {
	switch status {
	case 0: // the client went away
		h.s.metrics.request(h.kind, 0)
	case http.StatusServiceUnavailable:
		h.w.Header().Set("Retry-After", "1")
		h.s.error(h.w, h.kind, status, "the requested part is not available yet")
	default:
		h.s.error(h.w, h.kind, status, "no live stream on this track")
	}
}

// Header values shared by every response: assigning these slices instead
// of calling Header.Set saves an allocation per header per request. They
// must never be modified.
var (
	headerPlaylist  = []string{typePlaylist}
	headerMP4       = []string{typeMP4}
	headerM4S       = []string{typeM4S}
	headerImmutable = []string{cacheImmutable}
	headerBlocking  = []string{cacheBlocking}
	headerLive      = []string{cacheLive}

	headerImmutablePrivate = []string{"private, max-age=31536000, immutable"}
	headerBlockingPrivate  = []string{"private, max-age=1"}
)

// cacheControl returns cache, or its private form for a private track.
func (h *handler) cacheControl(cache []string) []string {
	if !h.private {
		return cache
	}
	switch &cache[0] {
	case &headerImmutable[0]:
		return headerImmutablePrivate
	case &headerBlocking[0]:
		return headerBlockingPrivate
	}
	return cache
}

func (h *handler) header(contentType, cache, length []string) {
	hd := h.w.Header()
	hd["Content-Type"] = contentType
	hd["Cache-Control"] = h.cacheControl(cache)
	hd["Content-Length"] = length
	h.w.WriteHeader(http.StatusOK)
	h.s.metrics.request(h.kind, http.StatusOK)
}

func (h *handler) write(contentType, cache string, body []byte) {
	ct, cc := headerPlaylist, headerLive
	switch contentType {
	case typeMP4:
		ct = headerMP4
	case typeM4S:
		ct = headerM4S
	}
	switch cache {
	case cacheImmutable:
		cc = headerImmutable
	case cacheBlocking:
		cc = headerBlocking
	}
	h.header(ct, cc, []string{strconv.Itoa(len(body))})
	if h.r.Method != http.MethodHead {
		h.w.Write(body)
	}
}

func (h *handler) writePart(p *part) {
	h.header(headerM4S, headerImmutable, p.sizeHeader)
	if h.r.Method == http.MethodHead {
		return
	}
	if p.data != nil {
		h.w.Write(p.data)
		return
	}
	h.writeChunks(p.chunks)
}

// vectored is a ResponseWriter that sends several buffers with one system
// call (the fast path's, see web/fastpath).
type vectored interface {
	WriteVector(net.Buffers) (int64, error)
}

// writeChunks sends chunks one after the other, with one system call when
// the ResponseWriter can.
func (h *handler) writeChunks(chunks [][]byte) error {
	if v, ok := h.w.(vectored); ok {
		_, err := v.WriteVector(chunks)
		return err
	}
	for _, c := range chunks {
		if _, err := h.w.Write(c); err != nil {
			return err
		}
	}
	return nil
}

// writeSegment sends the chunks of the segment's parts one after the
// other, without copying them into one buffer.
func (h *handler) writeSegment(seg *segment) {
	h.header(headerM4S, headerImmutable, []string{strconv.Itoa(seg.size())})
	if h.r.Method == http.MethodHead {
		return
	}
	h.m.viewers.segment(h.r, seg.msn)
	var bufs net.Buffers
	for _, p := range seg.parts {
		if p.data != nil {
			bufs = append(bufs, p.data)
		} else {
			bufs = append(bufs, p.chunks...)
		}
	}
	h.writeChunks(bufs)
}

func itoa(n int) string { return strconv.Itoa(n) }
