package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram is a lock-free log-linear histogram of durations in microseconds:
// exact below 128 µs, then 64 buckets per power of two (about 1.6 % wide).
// Record is safe for concurrent use.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // 128
	histHalf    = histSub / 2      // 64
	histBuckets = histSub + 40*histHalf
)

func histIndex(us uint64) int {
	if us < histSub {
		return int(us)
	}
	shift := bits.Len64(us) - histSubBits
	idx := histSub + (shift-1)*histHalf + int(us>>uint(shift)) - histHalf
	if idx >= histBuckets {
		idx = histBuckets - 1
	}
	return idx
}

// histLow returns the smallest value (µs) that falls into bucket i.
func histLow(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	shift := (i-histSub)/histHalf + 1
	mant := uint64((i-histSub)%histHalf + histHalf)
	return mant << uint(shift)
}

// histHigh returns the largest value (µs) that falls into bucket i.
func histHigh(i int) uint64 {
	if i+1 >= histBuckets {
		return histLow(i)
	}
	return histLow(i+1) - 1
}

// Record adds one observation; negative durations count as zero.
func (h *histogram) Record(d time.Duration) {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	h.counts[histIndex(uint64(us))].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// Count returns the number of observations.
func (h *histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest observation.
func (h *histogram) Max() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }

// Quantile returns the value below which a fraction q of the observations
// fall (the midpoint of the bucket holding it, capped at the maximum).
func (h *histogram) Quantile(q float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= rank {
			v := (histLow(i) + histHigh(i)) / 2
			if m := uint64(h.max.Load()); v > m {
				v = m
			}
			return time.Duration(v) * time.Microsecond
		}
	}
	return h.Max()
}

// summary is the JSON form of a histogram, in milliseconds.
type summary struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Summary returns the count, p50, p95, p99 and max in milliseconds.
func (h *histogram) Summary() summary {
	return summary{
		Count: h.Count(),
		P50:   ms(h.Quantile(0.50)),
		P95:   ms(h.Quantile(0.95)),
		P99:   ms(h.Quantile(0.99)),
		Max:   ms(h.Max()),
	}
}
