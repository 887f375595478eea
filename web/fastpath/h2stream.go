package fastpath

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2stream is one request on an HTTP/2 connection. Its fields other than
// id, c and ctx are guarded by c.mu.
type h2stream struct {
	id     uint32
	c      *h2conn
	ctx    context.Context
	cancel context.CancelFunc

	sendWindow int64
	reset      bool    // ended by either side; writes fail
	body       *h2body // nil when the request has none
	recvWindow int64   // body bytes the client may still send
	declared   int64   // the request's Content-Length, -1 if none
	received   int64
}

func (h *h2conn) handleHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	h.mu.Lock()
	if id <= h.maxClientID {
		st := h.streams[id]
		h.mu.Unlock()
		if st == nil || st.body == nil {
			return http2.ConnectionError(http2.ErrCodeStreamClosed)
		}
		// Trailers end the body; kast's handlers read none.
		if !f.StreamEnded() {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
		return h.endBody(st)
	}
	h.maxClientID = id
	refuse := h.sentGoAway || h.closed || h.s.closing.Load() || h.handlersRunning >= h2MaxStreams
	h.mu.Unlock()
	if refuse {
		if h.s.closing.Load() {
			h.goAway(http2.ErrCodeNo)
		}
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	}

	r, status, err := h.newRequest(f)
	if err != nil {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol, Cause: err}
	}
	ctx, cancel := context.WithCancel(h.s.ctx)
	st := &h2stream{id: id, c: h, ctx: ctx, cancel: cancel, declared: r.ContentLength}
	r = r.WithContext(ctx)

	h.mu.Lock()
	st.sendWindow = h.peerWindow
	if !f.StreamEnded() {
		st.body = newH2Body(st)
		st.recvWindow = h2StreamWindow
		r.Body = st.body
	}
	h.streams[id] = st
	h.handlersRunning++
	h.c.state.CompareAndSwap(stateIdle, stateActive)
	h.mu.Unlock()

	var handler http.Handler
	switch {
	case status != 0:
		handler = statusHandler(status)
	case st.body == nil && h.s.takes(r.Method, r.URL.Path, r.URL.RawPath):
		h.s.stats.requests.Add(1)
		h.s.stats.h2requests.Add(1)
		u := *r.URL
		u.Path = strings.TrimPrefix(u.Path, h.s.StripPrefix)
		r.URL = &u
		handler = h.s.Handler
	default:
		r = r.WithContext(context.WithValue(ctx, h2originKey{}, &h.origin))
		handler = h.s.h2fallback()
	}
	if st.body != nil && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		// The client waits for a word before it sends the body: it gets it
		// now (RFC 9110 10.1.1), and the handler a request without Expect.
		r.Header.Del("Expect")
		if err := h.write(func() error { return h.writeContinue(id) }); err != nil {
			return err
		}
	}
	h.s.wg.Add(1)
	go st.run(handler, r)
	return nil
}

// writeContinue writes an interim 100 (Continue) response; h.wmu is held.
func (h *h2conn) writeContinue(id uint32) error {
	h.hbuf.b = h.hbuf.b[:0]
	h.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "100"})
	return h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.hbuf.b, EndHeaders: true})
}

// statusHandler answers what needs no handler: 431 for headers over the
// limit, 405 for CONNECT (no extended CONNECT is offered), 200 for
// OPTIONS *.
type statusHandler int

func (s statusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s == http.StatusOK {
		w.Header().Set("Content-Length", "0")
		return
	}
	http.Error(w, http.StatusText(int(s)), int(s))
}

