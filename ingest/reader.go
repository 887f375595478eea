package ingest

import "sync/atomic"

// Reader receives the units of one stream.
type Reader struct {
	stream  *Stream
	ch      chan *Unit
	waitKey bool // touched only by the publisher's goroutine
	lagging bool // waitKey because units were lost, not because the reader is new
	dropped atomic.Uint64
}

// Units returns the channel the units arrive on. It is closed when the
// stream ends or after Close.
func (r *Reader) Units() <-chan *Unit { return r.ch }

// Stream returns the stream being read.
func (r *Reader) Stream() *Stream { return r.stream }

// Dropped returns how many units this reader lost by falling behind.
func (r *Reader) Dropped() uint64 { return r.dropped.Load() }

// Close stops delivery to the reader. Units already queued stay readable,
// but the channel is not closed until the stream ends.
func (r *Reader) Close() { r.stream.unsubscribe(r) }

// offer queues u, or drops it when the reader is full. After a drop the
// reader skips everything up to the next video key unit so that it never
// sees a picture whose references it lost.
func (r *Reader) offer(u *Unit) {
	if r.waitKey {
		if u.Kind != KindVideo || !u.Key {
			if r.lagging {
				r.drop()
			}
			return
		}
		r.waitKey, r.lagging = false, false
	}
	select {
	case r.ch <- u:
	default:
		r.drop()
		r.waitKey = r.stream.Media.Video != nil
		r.lagging = r.waitKey
	}
}

func (r *Reader) drop() {
	r.dropped.Add(1)
	r.stream.hub.readerDrops.Add(1)
}
