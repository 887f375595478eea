package api

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// RateLimit is a token bucket: Burst attempts at once, then one per
// Every.
type RateLimit struct {
	Burst int
	Every time.Duration
}

// maxBuckets bounds the limiter's memory under a flood of addresses: past
// it, idle buckets are dropped, and if none is idle the oldest go.
const maxBuckets = 100_000

type bucket struct {
	tokens float64
	last   time.Time
}

// rateLimiter keeps one bucket per key: a client address prefix, or an
// email address (failed logins).
type rateLimiter[K comparable] struct {
	limit RateLimit
	now   func() time.Time

	mu      sync.Mutex
	buckets map[K]*bucket
}

func newRateLimiter[K comparable](l RateLimit, now func() time.Time) *rateLimiter[K] {
	return &rateLimiter[K]{limit: l, now: now, buckets: map[K]*bucket{}}
}

// allow takes a token for key, or returns how long until one is there.
func (rl *rateLimiter[K]) allow(key K) time.Duration { return rl.take(key, true) }

// wait returns how long until key has a token, taking none.
func (rl *rateLimiter[K]) wait(key K) time.Duration { return rl.take(key, false) }

func (rl *rateLimiter[K]) take(key K, take bool) time.Duration {
	if rl.limit.Burst <= 0 || rl.limit.Every <= 0 {
		return 0
	}
	now := rl.now()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	b, ok := rl.buckets[key]
	if !ok {
		if !take {
			return 0 // a full bucket
		}
		if len(rl.buckets) >= maxBuckets {
			rl.prune(now)
		}
		b = &bucket{tokens: float64(rl.limit.Burst), last: now}
		rl.buckets[key] = b
	}
	b.tokens = math.Min(float64(rl.limit.Burst), b.tokens+float64(now.Sub(b.last))/float64(rl.limit.Every))
	b.last = now
	if b.tokens >= 1 {
		if take {
			b.tokens--
		}
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(rl.limit.Every))
}

// prune drops buckets that have refilled; if none has, half of them.
func (rl *rateLimiter[K]) prune(now time.Time) {
	full := time.Duration(rl.limit.Burst) * rl.limit.Every
	for k, b := range rl.buckets {
		if now.Sub(b.last) >= full {
			delete(rl.buckets, k)
		}
	}
	for k := range rl.buckets {
		if len(rl.buckets) < maxBuckets/2 {
			break
		}
		delete(rl.buckets, k)
	}
}

// clientKey is the address prefix a client is limited by: its IPv4
// address, or the /64 of its IPv6 address (one subscriber's network).
func clientKey(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	addr = addr.Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.WithZone("").Prefix(bits)
	return p
}

func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}
