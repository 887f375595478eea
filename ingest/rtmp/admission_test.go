package rtmp

import (
	"net/netip"
	"testing"
)

// TestAdmissionDropsOldestWhateverStage: past the idle new connections,
// the budget drops the oldest unauthenticated connection by accept time,
// not the one that has made least progress, and so does a source's share.
// A keyless client that completed handshake and connect long ago goes
// before a speaker that arrived later and is still in its handshake.
func TestAdmissionDropsOldestWhateverStage(t *testing.T) {
	talking := map[*conn]bool{}
	newAdm := func(maxUnauth, maxPerSource int) *admission {
		a := &admission{talking: func(c *conn) bool { return talking[c] }}
		a.init(maxUnauth, maxPerSource, 64)
		return a
	}
	srcA := netip.MustParsePrefix("192.0.2.1/32")
	srcB := netip.MustParsePrefix("192.0.2.2/32")
	srcC := netip.MustParsePrefix("192.0.2.3/32")
	admit := func(a *admission, key netip.Prefix, stage int, talks bool) (*conn, []*conn) {
		c := &conn{}
		talking[c] = talks
		v := a.admit(c, key)
		a.advance(c, stage)
		return c, v
	}

	t.Run("budget", func(t *testing.T) {
		a := newAdm(3, 8)
		attacker, _ := admit(a, srcA, stageConnect, true)
		speaker, _ := admit(a, srcB, stageHandshake, true)
		talker, _ := admit(a, srcB, stageNew, true) // sent bytes, not read yet
		_, v := admit(a, srcC, stageNew, true)
		if len(v) != 1 || v[0] != attacker {
			t.Fatalf("dropped %v, want the oldest (the attacker at stageConnect)", v)
		}
		_, v = admit(a, srcC, stageNew, true)
		if len(v) != 1 || v[0] != speaker {
			t.Fatalf("dropped %v, want the oldest (stageHandshake)", v)
		}
		_, v = admit(a, srcC, stageNew, true)
		if len(v) != 1 || v[0] != talker {
			t.Fatalf("dropped %v, want the oldest (a new one that talks)", v)
		}
		if a.unauth != 3 || a.dropped[DropUnauthenticatedFull] != 3 {
			t.Fatalf("%d unauthenticated, %d dropped", a.unauth, a.dropped[DropUnauthenticatedFull])
		}
	})

	t.Run("idle new ones first", func(t *testing.T) {
		a := newAdm(3, 8)
		admit(a, srcA, stageConnect, true)
		admit(a, srcB, stageNew, true)
		idle, _ := admit(a, srcB, stageNew, false)
		_, v := admit(a, srcC, stageNew, false)
		if len(v) != 1 || v[0] != idle {
			t.Fatalf("dropped %v, want the idle new one, though younger", v)
		}
	})

	t.Run("source share", func(t *testing.T) {
		a := newAdm(100, 2)
		old, _ := admit(a, srcA, stageConnect, true)
		shaking, _ := admit(a, srcA, stageHandshake, true)
		idle, v := admit(a, srcA, stageNew, false)
		if len(v) != 1 || v[0] != old || old.dropped != DropSourceFull {
			t.Fatalf("dropped %v, want the source's oldest (stageConnect)", v)
		}
		newest, v := admit(a, srcA, stageNew, false)
		if len(v) != 1 || v[0] != idle {
			t.Fatalf("dropped %v, want the source's idle new one", v)
		}
		if got := a.sources[srcA].conns; len(got) != 2 || got[0] != shaking || got[1] != newest {
			t.Fatalf("the source holds %v", got)
		}
	})

	t.Run("advanced and authorized leave the idle list", func(t *testing.T) {
		a := newAdm(2, 8)
		pub, _ := admit(a, srcA, stageNew, false)
		if ok, _ := a.authorize(pub); !ok {
			t.Fatal("not authorized")
		}
		c1, _ := admit(a, srcB, stageHandshake, true)
		c2, _ := admit(a, srcB, stageHandshake, true)
		_, v := admit(a, srcC, stageNew, false)
		if len(v) != 1 || v[0] != c1 {
			t.Fatalf("dropped %v, want the oldest unauthenticated one", v)
		}
		a.release(c2)
		a.release(pub)
		if a.unauth != 1 || a.publishers != 0 || a.lists[byAge].head == nil || a.lists[byAge].head != a.lists[byAge].tail {
			t.Fatalf("%d unauthenticated, %d publishers after release", a.unauth, a.publishers)
		}
	})
}
