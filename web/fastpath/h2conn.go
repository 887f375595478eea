package fastpath

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// HTTP/2 connections (RFC 9113) of browsers on the TLS listener are served
// here rather than by net/http, whose server costs about four times the
// CPU of the HTTP/1.1 fast path per request: a goroutine per stream plus
// every frame handed between it and the connection's serve loop, a frame
// writer goroutine per large frame and a system call per 16-KB frame.
// Here a stream's goroutine writes its response itself: HEADERS and DATA
// frames go into one buffer and out in one write, under the connection's
// write lock. Fast-path requests run the fast path's Handler; every other
// request goes through an in-memory HTTP/1.1 connection to the fallback
// server (h2fallback.go), so the pages and the API keep net/http's
// semantics. x/net/http2's Framer reads and writes the frames and its hpack
// package the header blocks.

// Limits of an HTTP/2 connection.
const (
	h2MaxStreams    = 100       // concurrent streams a client may open
	h2MaxCanonNames = 64        // header names a connection keeps canonical forms of
	h2StreamWindow  = 64 << 10  // request body bytes a stream may send ahead
	h2ConnWindow    = 1 << 20   // request body bytes all streams may send ahead
	h2MaxResetRate  = 200       // client RST_STREAMs per second before GOAWAY
	h2MaxFrameSize  = 16 << 10  // the largest frame read (the protocol's default)
	h2WriteChunk    = 64 << 10  // response bytes written per flush
	h2DefaultWindow = 65535     // RFC 9113 6.9.2
	h2MaxWindow     = 1<<31 - 1 // RFC 9113 6.9.1
)

var errH2Closed = errors.New("fastpath: http2 stream closed")

// h2conn is one HTTP/2 connection.
type h2conn struct {
	s      *Server
	c      *conn    // the fast-path connection it started as (tracking, state)
	tc     net.Conn // a *tls.Conn but in tests
	tls    *tls.ConnectionState
	remote net.Addr
	origin h2origin // remote and tls, for the fallback's requests
	fr     *http2.Framer
	out    h2out

	// The reader's own.
	rd           *countingReader
	readDeadline time.Time
	reqTmpl      http.Request      // what every request of the connection shares
	canon        map[string]string // header names seen, canonical (CanonicalHeaderKey allocates)

	// wmu guards the framer's writes, out, enc and hbuf: one goroutine
	// writes frames at a time, and flushes before it lets go.
	wmu  sync.Mutex
	enc  *hpack.Encoder
	hbuf h2out

	// mu guards what follows; cond is signalled when a send window grows,
	// a stream ends or the connection closes.
	mu              sync.Mutex
	cond            *sync.Cond
	streams         map[uint32]*h2stream
	maxClientID     uint32     // highest stream the client opened
	lastServed      uint32     // highest stream taken for serving (GOAWAY's last stream)
	ourResets       [64]uint32 // streams we reset lately: their late frames are dropped
	ourResetNext    int
	sendWindow      int64 // connection-level send window
	peerWindow      int64 // the client's SETTINGS_INITIAL_WINDOW_SIZE
	peerMaxFrame    int
	recvWindow      int64 // what the client may still send on the connection
	recvConsumed    int64 // body bytes read by handlers, not yet granted again
	closed          bool
	sentGoAway      bool
	resets          int // client RST_STREAMs in this second
	resetSecond     int64
	writeErr        error
	handlersRunning int
}

// h2out is a write buffer the framer appends to; flush sends it.
type h2out struct{ b []byte }

func (o *h2out) Write(p []byte) (int, error) { o.b = append(o.b, p...); return len(p), nil }

var h2BufPool = sync.Pool{New: func() any { b := make([]byte, 0, h2WriteChunk+h2MaxFrameSize+1024); return &b }}

// serveH2 serves the HTTP/2 connection tc on the fast path until it ends.
func (c *conn) serveH2(tc net.Conn, st *tls.ConnectionState) {
	h := &h2conn{
		s:            c.s,
		c:            c,
		tc:           tc,
		tls:          st,
		remote:       tc.RemoteAddr(),
		streams:      map[uint32]*h2stream{},
		sendWindow:   h2DefaultWindow,
		peerWindow:   h2DefaultWindow,
		peerMaxFrame: h2MaxFrameSize,
		recvWindow:   h2ConnWindow,
	}
	h.origin = h2origin{remote: h.remote, tls: st}
	h.reqTmpl = http.Request{
		Proto: "HTTP/2.0", ProtoMajor: 2, RemoteAddr: h.remote.String(), TLS: st, Body: http.NoBody,
	}
	h.canon = make(map[string]string, 16)
	h.cond = sync.NewCond(&h.mu)
	h.enc = hpack.NewEncoder(&h.hbuf)
	c.s.stats.h2conns.Add(1)
	c.state.Store(stateIdle)
	c.h2.Store(h)
	h.serve()
	c.h2.Store(nil)
	c.s.stats.h2conns.Add(-1)
}

