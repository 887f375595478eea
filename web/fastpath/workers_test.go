package fastpath

import (
	"sync"
	"testing"
	"time"
)

func TestWorkers(t *testing.T) {
	w := newWorkers(time.Hour)
	// One at a time: the second and third run on the first's worker.
	for i := 0; i < 3; i++ {
		done := make(chan struct{})
		w.run(func() { close(done) })
		<-done
		waitIdle(t, w)
	}
	// A worker busy: the next run starts another instead of waiting.
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	w.run(func() { <-release; wg.Done() })
	started := make(chan struct{})
	w.run(func() { close(started); wg.Done() })
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("a run waited for a busy worker")
	}
	close(release)
	wg.Wait()
	// close ends the two idle workers long before their hour is up.
	closed := make(chan struct{})
	go func() { w.close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not end the idle workers")
	}

	// An idle worker ends once its idle time has passed.
	w = newWorkers(10 * time.Millisecond)
	done := make(chan struct{})
	w.run(func() { close(done) })
	<-done
	ended := make(chan struct{})
	go func() { w.wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("an idle worker did not end")
	}
	w.close()
}

// waitIdle waits until a worker of w takes the next run: it is idle.
func waitIdle(t *testing.T, w *workers) {
	t.Helper()
	for i := 0; i < 500; i++ {
		ran := make(chan struct{})
		select {
		case w.work <- func() { close(ran) }:
			<-ran
			return
		default:
			time.Sleep(time.Millisecond)
		}
	}
	t.Fatal("no worker became idle")
}
