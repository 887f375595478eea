package fastpath

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Connection states for Shutdown: only an idle connection (waiting for a
// request, nothing of one read) may be closed under it.
const (
	stateActive int32 = iota
	stateIdle
	stateClosed
)

// conn is one client connection on the fast path.
type conn struct {
	s   *Server
	nc  net.Conn
	raw syscall.RawConn // nil when nc is not a socket; then buf is kept
	tls bool            // nc is a *tls.Conn: buf is not kept between requests either

	state atomic.Int32
	h2    atomic.Pointer[h2conn] // while it serves HTTP/2

	// buf[start:end] holds bytes read and not yet used. buf comes from
	// bufPool and goes back whenever it is empty, so that a connection
	// waiting for its next request or for a part holds no buffer.
	buf        []byte
	bufp       *[]byte // buf's pool entry
	start, end int
	readFn     func(fd uintptr) bool // readSocket, made once
	rn         int                   // readSocket's results
	rerr       error

	tmpl    http.Request // what every request starts from
	req     http.Request
	url     url.URL
	headers headerCache
	w       response

	readDeadline, writeDeadline time.Time
	headerDeadline              bool // readDeadline is a header timeout
}

var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// newConn makes a connection of nc, whose first bytes are ahead (bytes
// read from it before, e.g. by net/http). Connections handed to net/http
// and back lose their wrapping here, so they get raw reads and writev again.
func newConn(s *Server, nc net.Conn, ahead []byte) *conn {
	for {
		p, ok := nc.(*prefixConn)
		if !ok {
			break
		}
		ahead = append(ahead, p.prefix...)
		nc = p.Conn
	}
	c := &conn{s: s, nc: nc}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	if len(ahead) > 0 {
		c.buf = make([]byte, len(ahead)+s.MaxHeaderBytes)
		c.bufp = new([]byte) // the pool entry it will become
		c.end = copy(c.buf, ahead)
	}
	c.readFn = c.readSocket
	c.tmpl = *(&http.Request{RemoteAddr: nc.RemoteAddr().String(), Body: http.NoBody}).WithContext(s.ctx)
	if _, ok := nc.(*tls.Conn); ok {
		c.tls = true
	}
	if tc, ok := nc.(*tls.Conn); ok && tc.ConnectionState().HandshakeComplete {
		st := tc.ConnectionState() // adopted from net/http
		c.tmpl.TLS = &st
	}
	c.w.c = c
	c.w.header = http.Header{}
	c.headers.m = http.Header{}
	return c
}

var errHandoff = errors.New("fastpath: request handed to net/http")

// serve runs the connection's requests one after the other. first is a
// request net/http has already read (Adopt).
func (c *conn) serve(first *http.Request) {
	defer c.close()
	if tc, ok := c.nc.(*tls.Conn); ok && first == nil && !c.handshake(tc) {
		return
	}
	if first != nil {
		r := *first
		u := *first.URL
		u.Path = strings.TrimPrefix(u.Path, c.s.StripPrefix)
		r.URL = &u
		if !c.handle(&r, first.Close) {
			return
		}
	}
	for {
		if c.start == c.end {
			// A player sends its next request as soon as it has the
			// response; letting the other connections run first often
			// finds it arrived, which saves a read that would return
			// EAGAIN and a trip through the poller (5 % of CPU at 1,000
			// hls.js viewers).
			runtime.Gosched()
		}
		wantClose, err := c.readRequest()
		if err == errHandoff {
			c.handoff()
			return
		}
		if err != nil {
			return
		}
		keep := c.handle(&c.req, wantClose)
		c.req = c.tmpl // let go of this request's header map and strings
		if !keep {
			return
		}
	}
}

// handle runs the handler for r and reports whether the connection may
// carry another request.
func (c *conn) handle(r *http.Request, wantClose bool) (keep bool) {
	c.w.reset(r, wantClose)
	c.s.stats.requests.Add(1)
	defer func() {
		if v := recover(); v != nil {
			keep = false
			if v == http.ErrAbortHandler {
				return
			}
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.s.Logger.Error("http handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(buf))
		}
	}()
	c.s.Handler.ServeHTTP(&c.w, r)
	c.w.finish()
	return c.w.err == nil && !c.w.closeAfter
}

// handoff gives the connection, with the bytes read from it, to the
// fallback server.
func (c *conn) handoff() {
	rest := append([]byte(nil), c.buf[c.start:c.end]...)
	c.release(true)
	c.s.track(c, false)
	nc := c.nc
	c.nc = nil
	// net/http sets deadlines of its own, but only those its Server has
	// timeouts for.
	nc.SetDeadline(time.Time{})
	c.s.stats.handoffs.Add(1)
	c.s.handoff.give(&prefixConn{Conn: nc, prefix: rest})
}

func (c *conn) close() {
	c.release(true)
	if c.nc != nil {
		c.nc.Close()
		c.s.track(c, false)
	}
}

// release returns the read buffer to the pool if it holds nothing unread
// (or always, when force is set).
func (c *conn) release(force bool) {
	if c.buf == nil || (c.raw == nil && !c.tls) || (!force && c.start < c.end) {
		return
	}
	*c.bufp = c.buf[:cap(c.buf)]
	bufPool.Put(c.bufp)
	c.buf, c.bufp = nil, nil
	c.start, c.end = 0, 0
}

// fill reads more bytes into buf. idle tells whether nothing of a request
// has been read yet.
func (c *conn) fill(idle bool) error {
	if err := c.setReadDeadline(idle); err != nil {
		return err
	}
	// Between requests a TLS connection waits on a one-byte read: crypto/tls
	// keeps the rest of the record it decrypted, which the next fill reads
	// at once, so an idle connection holds no buffer of ours.
	tlsWait := c.buf == nil && c.raw == nil && c.tls && idle
	if c.buf == nil && c.raw == nil && !tlsWait {
		if c.tls {
			c.takeBuf()
		} else {
			c.buf = make([]byte, c.s.MaxHeaderBytes)
		}
	}
	if c.start > 0 && c.start == c.end {
		c.start, c.end = 0, 0
	}
	if c.buf != nil && c.end == len(c.buf) && c.start > 0 {
		c.end = copy(c.buf, c.buf[c.start:c.end])
		c.start = 0
	}
	if idle && !c.state.CompareAndSwap(stateActive, stateIdle) {
		return net.ErrClosed
	}
	var n int
	var err error
	switch {
	case tlsWait:
		var one [1]byte
		if n, err = c.nc.Read(one[:]); n > 0 {
			c.takeBuf()
			c.buf[0] = one[0]
		}
	case c.raw == nil:
		n, err = c.nc.Read(c.buf[c.end:])
	default:
		c.rn, c.rerr = 0, nil
		if err = c.raw.Read(c.readFn); err == nil {
			n, err = c.rn, c.rerr
		}
	}
	if idle && !c.state.CompareAndSwap(stateIdle, stateActive) {
		return net.ErrClosed
	}
	c.end += n
	if n == 0 && err == nil {
		return errEOF
	}
	return err
}

var errEOF = errors.New("fastpath: connection closed by client")

// readSocket is the raw connection's read function: it takes a buffer
// only once the socket is readable.
func (c *conn) readSocket(fd uintptr) bool {
	if c.buf == nil {
		c.takeBuf()
	}
	for {
		c.rn, c.rerr = syscall.Read(int(fd), c.buf[c.end:])
		if c.rerr != syscall.EINTR {
			break
		}
	}
	if c.rerr == syscall.EAGAIN {
		c.release(false)
		return false
	}
	if c.rn < 0 {
		c.rn = 0
	}
	return true
}

// takeBuf gives the connection a read buffer from the pool.
func (c *conn) takeBuf() {
	bp := bufPool.Get().(*[]byte)
	if cap(*bp) < c.s.MaxHeaderBytes {
		*bp = make([]byte, c.s.MaxHeaderBytes)
	}
	c.bufp, c.buf = bp, (*bp)[:c.s.MaxHeaderBytes]
	c.start, c.end = 0, 0
}

// setReadDeadline keeps the read deadline at least half the idle timeout
// away between requests, without touching the timer on every request; once
// part of a request has arrived, the rest must come within
// ReadHeaderTimeout.
func (c *conn) setReadDeadline(idle bool) error {
	now := time.Now()
	switch {
	case !idle && !c.headerDeadline:
		c.readDeadline, c.headerDeadline = now.Add(c.s.ReadHeaderTimeout), true
	case idle && (c.headerDeadline || c.readDeadline.Sub(now) < c.s.IdleTimeout/2):
		c.readDeadline, c.headerDeadline = now.Add(c.s.IdleTimeout), false
	default:
		return nil
	}
	return c.nc.SetReadDeadline(c.readDeadline)
}

// setWriteDeadline gives each write at least half of WriteTimeout.
func (c *conn) setWriteDeadline() error {
	now := time.Now()
	if c.writeDeadline.Sub(now) >= c.s.WriteTimeout/2 {
		return nil
	}
	c.writeDeadline = now.Add(c.s.WriteTimeout)
	return c.nc.SetWriteDeadline(c.writeDeadline)
}

// write sends bufs with one writev where the connection supports it.
func (c *conn) write(bufs *net.Buffers) (int64, error) {
	if err := c.setWriteDeadline(); err != nil {
		return 0, err
	}
	if c.tmpl.TLS != nil {
		return c.writeRecords(bufs)
	}
	return bufs.WriteTo(c.nc)
}

// tlsRecord is the most plaintext one TLS record carries.
const tlsRecord = 16 << 10

var recordPool = sync.Pool{New: func() any { b := make([]byte, 0, tlsRecord); return &b }}

// writeRecords sends bufs over TLS in full records: crypto/tls makes a
// record and a system call of every Write, so the status line and headers
// written apart from a small body would cost a second one.
func (c *conn) writeRecords(bufs *net.Buffers) (n int64, err error) {
	if cc := corkOf(c.nc); cc != nil {
		cc.cork()
		defer func() {
			if uerr := cc.uncork(); err == nil {
				err = uerr
			}
		}()
	}
	bp := recordPool.Get().(*[]byte)
	defer recordPool.Put(bp)
	rec := (*bp)[:0]
	for _, b := range *bufs {
		for len(b) > 0 {
			k := copy(rec[len(rec):cap(rec)], b)
			rec, b = rec[:len(rec)+k], b[k:]
			if len(rec) == cap(rec) {
				w, err := c.nc.Write(rec)
				n += int64(w)
				if err != nil {
					return n, err
				}
				rec = rec[:0]
			}
		}
	}
	*bufs = (*bufs)[:0]
	if len(rec) > 0 {
		w, err := c.nc.Write(rec)
		n += int64(w)
		return n, err
	}
	return n, nil
}