// newRequest makes the request of a HEADERS frame; status is set when the
// request is answered without a handler.
func (h *h2conn) newRequest(f *http2.MetaHeadersFrame) (r *http.Request, status int, err error) {
	method, path := f.PseudoValue("method"), f.PseudoValue("path")
	scheme, authority := f.PseudoValue("scheme"), f.PseudoValue("authority")
	if f.PseudoValue("protocol") != "" {
		return nil, 0, fmt.Errorf("extended CONNECT was not offered")
	}
	r = &http.Request{
		Method:     method,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     make(http.Header, len(f.Fields)),
		Host:       authority,
		RemoteAddr: h.remote.String(),
		RequestURI: path,
		TLS:        h.tls,
		Body:       http.NoBody,
	}
	for _, hf := range f.RegularFields() {
		k := http.CanonicalHeaderKey(hf.Name)
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
			return nil, 0, fmt.Errorf("connection-specific header %q", hf.Name)
		case "Te":
			if hf.Value != "trailers" {
				return nil, 0, fmt.Errorf("te: %q", hf.Value)
			}
		case "Cookie":
			// RFC 9113 8.2.3: crumbs may come as fields of their own.
			if c := r.Header["Cookie"]; len(c) == 1 {
				c[0] += "; " + hf.Value
				continue
			}
		}
		r.Header[k] = append(r.Header[k], hf.Value)
	}
	if f.Truncated {
		return r, http.StatusRequestHeaderFieldsTooLarge, nil
	}
	if method == http.MethodConnect {
		return r, http.StatusMethodNotAllowed, nil
	}
	if method == "" || scheme == "" || path == "" {
		return nil, 0, fmt.Errorf("missing pseudo-header")
	}
	if r.Host == "" {
		r.Host = r.Header.Get("Host")
	}
	if method == http.MethodOptions && path == "*" {
		r.URL = &url.URL{Path: "*"}
		return r, http.StatusOK, nil
	}
	if path[0] != '/' {
		return nil, 0, fmt.Errorf("bad :path %q", path)
	}
	if r.URL, err = url.ParseRequestURI(path); err != nil {
		return nil, 0, err
	}
	r.ContentLength = -1
	if f.StreamEnded() {
		r.ContentLength = 0
	}
	if v := r.Header["Content-Length"]; len(v) > 0 {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if len(v) > 1 || err != nil || n < 0 || (f.StreamEnded() && n != 0) {
			return nil, 0, fmt.Errorf("bad content-length %q", v)
		}
		r.ContentLength = n
	}
	return r, 0, nil
}

// run serves the stream's request and ends the stream.
func (st *h2stream) run(handler http.Handler, r *http.Request) {
	h := st.c
	w := &h2response{st: st, req: r, header: http.Header{}, length: -1}
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			h.s.Logger.Error("http handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(buf))
			w.abort()
		} else if v != nil {
			w.abort()
		} else {
			w.finish()
		}
		h.mu.Lock()
		bodyLeft := st.body != nil && !st.body.ended()
		h.endStreamLocked(st, errH2Closed)
		h.handlersRunning--
		if h.handlersRunning == 0 && len(h.streams) == 0 {
			h.c.state.CompareAndSwap(stateActive, stateIdle)
		}
		h.mu.Unlock()
		if bodyLeft && !w.aborted {
			// The response is complete; the rest of the body is not wanted.
			h.write(func() error { return h.fr.WriteRSTStream(st.id, http2.ErrCodeNo) })
		}
		h.s.wg.Done()
	}()
	handler.ServeHTTP(w, r)
}

// handleData passes request body bytes to the stream's handler.
func (h *h2conn) handleData(f *http2.DataFrame) error {
	id, n := f.StreamID, int64(f.Length)
	h.mu.Lock()
	if n > h.recvWindow {
		h.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	h.recvWindow -= n
	st := h.streams[id]
	if st == nil || st.body == nil || st.body.ended() {
		// A stream that ended: the connection's window is given back.
		h.recvWindow += n
		idle := id > h.maxClientID
		h.mu.Unlock()
		if idle {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		if n > 0 {
			h.write(func() error { return h.fr.WriteWindowUpdate(0, uint32(n)) })
		}
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	if n > st.recvWindow {
		h.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	st.recvWindow -= n
	data := f.Data()
	st.received += int64(len(data))
	// Padding is not handed on; it is given back with the data.
	padding := n - int64(len(data))
	h.recvConsumed += padding
	if st.declared >= 0 && st.received > st.declared {
		h.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	st.body.put(data)
	h.mu.Unlock()
	if f.StreamEnded() {
		return h.endBody(st)
	}
	return nil
}

// endBody marks the end of a stream's request body.
func (h *h2conn) endBody(st *h2stream) error {
	h.mu.Lock()
	short := st.declared >= 0 && st.received != st.declared
	if !short {
		st.body.closeWithError(nil)
	}
	h.mu.Unlock()
	if short {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	return nil
}

// consumed is called as a handler reads n body bytes: once enough is read,
// the client may send that much again.
func (st *h2stream) consumed(n int) {
	h := st.c
	h.mu.Lock()
	h.recvConsumed += int64(n)
	var connInc, streamInc uint32
	if h.recvConsumed >= h2ConnWindow/4 {
		connInc = uint32(h.recvConsumed)
		h.recvWindow += h.recvConsumed
		h.recvConsumed = 0
	}
	if !st.reset && !st.body.ended() {
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
