//go:build linux

package transcode

import (
	"syscall"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// A killed ffmpeg is replaced and the output resumes at the next keyframe.
func TestVideoReencoderRestart(t *testing.T) {
	clip := makeH264(t, "320x240", 30, 2, "500k", 5*time.Second)
	v := &VideoReencoder{Input: clip.video, Bitrate: 500_000, Name: t.Name()}
	testutil.RequireTool(t, "ffmpeg")
	if err := v.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	res := collect(v.Output())
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		feedVideo(v, clip.units, 1, stop)
	}()
	defer close(stop)
	deadline := time.Now().Add(5 * time.Second)
	for v.Stats().FramesOut < 40 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	sup := v.sup.Load()
	if sup == nil || sup.PID() == 0 {
		t.Fatal("no ffmpeg running")
	}
	syscall.Kill(sup.PID(), syscall.SIGKILL)
	<-fed
	time.Sleep(300 * time.Millisecond)
	st := v.Stats()
	v.Close()
	out := <-res
	if st.Restarts != 1 || st.State != StateRunning {
		t.Fatalf("stats %+v", st)
	}
	var keysAfterGap int
	for i := 1; i < len(out); i++ {
		if out[i].PTS <= out[i-1].PTS {
			t.Fatalf("picture %d at %v after %v", i, out[i].PTS, out[i-1].PTS)
		}
		if out[i].PTS-out[i-1].PTS > 100*time.Millisecond {
			if !out[i].Key {
				t.Fatalf("output resumes at %v with a non-key picture", out[i].PTS)
			}
			keysAfterGap++
		}
	}
	last, end := out[len(out)-1].PTS, clip.units[len(clip.units)-1].PTS
	t.Logf("%d pictures out; last at %v, input ends at %v; stats %+v", len(out), last, end, st)
	if keysAfterGap != 1 || end-last > 200*time.Millisecond {
		t.Fatalf("%d gaps; output ends at %v, input at %v", keysAfterGap, last, end)
	}
}
