package whip

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestKeyframeRequester(t *testing.T) {
	var mu sync.Mutex
	var sent []time.Time
	var kinds []string
	var n atomic.Uint64
	write := func(p []rtcp.Packet) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, time.Now())
		switch p[0].(type) {
		case *rtcp.PictureLossIndication:
			kinds = append(kinds, "pli")
		case *rtcp.FullIntraRequest:
			kinds = append(kinds, "fir")
		}
		return nil
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(sent) }
	k := newKeyframeRequester(1234, false, write, &n)
	defer k.stop()
	// A burst of requests: one goes out at once, the rest merge into one
	// more, MinKeyframeInterval later.
	for range 10 {
		k.request()
	}
	time.Sleep(100 * time.Millisecond)
	for range 10 {
		k.request()
	}
	waitFor(t, 2*time.Second, "second request", func() bool { return count() == 2 })
	time.Sleep(MinKeyframeInterval + 100*time.Millisecond)
	mu.Lock()
	if len(sent) != 2 || sent[1].Sub(sent[0]) < MinKeyframeInterval-10*time.Millisecond || kinds[0] != "pli" {
		t.Fatalf("sent %v %v", sent, kinds)
	}
	mu.Unlock()
	// A request waiting for the interval is dropped when a keyframe comes.
	k.request()
	time.Sleep(50 * time.Millisecond)
	k.request()
	k.keyframe()
	time.Sleep(MinKeyframeInterval + 100*time.Millisecond)
	if c := count(); c != 3 || n.Load() != 3 {
		t.Fatalf("%d sent (counter %d), want 3: the waiting one was answered by the keyframe", c, n.Load())
	}
	f := newKeyframeRequester(1234, true, write, &n)
	f.request()
	waitFor(t, time.Second, "FIR", func() bool { return count() == 4 })
	f.stop()
	mu.Lock()
	defer mu.Unlock()
	if kinds[3] != "fir" {
		t.Fatalf("kinds %v", kinds)
	}
}
