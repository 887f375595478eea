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
// 32 bits, so network jitter does not reach the durations. Arrival time
// alone misplaces audio against video by the difference of their
// capture-to-send delays (video encoding and pacing: tens of
// milliseconds). RTCP sender reports fix that: each maps an RTP timestamp
// of its stream to the sender's NTP wall clock, the same clock for all of
// a sender's streams. Once both tracks have consistent reports, audio is
// placed where its NTP time says relative to video's. Video is the
// reference and never moves (its DTS must only grow); audio moves when
// the two placements disagree by more than syncTolerance, which also
// follows a sender whose audio clock drifts against its wall clock.
//
// Not every sender's reports can be trusted: aiortc pairs the wall clock
// of the moment it sends a report with the timestamp of the last packet
// sent, hundreds of milliseconds apart from one report to the next. So a
// track's reports are used only when its last few agree with each other
// (within srMaxJitter, against its own RTP clock); otherwise the arrival
// times stand. libwebrtc (browsers, OBS's libdatachannel peers) sends
// consistent ones: the first within about a second for video, a few
// seconds for audio.
type mediaClock struct {
	mu     sync.Mutex
	origin time.Time
	tracks [2]trackClock // by ingest.Kind

	// corrections applied to audio, for the log and tests
	shifts    int
	lastShift time.Duration
	noisy     bool // a track's reports disagreed: told once
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

type trackClock struct {
	rate     int64
	started  bool
	lastTS   uint32
	lastExt  int64
	firstExt int64
	base     time.Duration // session time of firstExt
	// arrivalBase is base as placed by arrival time
	arrivalBase time.Duration

	// offsets of recent sender reports: RTP time since firstExt minus the
	// sender's NTP time. A sender with consistent reports keeps it
	// constant (but for slow clock drift).
	srOff [srWindow]time.Duration
	nsr   int
}

func newMediaClock(origin time.Time, videoRate, audioRate int64) *mediaClock {
	c := &mediaClock{origin: origin}
	c.tracks[ingest.KindVideo].rate = videoRate
	c.tracks[ingest.KindAudio].rate = audioRate
	return c
}

// pts returns the session time of RTP timestamp ts of a track, whose
// packet arrived at arrival. Timestamps must be passed in sequence order.
func (c *mediaClock) pts(kind ingest.Kind, ts uint32, arrival time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &c.tracks[kind]
	if !t.started {
		t.started = true
		t.lastTS, t.lastExt, t.firstExt = ts, int64(ts), int64(ts)
		t.base = arrival.Sub(c.origin)
		t.arrivalBase = t.base
	}
	ext := t.unwrap(ts)
	if ext > t.lastExt {
		t.lastTS, t.lastExt = ts, ext
	}
	return t.base + ticksToDuration(ext-t.firstExt, t.rate)
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
	return c.align()
}

// reportOffset returns the mean offset of a track's recent reports, if
// there are at least srMinReports and they agree.
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

// align moves audio to where the sender reports place it against video.
// Called with c.mu held.
func (c *mediaClock) align() syncResult {
	v, a := &c.tracks[ingest.KindVideo], &c.tracks[ingest.KindAudio]
	if !v.started || !a.started {
		return syncResult{}
	}
	if c.noisy {
		return syncResult{}
	}
	offV, spreadV, okV := v.reportOffset()
	offA, spreadA, okA := a.reportOffset()
	if spreadV > srMaxJitter || spreadA > srMaxJitter {
		// A sender whose reports disagree once is not trusted again; a
		// placement made while they agreed by chance is undone.
		c.noisy = true
		r := syncResult{noisy: true, spread: max(spreadV, spreadA)}
		if a.base != a.arrivalBase {
			r.shift, r.moved = a.arrivalBase-a.base, true
			a.base = a.arrivalBase
		}
		return r
	}
	if !okV || !okA {
		return syncResult{}
	}
	// Video's session time minus the sender's wall clock is base+offV;
	// audio's first timestamp belongs at its wall clock plus that.
	want := v.base + (offV - offA)
	shift := want - a.base
	if shift > -syncTolerance && shift < syncTolerance {
		return syncResult{}
	}
	a.base = want
	c.shifts++
	c.lastShift = shift
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
