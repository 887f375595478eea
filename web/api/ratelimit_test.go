package api

import (
	"net/http"
	"net/netip"
	"testing"
	"time"
)

func TestRateLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	rl := newRateLimiter[netip.Prefix](RateLimit{Burst: 2, Every: 10 * time.Second}, func() time.Time { return now })
	r := &http.Request{RemoteAddr: "192.0.2.1:1234"}
	k := clientKey(r)
	for range 2 {
		if rl.allow(k) != 0 {
			t.Fatal("burst refused")
		}
	}
	if wait := rl.allow(k); wait != 10*time.Second {
		t.Fatalf("third attempt: wait %v", wait)
	}
	now = now.Add(10 * time.Second)
	if rl.allow(k) != 0 {
		t.Fatal("refilled token refused")
	}
	other := clientKey(&http.Request{RemoteAddr: "192.0.2.2:1"})
	if rl.allow(other) != 0 {
		t.Fatal("another address limited")
	}
}

func TestClientKeyIPv6By64(t *testing.T) {
	a := clientKey(&http.Request{RemoteAddr: "[2001:db8:1:2:aaaa::1]:443"})
	b := clientKey(&http.Request{RemoteAddr: "[2001:db8:1:2:bbbb::99]:443"})
	c := clientKey(&http.Request{RemoteAddr: "[2001:db8:1:3::1]:443"})
	if a != b || a == c || a.Bits() != 64 {
		t.Fatalf("keys %v %v %v", a, b, c)
	}
	if m := clientKey(&http.Request{RemoteAddr: "[::ffff:192.0.2.7]:80"}); m.String() != "192.0.2.7/32" {
		t.Fatalf("mapped IPv4: %v", m)
	}
}
