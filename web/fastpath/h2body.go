package fastpath

import (
	"errors"
	"io"
	"sync"
)

// h2body is a request body arriving in DATA frames. It holds no more than
// the stream's flow-control window, so the client cannot make it grow.
type h2body struct {
	st      *h2stream
	mu      sync.Mutex
	cond    *sync.Cond
	buf     []byte
	err     error // io.EOF once the client ended it; reads drain buf first
	done    bool  // ended by the client (END_STREAM) or with the stream
	dropped bool  // the handler closed it: what comes is thrown away
}

func newH2Body(st *h2stream) *h2body {
	b := &h2body{st: st}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// put adds body bytes and reports whether they were kept.
func (b *h2body) put(p []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done || b.dropped {
		return false
	}
	b.buf = append(b.buf, p...)
	b.cond.Signal()
	return true
}

// closeWithError ends the body: nil for the client's end (EOF), another
// error when the stream was cut. It returns how many unread bytes it threw
// away, which the connection's window gets back.
func (b *h2body) closeWithError(err error) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return 0
	}
	b.done = true
	if err == nil {
		b.err = io.EOF
		return 0
	}
	b.err = err
	n := len(b.buf)
	b.buf = nil
	b.cond.Broadcast()
	return n
}

// clientEnded reports whether no more body is expected from the client.
func (b *h2body) clientEnded() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done
}

// ended reports whether the handler gets no more of the body.
func (b *h2body) ended() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done || b.dropped
}

func (b *h2body) buffered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf)
}

func (b *h2body) Read(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.buf) == 0 && !b.done && !b.dropped {
		b.cond.Wait()
	}
	if b.dropped {
		b.mu.Unlock()
		return 0, errH2BodyClosed
	}
	if len(b.buf) == 0 {
		err := b.err
		b.mu.Unlock()
		return 0, err
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	if len(b.buf) == 0 {
		b.buf = nil
	}
	b.mu.Unlock()
	b.st.consumed(n)
	return n, nil
}

var errH2BodyClosed = errors.New("fastpath: http2 request body read after Close")

// Close lets go of the body: the handler reads no more of it, and what
// the client still sends is dropped (its window given back), not refused.
func (b *h2body) Close() error {
	b.mu.Lock()
	n := 0
	if !b.dropped {
		b.dropped = true
		n = len(b.buf)
		b.buf = nil
		b.cond.Broadcast()
	}
	b.mu.Unlock()
	if n > 0 {
		b.st.consumed(n)
	}
	return nil
}
