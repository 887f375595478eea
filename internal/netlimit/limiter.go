package netlimit

import (
	"sync"
	"time"
)

// MaxBuckets bounds a Limiter's memory under a flood of keys: past it,
// refilled buckets are dropped, and if none is, half of them.
const MaxBuckets = 100_000

// Limiter is a token bucket per key (an address range, an email), safe
// for concurrent use.
type Limiter[K comparable] struct {
	limit Limit
	now   func() time.Time

	mu      sync.Mutex
	buckets map[K]*Bucket
}

// NewLimiter returns a Limiter of l on the clock now (nil: time.Now).
func NewLimiter[K comparable](l Limit, now func() time.Time) *Limiter[K] {
	if now == nil {
		now = time.Now
	}
	return &Limiter[K]{limit: l, now: now, buckets: map[K]*Bucket{}}
}

// Allow takes a token for key and returns 0, or returns how long until
// key has one.
func (rl *Limiter[K]) Allow(key K) time.Duration {
	if rl.limit.Off() {
		return 0
	}
	now := rl.now()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	b := rl.buckets[key]
	if b == nil {
		if len(rl.buckets) >= MaxBuckets {
			rl.prune(now)
		}
		b = &Bucket{}
		rl.buckets[key] = b
	}
	return b.Take(now, rl.limit)
}

// Wait returns how long until key has a token, taking none.
func (rl *Limiter[K]) Wait(key K) time.Duration {
	if rl.limit.Off() {
		return 0
	}
	now := rl.now()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if b := rl.buckets[key]; b != nil {
		return b.Wait(now, rl.limit)
	}
	return 0
}

// Len returns how many buckets are kept.
func (rl *Limiter[K]) Len() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return len(rl.buckets)
}

func (rl *Limiter[K]) prune(now time.Time) {
	for k, b := range rl.buckets {
		if b.Full(now, rl.limit) {
			delete(rl.buckets, k)
		}
	}
	for k := range rl.buckets {
		if len(rl.buckets) < MaxBuckets/2 {
			break
		}
		delete(rl.buckets, k)
	}
}
