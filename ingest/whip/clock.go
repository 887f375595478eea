package whip

import (
	"sync"
	"time"

	"github.com/kastlive/kast/ingest"
)

// mediaClock puts the RTP timestamps of a session's tracks on one clock,
// the session's, so that audio and video line up in the hub.
//
// Each RTP stream starts at a random timestamp and counts at its own rate
// (90 kHz video, 48 kHz Opus). A track's first packet is placed at its
// arrival time; later packets follow from their timestamps, unwrapped past
// 32 bits, so network jitter never reaches the durations. Video is the
// reference and never moves (its DTS must only grow); audio is moved to
// line up with it, from two sources:
//
//   - RTCP sender reports, when they can be trusted. Each maps an RTP
//     timestamp of its stream to the sender's NTP wall clock, the same
//     clock for all of a sender's streams, so audio can be placed where
//     its capture time says relative to video's. Not every sender's reports
//     are usable: aiortc pairs the wall clock of the moment it sends a
//     report with the timestamp of the last packet sent, hundreds of
//     milliseconds apart from one report to the next. So a track's reports
//     count only when its last few agree with each other within
//     srMaxJitter; a sender whose reports once disagree is not trusted
//     again. libwebrtc (browsers) sends consistent ones, the first within
//     about a second for video and a few seconds for audio.
//   - Until then, or without them, arrival times: each track's lowest lag
//     (arrival time minus placement) over the last lagWindow is its delay
//     floor, and audio is moved so that both floors match. The first
//     packet alone would do on an idle path, but a burst (packets queued
//     before the track's reader ran, a congested moment) would misplace
//     a track by its delay. The floor leaves the capture-to-send
//     difference of the two tracks (video encoding: tens of milliseconds)
//     that only sender reports can see.
//
// Audio moves only when the two placements disagree by more than
// syncTolerance, which also follows a sender whose audio clock drifts
// against its wall clock.
type mediaClock struct {
	mu     sync.Mutex
	origin time.Time
	tracks [2]trackClock // by ingest.Kind

	srSynced  bool // audio placed by consistent sender reports
	noisy     bool // a track's reports disagreed: not trusted again
	lastFloor time.Duration

	// corrections applied to audio, for tests
	shifts    int
	lastShift time.Duration
}

// syncTolerance is the disagreement between audio and video placements
// that moves audio. Smaller corrections would only add jitter; lip sync
// errors under about 45 ms (audio early) are not perceived.
const syncTolerance = 10 * time.Millisecond

// srMaxJitter is how far a track's recent sender reports may disagree
// with each other for them to be used.
const srMaxJitter = 15 * time.Millisecond

// srWindow is how many recent sender reports of a track are compared,
// srMinReports how many must agree before they are used: two noisy ones
// agree by chance now and then, three hardly ever.
const (
	srWindow     = 4
	srMinReports = 3
)

// Arrival floors: the lowest lag in each of lagBuckets buckets of
// lagBucket, so the floor follows the path over the last 8 s; audio is
// aligned by them at most once per floorEvery.
const (
	lagBucket  = 2 * time.Second
	lagBuckets = 4
	floorEvery = time.Second
)

type trackClock struct {
	rate     int64
	started  bool
	lastTS   uint32
	lastExt  int64
	firstExt int64
	base     time.Duration // session time of firstExt
	since    time.Duration // session time of the first packet

	// offsets of recent sender reports: RTP time since firstExt minus the
	// sender's NTP time. A sender with consistent reports keeps it
	// constant (but for slow clock drift).
	srOff [srWindow]time.Duration
	nsr   int

	// lowest lag per bucket; bucket b covers session times
	// [b*lagBucket, (b+1)*lagBucket)
	lagMin [lagBuckets]time.Duration
	lagAt  [lagBuckets]int64 // bucket number of each slot, -1: empty
}

func newMediaClock(origin time.Time, videoRate, audioRate int64) *mediaClock {
	c := &mediaClock{origin: origin}
	c.tracks[ingest.KindVideo].rate = videoRate
	c.tracks[ingest.KindAudio].rate = audioRate
	for i := range c.tracks {
		for j := range c.tracks[i].lagAt {
			c.tracks[i].lagAt[j] = -1
		}
	}
	return c
}

// pts returns the session time of RTP timestamp ts of a track, whose
// packet arrived at arrival. Timestamps must be passed in sequence order.
func (c *mediaClock) pts(kind ingest.Kind, ts uint32, arrival time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := arrival.Sub(c.origin)
	t := &c.tracks[kind]
	if !t.started {
		t.started = true
		t.lastTS, t.lastExt, t.firstExt = ts, int64(ts), int64(ts)
		t.base, t.since = now, now
	}
	ext := t.unwrap(ts)
	if ext > t.lastExt {
		t.lastTS, t.lastExt = ts, ext
	}
	pts := t.base + ticksToDuration(ext-t.firstExt, t.rate)
	t.noteLag(now, now-pts)
	if kind == ingest.KindAudio && !c.srSynced && now-c.lastFloor >= floorEvery {
		c.lastFloor = now
		if shift, ok := c.alignByFloor(now); ok {
			pts += shift
		}
	}
	return pts
}

// noteLag records the lag of a packet that arrived at session time now.
func (t *trackClock) noteLag(now, lag time.Duration) {
	b := int64(now / lagBucket)
	i := b % lagBuckets
	if t.lagAt[i] != b {
		t.lagAt[i], t.lagMin[i] = b, lag
		return
	}
	t.lagMin[i] = min(t.lagMin[i], lag)
}

