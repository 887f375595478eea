package fastpath

import (
	"sync"
	"time"
)

// workers runs the handlers of HTTP/2 streams on goroutines that outlive
// one stream. A new goroutine starts with a small stack, and a handler's
// calls (the gate, the packager, the frame writer, TLS encryption) grow it
// several times, each growth a copy of the stack: 12 % of the frame loop's
// CPU on small responses, measured. A worker keeps its grown stack for the
// next stream. Workers start on demand, so a burst of streams waiting on
// blocking playlist reloads never waits for a worker, and one idle for
// idle ends.
type workers struct {
	idle time.Duration
	work chan func() // unbuffered: a send succeeds only to an idle worker
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func newWorkers(idle time.Duration) *workers {
	return &workers{idle: idle, work: make(chan func()), done: make(chan struct{})}
}

// run runs fn on an idle worker, or on a new one if none is idle.
func (w *workers) run(fn func()) {
	select {
	case w.work <- fn:
	default:
		w.wg.Add(1)
		go w.loop(fn)
	}
}

func (w *workers) loop(fn func()) {
	defer w.wg.Done()
	t := time.NewTimer(w.idle)
	defer t.Stop()
	for {
		fn()
		fn = nil // not kept alive while idle
		t.Reset(w.idle)
		select {
		case fn = <-w.work:
		case <-t.C:
			return
		case <-w.done:
			return
		}
	}
}

// close ends the idle workers and waits for them; the caller makes sure no
// run is in progress or to come.
func (w *workers) close() {
	w.once.Do(func() { close(w.done) })
	w.wg.Wait()
}
