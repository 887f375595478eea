package packager

import (
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

// fetchParts has players each fetch the last n parts, as LL-HLS players
// do, and a HEAD of one.
func fetchParts(t *testing.T, k *kastTarget, base string, players, n int) {
	t.Helper()
	snap := k.m.cur.Load()
	for p := snap.nextPart - int64(n); p < snap.nextPart; p++ {
		url := base + "/b/" + string(appendPartName(nil, snap.epoch, p))
		for range players {
			if res := do(t, "GET", url); res.StatusCode != 200 {
				t.Fatalf("part %d: %d", p, res.StatusCode)
			}
		}
		do(t, "HEAD", url)
	}
}

func TestViewerCountLowLatencyPlayers(t *testing.T) {
	k, ts := fedServer(t)
	if n := k.srv.ViewerCount("b"); n != 0 {
		t.Fatalf("no player yet: %d viewers", n)
	}
	fetchParts(t, k, ts.URL, 7, int(k.m.cur.Load().nextPart))
	now := time.Now()
	if n := k.m.viewers.count(k.m.cur.Load(), now.Add(1500*time.Millisecond)); n != 7 {
		t.Fatalf("7 LL-HLS players: counted %d", n)
	}
	// Parts younger than a second are not counted yet: players behind
	// the edge are still fetching them.
	if n := k.m.viewers.count(k.m.cur.Load(), now); n != 0 {
		t.Fatalf("right away: counted %d", n)
	}
	// A player retrying one part many times is still one player.
	snap := k.m.cur.Load()
	for range 20 {
		do(t, "GET", ts.URL+"/b/"+string(appendPartName(nil, snap.epoch, snap.nextPart-2)))
	}
	if n := k.m.viewers.count(k.m.cur.Load(), now.Add(1500*time.Millisecond)); n != 7 {
		t.Fatalf("7 players, one part asked for 20 times more: counted %d", n)
	}
	// All leave: their parts age out of the window; the stream goes on.
	k.m.viewers.age(partWindowStart)
	k.pushPart()
	if n := k.m.viewers.count(k.m.cur.Load(), time.Now().Add(1500*time.Millisecond)); n != 0 {
		t.Fatalf("players gone: counted %d", n)
	}
}

// A player that asks for the hinted part waits for it; while the stream
// stalls, the waiting players are the count.
func TestViewerCountWaitingPlayersDuringStall(t *testing.T) {
	k, ts := fedServer(t)
	snap := k.m.cur.Load()
	url := ts.URL + "/b/" + string(appendPartName(nil, snap.epoch, snap.nextPart+1))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { do(t, "GET", url) })
	}
	for deadline := time.Now().Add(5 * time.Second); k.m.viewers.waitingParts.Load() < 4; {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests waiting", k.m.viewers.waitingParts.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if n := k.m.viewers.count(k.m.cur.Load(), time.Now().Add(partWindowStart+time.Second)); n != 4 {
		t.Fatalf("4 players waiting through a stall: counted %d", n)
	}
	for k.m.cur.Load().nextPart <= snap.nextPart+1 {
		k.push()
	}
	wg.Wait()
	for deadline := time.Now().Add(5 * time.Second); k.m.viewers.waitingParts.Load() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d still waiting", k.m.viewers.waitingParts.Load())
		}
		time.Sleep(time.Millisecond)
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

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want int
	}{{nil, 0}, {[]int{4}, 4}, {[]int{1, 2}, 2}, {[]int{5, 1, 9}, 5}, {[]int{2, 2, 30, 2, 40}, 2}} {
		if got := median(append([]int(nil), c.in...)); got != c.want {
			t.Errorf("median(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestViewerCountAllocatesNothing(t *testing.T) {
	k, _ := fedServer(t)
	snap := k.m.cur.Load()
	r, _ := http.NewRequest("GET", "/b/part.m4s", nil)
	if n := testing.AllocsPerRun(1000, func() {
		k.m.viewers.partRequest(r, snap.nextPart-1)
		k.m.viewers.waitingParts.Add(-1)
		k.m.viewers.segment(r, snap.msn-1)
	}); n != 0 {
		t.Fatalf("counting allocates %v times", n)
	}
}