func (h *h2conn) serve() {
	defer h.close()
	br := bufio.NewReaderSize(h.tc, 4<<10)
	h.tc.SetReadDeadline(time.Now().Add(h.s.ReadHeaderTimeout))
	var preface [len(http2.ClientPreface)]byte
	if _, err := io.ReadFull(br, preface[:]); err != nil || string(preface[:]) != http2.ClientPreface {
		return
	}
	h.rd = &countingReader{r: br}
	h.fr = http2.NewFramer(&h.out, h.rd)
	h.fr.SetMaxReadFrameSize(h2MaxFrameSize)
	h.fr.MaxHeaderListSize = uint32(h.s.MaxHeaderBytes)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.fr.SetReuseFrames()

	if err := h.write(func() error {
		if err := h.fr.WriteSettings(
			http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(h.s.MaxHeaderBytes)},
		); err != nil {
			return err
		}
		return h.fr.WriteWindowUpdate(0, h2ConnWindow-h2DefaultWindow)
	}); err != nil {
		return
	}

	first := true
	for {
		if br.Buffered() == 0 {
			// As on HTTP/1.1 (conn.serve): the stream just taken runs
			// first, and with the other connections' work done, the
			// client's next frames have often arrived, which saves a read
			// that would return EAGAIN and a trip through the poller.
			runtime.Gosched()
		}
		h.renewReadDeadline()
		h.rd.n = 0
		h.headerDeadline(br)
		f, err := h.fr.ReadFrame()
		if err != nil {
			if h.readError(err) {
				continue
			}
			h.linger(br)
			return
		}
		if first {
			// The client's preface ends with a SETTINGS frame.
			if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
				h.goAway(http2.ErrCodeProtocol)
				return
			}
			first = false
		}
		if err := h.handle(f); err != nil {
			var ce http2.ConnectionError
			var se http2.StreamError
			switch {
			case errors.As(err, &ce):
				h.goAway(http2.ErrCode(ce))
				h.linger(br)
				return
			case errors.As(err, &se):
				h.resetStream(se.StreamID, se.Code)
			default:
				return
			}
		}
	}
}

// linger reads and drops what the client still sends after a GOAWAY, for
// up to a second, before the connection closes: closing a socket with
// unread bytes resets it, and the client would never read the GOAWAY.
func (h *h2conn) linger(br *bufio.Reader) {
	h.mu.Lock()
	sent := h.sentGoAway && h.writeErr == nil
	h.mu.Unlock()
	if !sent {
		return
	}
	h.tc.SetReadDeadline(time.Now().Add(time.Second))
	io.Copy(io.Discard, br)
}

// renewReadDeadline keeps the read deadline at least half of IdleTimeout
// away, without touching the timer for every frame; readError decides,
// when it passes, whether the connection was idle.
func (h *h2conn) renewReadDeadline() {
	now := time.Now()
	if h.readDeadline.Sub(now) >= h.s.IdleTimeout/2 {
		return
	}
	h.readDeadline = now.Add(h.s.IdleTimeout)
	h.tc.SetReadDeadline(h.readDeadline)
}

// headerDeadline gives a request's header block that has not arrived whole
// ReadHeaderTimeout to come, as on HTTP/1.1, instead of the idle timeout: a
// client trickling its HEADERS and CONTINUATION frames would otherwise hold
// the connection for minutes. Most blocks come whole in one record, and the
// deadline is not touched for them.
func (h *h2conn) headerDeadline(br *bufio.Reader) {
	hdr, err := br.Peek(9)
	if err != nil || http2.FrameType(hdr[3]) != http2.FrameHeaders {
		return // a read error comes again in ReadFrame
	}
	length := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
	if http2.Flags(hdr[4]).Has(http2.FlagHeadersEndHeaders) && br.Buffered() >= 9+length {
		return
	}
	h.tc.SetReadDeadline(time.Now().Add(h.s.ReadHeaderTimeout))
	h.readDeadline = time.Time{} // the next renewReadDeadline sets the idle one again
}

