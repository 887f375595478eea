package fastpath

import (
	"io"
	"sync"
)

// h2body is a request body arriving in DATA frames. It holds no more than
// the stream's flow-control window, so the client cannot make it grow.
type h2body struct {
	st   *h2stream
	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
	err  error // io.EOF once the body ended; set, reads drain buf first
	done bool
}

func newH2Body(st *h2stream) *h2body {
	b := &h2body{st: st}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *h2body) put(p []byte) {
	b.mu.Lock()
	if !b.done {
		b.buf = append(b.buf, p...)
		b.cond.Signal()
	}
	b.mu.Unlock()
}

// closeWithError ends the body: nil for its end (EOF), another error when
// the stream was cut.
func (b *h2body) closeWithError(err error) {
	b.mu.Lock()
	if !b.done {
		b.done = true
		if err == nil {
			b.err = io.EOF
		} else {
			b.err = err
			b.buf = nil
		}
		b.cond.Broadcast()
	}
	b.mu.Unlock()
}

func (b *h2body) ended() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done
}

func (b *h2body) buffered() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf)
}

func (b *h2body) Read(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.buf) == 0 && !b.done {
		b.cond.Wait()
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

// Close lets go of the body; the handler reads no more of it.
func (b *h2body) Close() error {
	b.closeWithError(errH2Closed)
	return nil
}
