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
// alone would misplace audio against video by the difference of their
// capture-to-send delays (video encoding and pacing: tens of
// milliseconds). RTCP sender reports fix that: each maps an RTP timestamp
// of its stream to the sender's NTP wall clock, the same clock for all of
// a sender's streams. Once both tracks have one, audio is placed where
// its NTP time says relative to video's. Video is the reference and never
// moves (its DTS must only grow); audio shifts when the two disagree by
// more than syncTolerance, which also follows a sender whose audio clock
// drifts against its wall clock. Before the first reports (libwebrtc sends
// them within about a second for video, a few seconds for audio) the
// arrival times stand.
type mediaClock struct {
	mu     sync.Mutex
	origin time.Time
	tracks [2]trackClock // by ingest.Kind

	// corrections applied to audio, for the log and tests
	shifts    int
	lastShift time.Duration
}

// syncTolerance is the disagreement between audio and video placements
// that moves audio. Smaller corrections would only add jitter; lip sync
// errors under about 45 ms (audio early) are not perceived.
const syncTolerance = 10 * time.Millisecond

type trackClock struct {
	rate     int64
	started  bool
	lastTS   uint32
	lastExt  int64
	firstExt int64
	base     time.Duration // session time of firstExt

	hasSR bool
	srNTP time.Duration // sender's wall clock at srExt
	srExt int64
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
		c.align()
	}
	ext := t.unwrap(ts)
	if ext > t.lastExt {
		t.lastTS, t.lastExt = ts, ext
	}
	return t.base + ticksToDuration(ext-t.firstExt, t.rate)
}

// senderReport records an RTCP sender report of a track: its NTP time
// (RFC 3550 format, 32.32 fixed point) and the matching RTP timestamp.
// It returns the shift applied to audio, if any.
func (c *mediaClock) senderReport(kind ingest.Kind, ntp uint64, rtpTS uint32) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &c.tracks[kind]
	if !t.started {
		return 0, false // placed once its first packet is
	}
	t.hasSR = true
	t.srNTP = ntpToDuration(ntp)
	t.srExt = t.unwrap(rtpTS)
	return c.align()
}

// align moves audio to where the sender reports place it against video.
func (c *mediaClock) align() (time.Duration, bool) {
	v, a := &c.tracks[ingest.KindVideo], &c.tracks[ingest.KindAudio]
	if !v.started || !a.started || !v.hasSR || !a.hasSR {
		return 0, false
	}
	// Session time minus sender wall clock, for video:
	// base + (srExt-firstExt)/rate is the session time of the report.
	delta := v.base + ticksToDuration(v.srExt-v.firstExt, v.rate) - v.srNTP
	// Audio's first timestamp in sender wall clock, moved by delta.
	want := a.srNTP + ticksToDuration(a.firstExt-a.srExt, a.rate) + delta
	shift := want - a.base
	if shift > -syncTolerance && shift < syncTolerance {
		return 0, false
	}
	a.base = want
	c.shifts++
	c.lastShift = shift
	return shift, true
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