// countingReader counts the bytes the framer took since n was zeroed: a
// read deadline that passes before a frame began leaves it in step, one
// that passes in the middle of a frame does not.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// readError handles an error of ReadFrame and reports whether reading goes on.
func (h *h2conn) readError(err error) bool {
	var se http2.StreamError
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &se):
		h.mu.Lock()
		if se.StreamID > h.maxClientID && se.StreamID%2 == 1 {
			h.maxClientID = se.StreamID // a rejected HEADERS still uses up its id
		}
		h.mu.Unlock()
		h.resetStream(se.StreamID, se.Code)
		return true
	case errors.As(err, &ce):
		h.goAway(http2.ErrCode(ce))
		return false
	case errors.Is(err, http2.ErrFrameTooLarge):
		h.goAway(http2.ErrCodeFrameSize)
		return false
	case errors.Is(err, os.ErrDeadlineExceeded):
		h.mu.Lock()
		busy := len(h.streams) > 0 || h.handlersRunning > 0
		h.mu.Unlock()
		if busy && h.rd.n == 0 {
			return true // a long response: the client owes us nothing meanwhile
		}
		h.goAway(http2.ErrCodeNo) // idle, or stalled in the middle of a frame
		return false
	}
	return false
}

// handle processes one frame from the client.
func (h *h2conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		return h.handleSettings(f)
	case *http2.MetaHeadersFrame:
		return h.handleHeaders(f)
	case *http2.DataFrame:
		return h.handleData(f)
	case *http2.WindowUpdateFrame:
		return h.handleWindowUpdate(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		return h.write(func() error { return h.fr.WritePing(true, f.Data) })
	case *http2.RSTStreamFrame:
		return h.handleReset(f)
	case *http2.GoAwayFrame:
		// The client opens no more streams; those running finish.
		return nil
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
		return nil
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	default:
		return nil // unknown frame types are ignored (RFC 9113 4.1)
	}
}

func (h *h2conn) handleSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			h.mu.Lock()
			delta := int64(s.Val) - h.peerWindow
			h.peerWindow = int64(s.Val)
			for _, st := range h.streams {
				st.sendWindow += delta
				if st.sendWindow > h2MaxWindow {
					h.mu.Unlock()
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
			}
			h.cond.Broadcast()
			h.mu.Unlock()
		case http2.SettingMaxFrameSize:
			h.mu.Lock()
			h.peerMaxFrame = int(s.Val)
			h.mu.Unlock()
		case http2.SettingHeaderTableSize:
			h.wmu.Lock()
			h.enc.SetMaxDynamicTableSizeLimit(s.Val)
			h.wmu.Unlock()
		}
		return nil
	}); err != nil {
		return err
	}
	return h.write(h.fr.WriteSettingsAck)
}

func (h *h2conn) handleWindowUpdate(f *http2.WindowUpdateFrame) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f.StreamID == 0 {
		h.sendWindow += int64(f.Increment)
		if h.sendWindow > h2MaxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		h.cond.Broadcast()
		return nil
	}
	st := h.streams[f.StreamID]
	if st == nil {
		if f.StreamID > h.maxClientID {
			return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream
		}
		return nil // a stream that just ended
	}
	st.sendWindow += int64(f.Increment)
	if st.sendWindow > h2MaxWindow {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	h.cond.Broadcast()
	return nil
}

func (h *h2conn) handleReset(f *http2.RSTStreamFrame) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f.StreamID > h.maxClientID {
		return http2.ConnectionError(http2.ErrCodeProtocol) // idle stream
	}
	// Rapid reset (CVE-2023-44487): a handler of a reset stream still counts
	// against the stream limit until it returns, and a client that resets
	// streams faster than any player would is sent away.
	if now := time.Now().Unix(); now != h.resetSecond {
		h.resetSecond, h.resets = now, 0
	}
	h.resets++
	if st := h.streams[f.StreamID]; st != nil {
		st.peerReset = true
		h.endStreamLocked(st, errH2Closed)
	}
	if h.resets > h2MaxResetRate {
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	}
	return nil
}

// endStreamLocked forgets st and wakes whoever waits on it; its handler,
// if running, finds its writes failing. h.mu is held.
func (h *h2conn) endStreamLocked(st *h2stream, err error) {
	if _, ok := h.streams[st.id]; !ok {
		return
	}
	delete(h.streams, st.id)
	st.reset = true
	st.cancel()
	if st.body != nil {
		// What the handler did not read is the connection's again.
		h.recvConsumed += int64(st.body.closeWithError(err))
	}
	h.cond.Broadcast()
}

