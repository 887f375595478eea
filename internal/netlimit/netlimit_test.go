package netlimit

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	rl := NewLimiter[string](Limit{Burst: 2, Every: 10 * time.Second}, func() time.Time { return now })
	for range 2 {
		if rl.Allow("a") != 0 {
			t.Fatal("burst refused")
		}
	}
	if w := rl.Wait("a"); w != 10*time.Second {
		t.Fatalf("wait %v", w)
	}
	if w := rl.Allow("a"); w != 10*time.Second {
		t.Fatalf("third attempt: wait %v", w)
	}
	now = now.Add(10 * time.Second)
	if rl.Allow("a") != 0 || rl.Allow("b") != 0 || rl.Wait("c") != 0 {
		t.Fatal("refilled or other keys refused")
	}
	if rl.Len() != 2 {
		t.Fatalf("Wait made a bucket: %d", rl.Len())
	}
	if NewLimiter[int](Limit{}, nil).Allow(1) != 0 {
		t.Fatal("a zero limit limits")
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	now := time.Unix(0, 0)
	rl := NewLimiter[int](Limit{Burst: 1, Every: time.Hour}, func() time.Time { return now })
	for i := range MaxBuckets + 10 {
		rl.Allow(i)
	}
	if n := rl.Len(); n > MaxBuckets {
		t.Fatalf("%d buckets", n)
	}
}

func TestBucketPerSecond(t *testing.T) {
	var b Bucket
	l := PerSecond(2, 3)
	now := time.Unix(100, 0)
	if !b.Full(now, l) {
		t.Fatal("zero bucket not full")
	}
	for range 3 {
		if b.Take(now, l) != 0 {
			t.Fatal("burst refused")
		}
	}
	if w := b.Take(now, l); w != 500*time.Millisecond {
		t.Fatalf("wait %v", w)
	}
	if b.Full(now.Add(time.Second), l) || !b.Full(now.Add(1500*time.Millisecond), l) {
		t.Fatal("refill")
	}
}

func TestKeyAndSite(t *testing.T) {
	a, b, c := netip.MustParseAddr("2001:db8:1:2:aaaa::1"), netip.MustParseAddr("2001:db8:1:2:bbbb::99"), netip.MustParseAddr("2001:db8:1:3::1")
	if Key(a) != Key(b) || Key(a) == Key(c) || Key(a).Bits() != 64 {
		t.Fatalf("keys %v %v %v", Key(a), Key(b), Key(c))
	}
	if s, ok := Site(c); !ok || s != netip.MustParsePrefix("2001:db8:1::/48") {
		t.Fatalf("site %v %v", s, ok)
	}
	if m := Key(netip.MustParseAddr("::ffff:192.0.2.7")); m.String() != "192.0.2.7/32" {
		t.Fatalf("mapped IPv4: %v", m)
	}
	if _, ok := Site(netip.MustParseAddr("192.0.2.7")); ok {
		t.Fatal("an IPv4 address has a site")
	}
	if Key(netip.MustParseAddr("fe80::1%eth0")) != netip.MustParsePrefix("fe80::/64") {
		t.Fatal("zone kept")
	}
}

// TestClientAddr: X-Forwarded-For is read only from trusted proxies, from
// the right, up to the first address that is not a trusted proxy.
func TestClientAddr(t *testing.T) {
	p, err := ParseProxies("10.0.0.0/8, 192.0.2.7 ,2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		peer string
		xff  []string
		want string
	}{
		{"198.51.100.1:5000", []string{"203.0.113.9"}, "198.51.100.1"},                 // untrusted peer: its header is ignored
		{"10.1.2.3:5000", nil, "10.1.2.3"},                                             // a proxy without a header: itself
		{"10.1.2.3:5000", []string{"203.0.113.9"}, "203.0.113.9"},                      // the proxy's client
		{"10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9"}, "203.0.113.9"},             // a forged left entry is ignored
		{"10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9, 10.9.9.9"}, "203.0.113.9"},   // two proxies
		{"10.1.2.3:5000", []string{"1.1.1.1", "203.0.113.9,192.0.2.7"}, "203.0.113.9"}, // two headers
		{"10.1.2.3:5000", []string{"10.2.2.2, 10.3.3.3"}, "10.2.2.2"},                  // only proxies: the leftmost
		{"10.1.2.3:5000", []string{"203.0.113.9, garbage"}, "10.1.2.3"},                // unreadable: stop at the last trusted hop
		{"[2001:db8:ffff::1]:443", []string{"[2001:db8:1::5]:1234"}, "2001:db8:1::5"},
		{"[::ffff:10.0.0.1]:80", []string{"203.0.113.9"}, "203.0.113.9"},
	} {
		r := &http.Request{RemoteAddr: c.peer, Header: http.Header{}}
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := p.ClientAddr(r); got != netip.MustParseAddr(c.want) {
			t.Errorf("%s %q: %v, want %s", c.peer, c.xff, got, c.want)
		}
	}
	var none Proxies
	r := &http.Request{RemoteAddr: "10.1.2.3:1", Header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}}
	if got := none.ClientAddr(r); got.String() != "10.1.2.3" {
		t.Errorf("no trusted proxies: %v", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.org", "1.2.3"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func ExampleProxies_ClientAddr() {
	p, _ := ParseProxies("10.0.0.0/8")
	r := &http.Request{RemoteAddr: "10.0.0.2:41000", Header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}}
	fmt.Println(p.ClientAddr(r))
	// Output: 203.0.113.9
}
