package packager

import "sync"

// partStream is the part being built. Requests for the preload-hinted part
// read its chunks as they are appended instead of waiting for the part to
// close, so a frame reaches them within milliseconds of ingest.
//
// The lock is per part and held only to copy a slice header; the wake
// channel is made only when someone waits, so a part nobody streams costs
// no allocation per chunk.
type partStream struct {
	n        int64
	mu       sync.Mutex
	chunks   [][]byte
	done     bool
	complete bool // done, and the part was closed rather than abandoned
	wake     chan struct{}
}

func newPartStream(n int64, chunks int) *partStream {
	return &partStream{n: n, chunks: make([][]byte, 0, chunks)}
}

// append adds a chunk. Only the muxer goroutine calls it.
func (p *partStream) append(chunk []byte) {
	p.mu.Lock()
	p.chunks = append(p.chunks, chunk)
	w := p.wake
	p.wake = nil
	p.mu.Unlock()
	if w != nil {
		close(w)
	}
}

// finish marks the part complete, or abandoned when the muxer stops
// before closing it; readers stop after the last chunk.
func (p *partStream) finish(complete bool) {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return
	}
	p.done, p.complete = true, complete
	w := p.wake
	p.wake = nil
	p.mu.Unlock()
	if w != nil {
		close(w)
	}
}

// read returns the chunks from index from on, whether the part is done
// and complete, and, when there is nothing new yet, a channel closed on the
// next change.
func (p *partStream) read(from int) (chunks [][]byte, done, complete bool, wake <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if from < len(p.chunks) {
		return p.chunks[from:], p.done, p.complete, nil
	}
	if p.done {
		return nil, true, p.complete, nil
	}
	if p.wake == nil {
		p.wake = make(chan struct{})
	}
	return nil, false, false, p.wake
}

// waitBeyond returns a channel closed when the part has more than n chunks
// or is done, or nil if it already has or is.
func (p *partStream) waitBeyond(n int) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.chunks) > n || p.done {
		return nil
	}
	if p.wake == nil {
		p.wake = make(chan struct{})
	}
	return p.wake
}

// all returns the chunks so far. Only the muxer goroutine calls it.
func (p *partStream) all() [][]byte { return p.chunks }
