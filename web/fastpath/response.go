package fastpath

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// response is the fast path's http.ResponseWriter. The status line and
// headers wait until the first body bytes (or Flush, or the end of the
// handler) and go out with them in one writev. Without a Content-Length
// the body is chunked (HTTP/1.1) or ends with the connection (HTTP/1.0).
type response struct {
	c      *conn
	req    *http.Request
	header http.Header

	status      int
	wroteHeader bool
	bodyless    bool  // HEAD, 204, 304: headers only
	noBody      bool  // 204, 304: writing a body is an error
	length      int64 // Content-Length, -1 if unknown
	chunked     bool
	sent        int64
	head        []byte // encoded headers not yet sent
	wantClose   bool
	closeAfter  bool
	err         error

	one      [1][]byte // Write's argument as Buffers
	vec      [8][]byte // backing of bufs
	bufs     net.Buffers
	chunkHdr [20]byte
	headBuf  []byte
}

var crlf = []byte("\r\n")

func (w *response) reset(r *http.Request, wantClose bool) {
	clear(w.header)
	w.req = r
	w.status, w.wroteHeader, w.bodyless, w.noBody = 0, false, false, false
	if w.bufs == nil {
		w.bufs = w.vec[:0]
	}
	w.length, w.chunked, w.sent = -1, false, 0
	w.head = nil
	w.wantClose, w.closeAfter, w.err = wantClose, wantClose, nil
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader || code < 200 || code > 999 {
		return
	}
	w.wroteHeader = true
	w.status = code
	h := w.header
	w.noBody = code == http.StatusNoContent || code == http.StatusNotModified
	w.bodyless = w.noBody || w.req.Method == http.MethodHead
	w.length = declaredLength(h, w.noBody)
	// The framing is ours to choose.
	delete(h, "Transfer-Encoding")
	if c := h["Connection"]; len(c) > 0 && strings.EqualFold(c[0], "close") || w.c.s.closing.Load() {
		w.closeAfter = true
	}
	switch {
	case w.bodyless || w.length >= 0:
	case w.req.ProtoMinor >= 1:
		w.chunked = true
	default:
		w.closeAfter = true
	}
	w.head = w.encodeHead()
}

// encodeHead writes the status line and headers into the connection's
// header buffer.
func (w *response) encodeHead() []byte {
	b := w.headBuf[:0]
	if w.status == http.StatusOK {
		b = append(b, "HTTP/1.1 200 OK\r\n"...)
	} else {
		b = append(b, "HTTP/1.1 "...)
		b = strconv.AppendInt(b, int64(w.status), 10)
		b = append(b, ' ')
		b = append(b, http.StatusText(w.status)...)
		b = append(b, crlf...)
	}
	if _, ok := w.header["Date"]; !ok {
		b = append(b, "Date: "...)
		b = append(b, httpDate()...)
		b = append(b, crlf...)
	}
	for k, vs := range w.header {
		if k == "Connection" {
			continue
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendValue(b, v)
			b = append(b, crlf...)
		}
	}
	if w.chunked {
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case w.closeAfter:
		b = append(b, "Connection: close\r\n"...)
	case w.req.ProtoMinor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, crlf...)
	w.headBuf = b
	return b
}

// appendValue appends a header value with line breaks turned to spaces,
// so that no value can end the header early.
func appendValue(b []byte, v string) []byte {
	if !strings.ContainsAny(v, "\r\n") {
		return append(b, v...)
	}
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if ch == '\r' || ch == '\n' {
			ch = ' '
		}
		b = append(b, ch)
	}
	return b
}

func (w *response) Write(p []byte) (int, error) {
	w.one[0] = p
	n, err := w.WriteVector(w.one[:])
	w.one[0] = nil
	return int(n), err
}

func (w *response) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// WriteVector writes the buffers as body bytes with one system call,
// together with the headers if they have not gone out yet.
func (w *response) WriteVector(bufs net.Buffers) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	var n int64
	for _, b := range bufs {
		n += int64(len(b))
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.bodyless || n == 0 {
		if w.noBody && n > 0 {
			return 0, http.ErrBodyNotAllowed
		}
		return n, nil
	}
	if w.length >= 0 && w.sent+n > w.length {
		// Send what was announced, as net/http does, and refuse the rest.
		if rest := w.length - w.sent; rest > 0 {
			w.WriteVector(truncate(bufs, rest))
		}
		return 0, http.ErrContentLength
	}
	out := w.bufs[:0]
	if w.head != nil {
		out = append(out, w.head)
	}
	if w.chunked {
		h := strconv.AppendInt(w.chunkHdr[:0], n, 16)
		h = append(h, crlf...)
		out = append(out, h)
	}
	out = append(out, bufs...)
	if w.chunked {
		out = append(out, crlf)
	}
	if err := w.send(out); err != nil {
		return 0, err
	}
	w.sent += n
	return n, nil
}

// declaredLength returns the handler's Content-Length, -1 when it set none
// or one that cannot be sent (malformed, or on a response without a
// body), which it removes from h. Both writers, HTTP/1.1 and HTTP/2, use it.
func declaredLength(h http.Header, noBody bool) int64 {
	v, ok := h["Content-Length"]
	if !ok {
		return -1
	}
	n, err := int64(-1), error(nil)
	if len(v) == 1 {
		n, err = strconv.ParseInt(v[0], 10, 64)
	}
	if err != nil || n < 0 || noBody {
		delete(h, "Content-Length")
		return -1
	}
	return n
}

// truncate returns the first n bytes of bufs.
func truncate(bufs net.Buffers, n int64) net.Buffers {
	var out net.Buffers
	for _, b := range bufs {
		if int64(len(b)) >= n {
			return append(out, b[:n])
		}
		out = append(out, b)
		n -= int64(len(b))
	}
	return out
}

func (w *response) send(out net.Buffers) error {
	w.bufs = out
	_, err := w.c.write(&w.bufs)
	clear(out[:cap(out)])
	w.bufs = out[:0]
	w.head = nil
	if err != nil {
		w.err = err
		w.closeAfter = true
	}
	return err
}

// Flush sends the headers if they have not gone out; body bytes are never
// held back.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush for http.ResponseController.
func (w *response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil || w.head == nil {
		return w.err
	}
	return w.send(append(w.bufs[:0], w.head))
}

var lastChunk = []byte("0\r\n\r\n")

// finish completes the response after the handler returns.
func (w *response) finish() {
	if !w.wroteHeader {
		if w.header["Content-Length"] == nil && w.req.Method != http.MethodHead {
			w.header["Content-Length"] = zeroLength
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return
	}
	out := w.bufs[:0]
	if w.head != nil {
		out = append(out, w.head)
	}
	if w.chunked {
		out = append(out, lastChunk)
	}
	if len(out) > 0 {
		w.send(out)
	}
	if !w.bodyless && w.length >= 0 && w.sent < w.length {
		// The handler wrote less than it announced: the client can only
		// find out by the connection closing.
		w.closeAfter = true
	}
}

var zeroLength = []string{"0"}

// Dates change once a second; the formatted one is kept until then.
type dateValue struct {
	sec int64
	b   []byte
}

var date atomic.Pointer[dateValue]

func httpDate() []byte {
	now := time.Now()
	if d := date.Load(); d != nil && d.sec == now.Unix() {
		return d.b
	}
	d := &dateValue{sec: now.Unix(), b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	date.Store(d)
	return d.b
}
