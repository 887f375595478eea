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
	peerReset  bool    // ended by the client's RST_STREAM
	localReset bool    // ended by ours
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
		switch {
		case st != nil && st.body != nil && !st.body.clientEnded():
			h.mu.Unlock()
			// Trailers end the body (kast's handlers read none); they
			// carry no pseudo-header and end the stream.
			if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
				return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
			}
			return h.endBody(st)
		case st != nil:
			h.mu.Unlock() // half-closed (remote): its handler still runs
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
		case h.resetByUsLocked(id):
			h.mu.Unlock()
			return nil // sent before the client saw our RST_STREAM
		}
		h.mu.Unlock()
		// A stream that ended, or an id the client skipped (RFC 9113 5.1.1).
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	h.maxClientID = id
	closing := h.s.closing.Load() || h.c.state.Load() == stateClosed
	refuse := h.sentGoAway || h.closed || closing || h.handlersRunning >= h2MaxStreams
	h.mu.Unlock()
	if refuse {
		if closing {
			h.goAway(http2.ErrCodeNo)
		}
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	}

	ctx, cancel := context.WithCancel(h.s.ctx)
	r, status, err := h.newRequest(ctx, f)
	if err != nil {
		cancel()
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol, Cause: err}
	}
	st := &h2stream{id: id, c: h, ctx: ctx, cancel: cancel, declared: r.ContentLength}

	h.mu.Lock()
	st.sendWindow = h.peerWindow
	if !f.StreamEnded() {
		st.body = newH2Body(st)
		st.recvWindow = h2StreamWindow
		r.Body = st.body
	}
	h.streams[id] = st
	h.handlersRunning++
	h.lastServed = id
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
		// With a server in the context, ReverseProxy panics with
		// ErrAbortHandler when the fallback's response is cut, and the
		// stream is reset instead of ending as if whole.
		ctx = context.WithValue(ctx, h2originKey{}, &h.origin)
		r = r.WithContext(context.WithValue(ctx, http.ServerContextKey, h.s.Fallback))
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
	h.s.workers.run(func() { st.run(handler, r) })
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

// newRequest makes the request of a HEADERS frame, with context ctx;
// status is set when the request is answered without a handler.
func (h *h2conn) newRequest(ctx context.Context, f *http2.MetaHeadersFrame) (r *http.Request, status int, err error) {
	method, path := f.PseudoValue("method"), f.PseudoValue("path")
	scheme, authority := f.PseudoValue("scheme"), f.PseudoValue("authority")
	if f.PseudoValue("protocol") != "" {
		return nil, 0, fmt.Errorf("extended CONNECT was not offered")
	}
	r = h.reqTmpl.WithContext(ctx)
	r.ContentLength = -1
	r.Method = method
	r.Host = authority
	r.RequestURI = path
	fields := f.RegularFields()
	r.Header = make(http.Header, len(fields))
	if f.StreamEnded() {
		r.ContentLength = 0
	}
	// The values share one array; a second value of a name copies.
	vals := make([]string, 0, len(fields))
	for _, hf := range fields {
		k := h.canonicalKey(hf.Name)
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
		if v := r.Header[k]; v != nil {
			r.Header[k] = append(v, hf.Value)
			continue
		}
		vals = append(vals, hf.Value)
		r.Header[k] = vals[len(vals)-1 : len(vals) : len(vals)]
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
	if v := r.Header["Content-Length"]; len(v) > 0 {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if len(v) > 1 || err != nil || !digits(v[0]) || (f.StreamEnded() && n != 0) {
			return nil, 0, fmt.Errorf("bad content-length %q", v)
		}
		r.ContentLength = n
	}
	return r, 0, nil
}

// canonicalKey is http.CanonicalHeaderKey(name), from the connection's
// cache for the names a client sends on every request.
func (h *h2conn) canonicalKey(name string) string {
	if k, ok := h.canon[name]; ok {
		return k
	}
	k := http.CanonicalHeaderKey(name)
	// Short names only, so that a client cannot make a connection keep
	// kilobytes of its own.
	if len(h.canon) < h2MaxCanonNames && len(name) <= 40 {
		h.canon[name] = k
	}
	return k
}

// digits reports whether v is a decimal number without sign (RFC 9110 8.6).
func digits(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v != ""
}

// run serves the stream's request and ends the stream.
func (st *h2stream) run(handler http.Handler, r *http.Request) {
	h := st.c
	w := newH2Response(st, r)
	defer func() {
		v := recover()
		if v != nil && v != http.ErrAbortHandler {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			h.s.Logger.Error("http handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(buf))
		}
		if v == nil {
			w.finish()
		}
		h.mu.Lock()
		bodyLeft := st.body != nil && !st.body.clientEnded()
		reset := st.peerReset || st.localReset
		h.endStreamLocked(st, errH2Closed)
		h.handlersRunning--
		if h.handlersRunning == 0 && len(h.streams) == 0 {
			h.c.state.CompareAndSwap(stateActive, stateIdle)
		}
		h.mu.Unlock()
		switch {
		case reset:
			// Reset already; none in answer to the client's (RFC 9113 5.4.2).
		case !w.ended:
			// A panic, a cut response, a client window shut too long: the
			// client must not wait on the stream, nor take it for whole.
			h.sendReset(st.id, http2.ErrCodeInternal)
		case bodyLeft:
			// The response is complete; the rest of the body is not wanted.
			h.sendReset(st.id, http2.ErrCodeNo)
		}
		h.grant(nil)
		if v == nil {
			w.release() // after a panic the handler may still hold it
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
	var err error
	switch {
	case st == nil && id > h.maxClientID:
		err = http2.ConnectionError(http2.ErrCodeProtocol) // idle stream
	case st == nil && h.resetByUsLocked(id):
		h.recvConsumed += n // sent before the client saw our RST_STREAM
	case st == nil || st.body == nil || st.body.clientEnded():
		h.recvConsumed += n
		err = http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	case n > st.recvWindow:
		h.recvConsumed += n
		err = http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	default:
		st.recvWindow -= n
		data := f.Data()
		st.received += int64(len(data))
		// Padding is the connection's again at once; so is what a handler
		// that closed its body will not read.
		h.recvConsumed += n - int64(len(data))
		if st.declared >= 0 && st.received > st.declared {
			h.recvConsumed += int64(len(data))
			err = http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		} else if !st.body.put(data) {
			h.recvConsumed += int64(len(data))
		}
	}
	h.mu.Unlock()
	h.grant(nil)
	if err == nil && f.StreamEnded() {
		err = h.endBody(st)
	}
	return err
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
	h.mu.Unlock()
	h.grant(st)
}
