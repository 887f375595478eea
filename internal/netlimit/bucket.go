package netlimit

import (
	"math"
	"time"
)

// Limit is a token bucket's shape: Burst tokens at once, then one more
// every Every. A zero Burst or Every limits nothing.
type Limit struct {
	Burst int
	Every time.Duration
}

// PerSecond is the Limit of rate tokens a second with a burst.
func PerSecond(rate float64, burst int) Limit {
	if rate <= 0 {
		return Limit{}
	}
	return Limit{Burst: burst, Every: time.Duration(float64(time.Second) / rate)}
}

// Off reports whether l limits nothing.
func (l Limit) Off() bool { return l.Burst <= 0 || l.Every <= 0 }

// Bucket is one token bucket; the zero value is full. Not safe for
// concurrent use: its owner locks.
type Bucket struct {
	spent  float64 // tokens taken and not yet refilled
	last   time.Time
	inited bool
}

// refill brings b up to now.
func (b *Bucket) refill(now time.Time, l Limit) {
	if b.inited {
		b.spent = math.Max(0, b.spent-float64(now.Sub(b.last))/float64(l.Every))
	}
	b.last, b.inited = now, true
}

// Take takes a token at now and returns 0, or, when there is none, how
// long until there is one (taking nothing).
func (b *Bucket) Take(now time.Time, l Limit) time.Duration {
	if l.Off() {
		return 0
	}
	b.refill(now, l)
	left := float64(l.Burst) - b.spent
	if left < 1 {
		return time.Duration((1 - left) * float64(l.Every))
	}
	b.spent++
	return 0
}

// Wait returns how long until b has a token at now, taking none.
func (b *Bucket) Wait(now time.Time, l Limit) time.Duration {
	if l.Off() {
		return 0
	}
	b.refill(now, l)
	if left := float64(l.Burst) - b.spent; left < 1 {
		return time.Duration((1 - left) * float64(l.Every))
	}
	return 0
}

// Full reports whether b has refilled by now: it can be forgotten.
func (b *Bucket) Full(now time.Time, l Limit) bool {
	if !b.inited || l.Off() {
		return true
	}
	return b.spent <= float64(now.Sub(b.last))/float64(l.Every)
}
