package api

import (
	"net/netip"
	"testing"
	"time"
)

// TestClientLimiterAggregatesSites: each IPv6 /64 has its own bucket, and
// a /48's /64s share one bucket of siteFactor times as much, so a site
// cannot multiply its attempts by its /64s; IPv4 addresses are limited
// one by one.
func TestClientLimiterAggregatesSites(t *testing.T) {
	now := time.Unix(0, 0)
	rl := newClientLimiter(RateLimit{Burst: 2, Every: 10 * time.Second}, func() time.Time { return now })
	a := netip.MustParseAddr("2001:db8:1:1::1")
	for range 2 {
		if rl.allow(a) != 0 {
			t.Fatal("burst refused")
		}
	}
	if rl.allow(a) == 0 || rl.allow(netip.MustParseAddr("2001:db8:1:1::99")) == 0 {
		t.Fatal("the /64 is not limited")
	}
	allowed := 0
	for i := range 100 {
		b := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, byte(i + 2), 15: 1})
		for range 2 {
			if rl.allow(b) == 0 {
				allowed++
			}
		}
	}
	if want := 2*siteFactor - 2; allowed != want {
		t.Fatalf("100 /64s of one /48 got %d attempts, want %d (the site's bucket)", allowed, want)
	}
	if rl.allow(netip.MustParseAddr("2001:db8:2::1")) != 0 {
		t.Fatal("another /48 limited")
	}
	for i := range 20 {
		if rl.allow(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})) != 0 {
			t.Fatal("IPv4 addresses share a bucket")
		}
	}
}