// resetStream ends a stream with RST_STREAM.
func (h *h2conn) resetStream(id uint32, code http2.ErrCode) {
	h.mu.Lock()
	if st := h.streams[id]; st != nil {
		st.localReset = true
		h.endStreamLocked(st, errH2Closed)
	}
	h.mu.Unlock()
	h.sendReset(id, code)
}

// sendReset writes RST_STREAM and remembers the stream: frames the client
// sent before it saw the reset are dropped, not answered (RFC 9113 5.1).
func (h *h2conn) sendReset(id uint32, code http2.ErrCode) {
	h.mu.Lock()
	h.ourResets[h.ourResetNext] = id
	h.ourResetNext = (h.ourResetNext + 1) % len(h.ourResets)
	h.mu.Unlock()
	h.write(func() error { return h.fr.WriteRSTStream(id, code) })
}

// resetByUsLocked reports whether we reset stream id lately; h.mu is held.
func (h *h2conn) resetByUsLocked(id uint32) bool {
	for _, r := range h.ourResets {
		if r == id {
			return true
		}
	}
	return false
}

// grant sends WINDOW_UPDATE for the connection once enough of what the
// client sent was read or dropped, and for the stream st (if not nil) when
// its handler read half its window.
func (h *h2conn) grant(st *h2stream) {
	h.mu.Lock()
	var connInc, streamInc uint32
	if h.recvConsumed >= h2ConnWindow/4 {
		connInc = uint32(h.recvConsumed)
		h.recvWindow += h.recvConsumed
		h.recvConsumed = 0
	}
	if st != nil && !st.reset && st.body != nil && !st.body.ended() {
		if used := h2StreamWindow - st.recvWindow - int64(st.body.buffered()); used >= h2StreamWindow/2 {
			streamInc = uint32(used)
			st.recvWindow += used
		}
	}
	h.mu.Unlock()
	if connInc == 0 && streamInc == 0 {
		return
	}
	h.write(func() error {
		if connInc > 0 {
			if err := h.fr.WriteWindowUpdate(0, connInc); err != nil {
				return err
			}
		}
		if streamInc > 0 {
			return h.fr.WriteWindowUpdate(st.id, streamInc)
		}
		return nil
	})
}

// goneAway reports whether the client was sent a GOAWAY.
func (h *h2conn) goneAway() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sentGoAway
}

// goAway tells the client no stream after the last one taken will be served.
func (h *h2conn) goAway(code http2.ErrCode) {
	h.mu.Lock()
	if h.sentGoAway {
		h.mu.Unlock()
		return
	}
	h.sentGoAway = true
	last := h.lastServed
	h.mu.Unlock()
	h.write(func() error { return h.fr.WriteGoAway(last, code, nil) })
}

// write runs fn, which writes frames, under the write lock and flushes.
func (h *h2conn) write(fn func() error) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if err := h.begin(); err != nil {
		return err
	}
	if err := fn(); err != nil {
		h.out.b = h.out.b[:0]
		return err
	}
	return h.flush()
}

// begin gives out a buffer for the frames about to be written; h.wmu is held.
func (h *h2conn) begin() error {
	h.mu.Lock()
	err := h.writeErr
	h.mu.Unlock()
	if err != nil {
		return err
	}
	if h.out.b == nil {
		bp := h2BufPool.Get().(*[]byte)
		h.out.b = (*bp)[:0]
	}
	return nil
}

// flush sends what the framer wrote, in one system call (the records go
// to a corked connection), and gives the buffer back; h.wmu is held.
func (h *h2conn) flush() error {
	var err error
	if len(h.out.b) > 0 {
		if err = h.c.setWriteDeadline(); err == nil {
			cc := corkOf(h.tc)
			if cc != nil {
				cc.cork()
			}
			_, err = h.tc.Write(h.out.b)
			if cc != nil {
				if uerr := cc.uncork(); err == nil {
					err = uerr
				}
			}
		}
	}
	b := h.out.b[:0]
	h.out.b = nil
	h2BufPool.Put(&b)
	if err != nil {
		h.mu.Lock()
		if h.writeErr == nil {
			h.writeErr = err
		}
		h.cond.Broadcast()
		h.mu.Unlock()
		h.tc.Close() // the reader and every stream see it
	}
	return err
}

// close ends every stream and the connection.
func (h *h2conn) close() {
	h.mu.Lock()
	h.closed = true
	for _, st := range h.streams {
		h.endStreamLocked(st, net.ErrClosed)
	}
	if h.writeErr == nil {
		h.writeErr = net.ErrClosed
	}
	h.cond.Broadcast()
	h.mu.Unlock()
	h.tc.Close()
}
