package fastpath

import (
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2response is the http.ResponseWriter of an HTTP/2 stream. HEADERS wait
// for the first body bytes (or Flush, or the handler's end) and go out
// with them; every Write is sent before it returns, as the fast path's
// HTTP/1.1 writer does.
type h2response struct {
	st     *h2stream
	req    *http.Request
	header http.Header

	status      int
	wroteHeader bool
	sentHeader  bool
	bodyless    bool
	noBody      bool
	length      int64 // Content-Length, -1 if unknown
	sent        int64
	ended       bool // END_STREAM sent
	err         error
	one         [1][]byte
}

// h2responses keeps responses with their header maps, which the next
// stream's handler fills again without growing a map.
var h2responses = sync.Pool{New: func() any { return &h2response{header: http.Header{}} }}

func newH2Response(st *h2stream, r *http.Request) *h2response {
	w := h2responses.Get().(*h2response)
	w.st, w.req, w.length = st, r, -1
	return w
}

// release returns w to the pool once its handler has returned.
func (w *h2response) release() {
	h := w.header
	clear(h)
	*w = h2response{header: h}
	h2responses.Put(w)
}

func (w *h2response) Header() http.Header { return w.header }

func (w *h2response) WriteHeader(code int) {
	if w.wroteHeader || code < 200 || code > 999 {
		return // 1xx responses are not passed on
	}
	w.wroteHeader = true
	w.status = code
	w.noBody = code == http.StatusNoContent || code == http.StatusNotModified
	w.bodyless = w.noBody || w.req.Method == http.MethodHead
	w.length = declaredLength(w.header, w.noBody)
}

func (w *h2response) Write(p []byte) (int, error) {
	w.one[0] = p
	n, err := w.WriteVector(w.one[:])
	w.one[0] = nil
	return int(n), err
}

func (w *h2response) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// WriteVector sends the buffers as DATA frames, with the HEADERS if they
// have not gone out, in as few writes as the flow-control windows allow.
func (w *h2response) WriteVector(bufs net.Buffers) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	var n int64
	for _, b := range bufs {
		n += int64(len(b))
	}
	if w.bodyless || n == 0 {
		if w.noBody && n > 0 {
			return 0, http.ErrBodyNotAllowed
		}
		return n, nil
	}
	if w.length >= 0 && w.sent+n > w.length {
		if rest := w.length - w.sent; rest > 0 {
			w.WriteVector(truncate(bufs, rest))
		}
		return 0, http.ErrContentLength
	}
	end := w.length >= 0 && w.sent+n == w.length
	if err := w.send(bufs, n, end); err != nil {
		return 0, err
	}
	w.sent += n
	return n, nil
}

// Flush sends the headers if they have not gone out.
func (w *h2response) Flush() { w.FlushError() }

// FlushError is Flush for http.ResponseController.
func (w *h2response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil || w.sentHeader {
		return w.err
	}
	return w.send(nil, 0, w.bodyless)
}

