package packager

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// pushPart feeds the fixture until the next part is published.
func (k *kastTarget) pushPart() {
	n := k.m.cur.Load().nextPart
	for k.m.cur.Load().nextPart == n {
		k.push()
	}
}

// blockingRound has players each ask for the next part's playlist, as
// LL-HLS players do, and publishes that part.
func blockingRound(t *testing.T, k *kastTarget, base string, players int) {
	t.Helper()
	snap := k.m.cur.Load()
	url := fmt.Sprintf("%s/b/media.m3u8?_HLS_msn=%d&_HLS_part=%d", base, snap.msn, snap.parts)
	var wg sync.WaitGroup
	for range players {
		wg.Go(func() {
			if res := do(t, "GET", url); res.StatusCode != 200 {
				t.Errorf("blocking request: %d", res.StatusCode)
			}
		})
	}
	for deadline := time.Now().Add(5 * time.Second); k.m.viewers.waiting.Load() < int64(players); {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d requests waiting", k.m.viewers.waiting.Load(), players)
		}
		time.Sleep(time.Millisecond)
	}
	k.pushPart()
	wg.Wait()
}

func TestViewerCountLowLatencyPlayers(t *testing.T) {
	k, ts := fedServer(t)
	if n := k.srv.ViewerCount("b"); n != 0 {
		t.Fatalf("no player yet: %d viewers", n)
	}
	for range 6 {
		blockingRound(t, k, ts.URL, 7)
	}
	// a HEAD of the playlist is nobody watching
	snap := k.m.cur.Load()
	do(t, "HEAD", fmt.Sprintf("%s/b/media.m3u8?_HLS_msn=%d&_HLS_part=0", ts.URL, snap.msn-1))
	k.pushPart()
	if n := k.srv.ViewerCount("b"); n != 7 {
		t.Fatalf("7 LL-HLS players: counted %d", n)
	}
	// Two of them leave; time passes.
	k.m.viewers.age(viewerWindow)
	for range 12 {
		blockingRound(t, k, ts.URL, 5)
	}
	k.pushPart()
	if n := k.srv.ViewerCount("b"); n != 5 {
		t.Fatalf("5 LL-HLS players left: counted %d", n)
	}
	// All leave: the parts they asked for age out of the window.
	if n := k.m.viewers.count(k.m.cur.Load(), time.Now().Add(viewerWindow+time.Second)); n != 0 {
		t.Fatalf("players gone: counted %d", n)
	}
	if got := k.srv.ViewerCounts(); got["b"] != 5 || len(got) != 1 {
		t.Fatalf("ViewerCounts = %v", got)
	}
}

func TestViewerCountClassicPlayers(t *testing.T) {
	k, ts := fedServer(t)
	snap := k.m.cur.Load()
	// Three classic players fetch every complete segment once, one fetches
	// only the newest, and a HEAD counts for nothing.
	for i := range snap.segments {
		seg := &snap.segments[i]
		if !seg.complete {
			continue
		}
		url := ts.URL + "/b/" + string(appendSegmentName(nil, snap.epoch, seg.msn))
		for range 3 {
			if res := do(t, "GET", url); res.StatusCode != 200 {
				t.Fatalf("segment: %d", res.StatusCode)
			}
		}
		do(t, "HEAD", url)
	}
	now := time.Now()
	td := time.Duration(snap.targetDur) * time.Second
	if n := k.m.viewers.count(snap, now.Add(td+td/2)); n != 3 {
		t.Fatalf("3 classic players: counted %d", n)
	}
	// Before a target duration has passed, the newest segment may not
	// have been fetched by everyone yet: it is not counted.
	if n := k.m.viewers.count(snap, now); n != 0 {
		t.Fatalf("right after completion: counted %d", n)
	}
	if n := k.m.viewers.count(snap, now.Add(5*td)); n != 0 {
		t.Fatalf("players gone: counted %d", n)
	}
}

// age moves every slot's time d into the past.
func (v *viewerCounter) age(d time.Duration) {
	for i := range v.parts {
		v.parts[i].at.Add(-int64(d))
	}
	for i := range v.segments {
		v.segments[i].at.Add(-int64(d))
	}
}

func TestViewerCountAllocatesNothing(t *testing.T) {
	k, _ := fedServer(t)
	snap := k.m.cur.Load()
	r, _ := http.NewRequest("GET", "/b/media.m3u8", nil)
	if n := testing.AllocsPerRun(1000, func() {
		k.m.viewers.playlist(r, snap)
		k.m.viewers.segment(r, snap.msn-1)
	}); n != 0 {
		t.Fatalf("counting allocates %v times", n)
	}
}