// floor returns the lowest lag of the last lagBuckets buckets.
func (t *trackClock) floor(now time.Duration) (time.Duration, bool) {
	cur := int64(now / lagBucket)
	var f time.Duration
	ok := false
	for i, b := range t.lagAt {
		if b < 0 || cur-b >= lagBuckets {
			continue
		}
		if !ok || t.lagMin[i] < f {
			f, ok = t.lagMin[i], true
		}
	}
	return f, ok
}

// moveFloor adjusts the recorded lags of a track moved by shift.
func (t *trackClock) moveFloor(shift time.Duration) {
	for i := range t.lagMin {
		t.lagMin[i] -= shift
	}
}

// alignByFloor moves audio so that both tracks' arrival floors match,
// once both have been seen for a second. Called with c.mu held.
func (c *mediaClock) alignByFloor(now time.Duration) (time.Duration, bool) {
	v, a := &c.tracks[ingest.KindVideo], &c.tracks[ingest.KindAudio]
	if !v.started || !a.started || now-v.since < time.Second || now-a.since < time.Second {
		return 0, false
	}
	fv, okV := v.floor(now)
	fa, okA := a.floor(now)
	if !okV || !okA {
		return 0, false
	}
	shift := fa - fv // audio arrives that much later against its placement
	if shift > -syncTolerance && shift < syncTolerance {
		return 0, false
	}
	c.move(shift)
	return shift, true
}

// move shifts audio's placement. Called with c.mu held.
func (c *mediaClock) move(shift time.Duration) {
	a := &c.tracks[ingest.KindAudio]
	a.base += shift
	a.moveFloor(shift)
	c.shifts++
	c.lastShift = shift
}

// syncResult says what a sender report did.
type syncResult struct {
	shift  time.Duration // applied to audio when moved
	moved  bool
	noisy  bool // the first time a track's reports were found inconsistent
	spread time.Duration
}

// senderReport records an RTCP sender report of a track: its NTP time
// (RFC 3550 format, 32.32 fixed point) and the matching RTP timestamp.
func (c *mediaClock) senderReport(kind ingest.Kind, ntp uint64, rtpTS uint32) syncResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &c.tracks[kind]
	if !t.started {
		return syncResult{} // placed once its first packet is
	}
	off := ticksToDuration(t.unwrap(rtpTS)-t.firstExt, t.rate) - ntpToDuration(ntp)
	copy(t.srOff[1:], t.srOff[:srWindow-1])
	t.srOff[0] = off
	t.nsr = min(t.nsr+1, srWindow)
	return c.alignByReports()
}

// reportOffset returns the mean offset of a track's recent reports, their
// spread, and whether there are at least srMinReports that agree.
func (t *trackClock) reportOffset() (off, spread time.Duration, ok bool) {
	if t.nsr < 2 {
		return 0, 0, false
	}
	// Offsets are near the NTP era's 4e18 ns: add up differences only.
	ref := t.srOff[0]
	lo, hi, sum := ref, ref, time.Duration(0)
	for _, o := range t.srOff[:t.nsr] {
		lo, hi, sum = min(lo, o), max(hi, o), sum+(o-ref)
	}
	return ref + sum/time.Duration(t.nsr), hi - lo, hi-lo <= srMaxJitter && t.nsr >= srMinReports
}

// alignByReports moves audio to where the sender reports place it against
// video. Called with c.mu held.
func (c *mediaClock) alignByReports() syncResult {
	v, a := &c.tracks[ingest.KindVideo], &c.tracks[ingest.KindAudio]
	if !v.started || !a.started || c.noisy {
		return syncResult{}
	}
	offV, spreadV, okV := v.reportOffset()
	offA, spreadA, okA := a.reportOffset()
	if spreadV > srMaxJitter || spreadA > srMaxJitter {
		// A placement made while noisy reports agreed by chance is left
		// to the arrival floors to undo.
		c.noisy, c.srSynced = true, false
		return syncResult{noisy: true, spread: max(spreadV, spreadA)}
	}
	if !okV || !okA {
		return syncResult{}
	}
	c.srSynced = true
	// Video's session time minus the sender's wall clock is base+offV;
	// audio's first timestamp belongs at its wall clock plus that.
	shift := v.base + (offV - offA) - a.base
	if shift > -syncTolerance && shift < syncTolerance {
		return syncResult{}
	}
	c.move(shift)
	return syncResult{shift: shift, moved: true}
}

// unwrap extends a 32-bit timestamp to the value nearest the last one.
func (t *trackClock) unwrap(ts uint32) int64 {
	return t.lastExt + int64(int32(ts-t.lastTS))
}

// ticksToDuration converts ticks of a clock rate without overflow.
func ticksToDuration(ticks, rate int64) time.Duration {
	return time.Duration(ticks/rate)*time.Second + time.Duration(ticks%rate)*time.Second/time.Duration(rate)
}

// ntpToDuration converts a 32.32 NTP timestamp to a duration since the
// NTP epoch (fits until 2036's wrap; only differences matter here).
func ntpToDuration(ntp uint64) time.Duration {
	sec := ntp >> 32
	frac := ntp & 0xffffffff
	return time.Duration(sec)*time.Second + time.Duration((frac*uint64(time.Second))>>32)
}