// finish ends the stream once the handler returned.
func (w *h2response) finish() {
	if !w.wroteHeader {
		if w.header["Content-Length"] == nil && w.req.Method != http.MethodHead {
			w.header["Content-Length"] = zeroLength
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil || w.ended {
		return
	}
	if !w.bodyless && w.length >= 0 && w.sent < w.length {
		// Less than announced: the stream is reset (run), so that the
		// client does not take it for whole.
		return
	}
	w.send(nil, 0, true)
}

// send writes the HEADERS if not sent yet and n bytes of bufs as DATA,
// ending the stream if end is set. The frames go out in chunks of up to
// h2WriteChunk bytes, each as much as both send windows allow.
func (w *h2response) send(bufs net.Buffers, n int64, end bool) error {
	h := w.st.c
	cur := bufCursor{bufs: bufs}
	for {
		var allow int64
		maxFrame := h2MaxFrameSize
		if n > 0 {
			var err error
			// The HEADERS go out even while the client's window is shut.
			if allow, maxFrame, err = w.window(min(n, h2WriteChunk), w.sentHeader); err != nil {
				w.err = err
				return err
			}
		}
		endNow := end && allow == n
		h.wmu.Lock()
		err := h.begin()
		if err == nil && w.streamReset() {
			err = errH2Closed // nothing more on a stream either side ended
		}
		headersEnd := false
		if err == nil && !w.sentHeader {
			headersEnd = endNow && n == 0
			err = w.writeHeaders(headersEnd)
			w.sentHeader = true
		}
		switch {
		case err != nil:
		case allow > 0:
			h.appendData(w.st.id, &cur, allow, maxFrame, endNow)
		case endNow && !headersEnd:
			err = h.fr.WriteData(w.st.id, true, nil)
		}
		if err == nil {
			err = h.flush()
		} else if h.out.b != nil {
			h.out.b = h.out.b[:0]
		}
		h.wmu.Unlock()
		if err != nil {
			w.err = err
			return err
		}
		n -= allow
		if endNow {
			w.ended = true
		}
		if n == 0 {
			return nil
		}
	}
}

// streamReset reports whether the stream was reset.
func (w *h2response) streamReset() bool {
	h := w.st.c
	h.mu.Lock()
	defer h.mu.Unlock()
	return w.st.reset
}

// window takes up to want bytes of the stream's and the connection's send
// windows, waiting (at most WriteTimeout) for the client to open them if
// wait is set. It returns the client's frame size with them.
func (w *h2response) window(want int64, wait bool) (allow int64, maxFrame int, err error) {
	h, st := w.st.c, w.st
	h.mu.Lock()
	defer h.mu.Unlock()
	var timer *time.Timer
	timedOut := false
	for {
		switch {
		case st.reset:
			return 0, 0, errH2Closed
		case h.writeErr != nil:
			return 0, 0, h.writeErr
		case timedOut:
			return 0, 0, errH2Window
		}
		if a := min(want, h.sendWindow, st.sendWindow); a > 0 {
			h.sendWindow -= a
			st.sendWindow -= a
			return a, h.peerMaxFrame, nil
		}
		if !wait {
			return 0, h.peerMaxFrame, nil
		}
		if timer == nil {
			timer = time.AfterFunc(h.s.WriteTimeout, func() {
				h.mu.Lock()
				timedOut = true
				h.cond.Broadcast()
				h.mu.Unlock()
			})
			defer timer.Stop()
		}
		h.cond.Wait()
	}
}

var errH2Window = errors.New("fastpath: http2 client kept its flow-control window closed")

// bufCursor walks buffers without changing them: they are often the
// packager's, shared by every viewer.
type bufCursor struct {
	bufs net.Buffers
	i    int // buffer
	off  int // bytes of bufs[i] already taken
}

// appendData appends n bytes from cur as DATA frames of at most maxFrame
// bytes; h.wmu is held.
func (h *h2conn) appendData(id uint32, cur *bufCursor, n int64, maxFrame int, end bool) {
	for n > 0 {
		size := int(min(n, int64(maxFrame)))
		n -= int64(size)
		var flags byte
		if end && n == 0 {
			flags = byte(http2.FlagDataEndStream)
		}
		h.out.b = appendFrameHeader(h.out.b, size, byte(http2.FrameData), flags, id)
		for size > 0 {
			b := cur.bufs[cur.i][cur.off:]
			k := min(size, len(b))
			h.out.b = append(h.out.b, b[:k]...)
			size -= k
			if cur.off += k; cur.off == len(cur.bufs[cur.i]) {
				cur.i, cur.off = cur.i+1, 0
			}
		}
	}
}

func appendFrameHeader(b []byte, length int, typ, flags byte, id uint32) []byte {
	b = append(b, byte(length>>16), byte(length>>8), byte(length), typ, flags)
	return binary.BigEndian.AppendUint32(b, id&(1<<31-1))
}

// writeHeaders writes the response's HEADERS (and CONTINUATION) frames;
// h.wmu is held.
func (w *h2response) writeHeaders(end bool) error {
	h := w.st.c
	h.hbuf.b = h.hbuf.b[:0]
	enc := h.enc
	enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(w.status)})
	// Values that change from one response to the next stay out of the
	// 4-KB dynamic table, which keeps the ones that repeat (content-type,
	// cache-control). Cookies too, as RFC 7541 7.1.3 advises.
	if _, ok := w.header["Date"]; !ok {
		enc.WriteField(hpack.HeaderField{Name: "date", Value: string(httpDate()), Sensitive: true})
	}
	for k, vs := range w.header {
		name, ok := h2Name(k)
		if !ok {
			continue
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				continue // RFC 9113 8.2.1
			}
			enc.WriteField(hpack.HeaderField{Name: name, Value: v, Sensitive: name == "content-length" || name == "date" || name == "set-cookie"})
		}
	}
	h.mu.Lock()
	maxFrame := h.peerMaxFrame
	h.mu.Unlock()
	block := h.hbuf.b
	frag := block[:min(len(block), maxFrame)]
	block = block[len(frag):]
	if err := h.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: w.st.id, BlockFragment: frag, EndStream: end, EndHeaders: len(block) == 0,
	}); err != nil {
		return err
	}
	for len(block) > 0 {
		frag = block[:min(len(block), maxFrame)]
		block = block[len(frag):]
		if err := h.fr.WriteContinuation(w.st.id, len(block) == 0, frag); err != nil {
			return err
		}
	}
	return nil
}

// h2Name is the field name of a header for HTTP/2: lower case, and none
// for the headers HTTP/2 does not carry (RFC 9113 8.2.2).
func h2Name(k string) (string, bool) {
	switch k {
	case "Content-Type":
		return "content-type", true
	case "Content-Length":
		return "content-length", true
	case "Cache-Control":
		return "cache-control", true
	case "Access-Control-Allow-Origin":
		return "access-control-allow-origin", true
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
		return "", false
	}
	if !httpguts.ValidHeaderFieldName(k) {
		return "", false // a client would refuse the whole response
	}
	return strings.ToLower(k), true
}
