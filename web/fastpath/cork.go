package fastpath

import (
	"crypto/tls"
	"net"
	"sync"
)

// crypto/tls makes a record of at most 16 KB and a write system call of
// every record: a 62 KB part goes out in four writes, a segment in twenty.
// The connection under a TLS connection of the fast path is a corkConn,
// which the fast path corks while it writes a response, so that the
// records go to the kernel together: one write per 64 KB instead of one
// per record. Nothing else corks it, so net/http (HTTP/2, the pages) and
// crypto/tls's own alerts write straight through.

// corkLimit is how much a corked connection holds before it writes.
const corkLimit = 64 << 10

var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, corkLimit+tlsRecord+1024); return &b }}

// corkConn is a net.Conn whose writes can be held back and sent together.
// crypto/tls serializes its writes, but may write (an alert, a key update)
// from the goroutine reading while another corks: mu orders them.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	bp     *[]byte
}

// cork holds the writes that follow until uncork.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	if c.bp == nil {
		c.bp = corkPool.Get().(*[]byte)
	}
	*c.bp = append(*c.bp, p...)
	if len(*c.bp) >= corkLimit {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *corkConn) flush() error {
	if c.bp == nil || len(*c.bp) == 0 {
		return nil
	}
	_, err := c.Conn.Write(*c.bp)
	*c.bp = (*c.bp)[:0]
	return err
}

// uncork sends what was held back and lets later writes through.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	err := c.flush()
	if c.bp != nil {
		corkPool.Put(c.bp)
		c.bp = nil
	}
	return err
}

// corkOf returns the corkConn under a TLS connection of the fast path, nil
// for another connection.
func corkOf(nc net.Conn) *corkConn {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return nil
	}
	cc, _ := tc.NetConn().(*corkConn)
	return cc
}

// TLSListener returns a listener of TLS connections for the fast path:
// crypto/tls over connections the fast path can cork (see above).
func TLSListener(inner net.Listener, config *tls.Config) net.Listener {
	return &tlsListener{Listener: inner, config: config}
}

type tlsListener struct {
	net.Listener
	config *tls.Config
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tls.Server(&corkConn{Conn: c}, l.config), nil
}
