//go:build linux

package transcode

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// A killed ffmpeg is restarted and the Opus timeline continues where the
// input is.
func TestAACToOpusRestart(t *testing.T) {
	clip := makeAAC(t, "sine=frequency=440:sample_rate=48000", 48000, 2, 4*time.Second)
	tr := newAACToOpus(t, clip.audio)
	in := clip.units(0)
	res := collect(tr.Output())
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		feedPaced(tr, in, 1, stop)
	}()
	defer close(stop)

	time.Sleep(1500 * time.Millisecond)
	pid := tr.sup.PID()
	if pid == 0 {
		t.Fatal("no ffmpeg running")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-fed
	time.Sleep(200 * time.Millisecond)
	st := tr.Stats()
	tr.Close()
	out := <-res

	if st.Restarts != 1 || st.State != StateRunning {
		t.Fatalf("after a kill: %+v", st)
	}
	if tr.sup.PID() == pid {
		t.Fatal("same child")
	}
	gap := checkTimeline(t, out)
	last := out[len(out)-1].PTS
	end := in[len(in)-1].PTS
	t.Logf("%d packets; largest gap %v (the restart); last packet at %v, input ends at %v; stats %+v", len(out), gap, last, end, st)
	if gap == 0 || gap > time.Second {
		t.Fatalf("gap at the restart %v, want between 0 and 1 s", gap)
	}
	if end-last > 100*time.Millisecond {
		t.Fatalf("output stops at %v, input at %v: the restarted child's output is missing", last, end)
	}
}

// Close returns while the writer is blocked on a child that stopped
// reading, kills the child and closes Output().
func TestAACToOpusCloseWhileBlocked(t *testing.T) {
	clip := makeAAC(t, "sine=frequency=440:sample_rate=48000", 48000, 2, 10*time.Second)
	tr := newAACToOpus(t, clip.audio)
	pid := tr.sup.PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// Far more than the queue and the pipe hold: Write must never block.
	start := time.Now()
	for _, u := range clip.units(0) {
		tr.Write(u)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("writing %d units took %v", len(clip.aus), d)
	}
	time.Sleep(100 * time.Millisecond)
	for _, u := range clip.units(20 * time.Second) {
		tr.Write(u)
	}
	if st := tr.Stats(); st.DroppedIn == 0 {
		t.Fatalf("nothing dropped with a stopped child: %+v", st)
	}
	done := make(chan struct{})
	go func() {
		tr.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked")
	}
	if _, ok := <-tr.Output(); ok {
		// Units sent before Close may still be queued; drain them.
		for range tr.Output() {
		}
	}
	if _, err := os.Stat("/proc/" + itoa(pid)); err == nil {
		t.Fatalf("ffmpeg %d still exists after Close", pid)
	}
	if st := tr.Stats(); st.State != StateStopped {
		t.Fatalf("state after Close: %v", st.State)
	}
	tr.Write(clip.units(0)[0]) // after Close: ignored, no panic
}

// A child that stops producing output is killed and replaced.
func TestAACToOpusStallWatchdog(t *testing.T) {
	clip := makeAAC(t, "sine=frequency=440:sample_rate=48000", 48000, 2, 8*time.Second)
	tr := newAACToOpus(t, clip.audio)
	pid := tr.sup.PID()
	res := collect(tr.Output())
	stop := make(chan struct{})
	defer close(stop)
	go feedPaced(tr, clip.units(0), 1, stop)
	time.Sleep(500 * time.Millisecond)
	syscall.Kill(pid, syscall.SIGSTOP)
	deadline := time.Now().Add(stallAfter + 3*time.Second)
	for tr.Stats().Restarts == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := tr.Stats(); st.Restarts != 1 {
		t.Fatalf("a stopped child was not replaced: %+v", st)
	}
	before := tr.Stats().FramesOut
	time.Sleep(time.Second)
	if after := tr.Stats().FramesOut; after < before+30 {
		t.Fatalf("output did not resume: %d -> %d packets", before, after)
	}
	tr.Close()
	<-res
}
