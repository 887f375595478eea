package whip

import (
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
)

// ntpAt returns the 32.32 NTP timestamp of d after an arbitrary epoch.
func ntpAt(d time.Duration) uint64 {
	base := uint64(3_900_000_000) << 32
	return base + uint64(d/time.Second)<<32 + uint64(d%time.Second)<<32/uint64(time.Second)
}

func TestClockArrivalThenSenderReports(t *testing.T) {
	t0 := time.Unix(5000, 0)
	c := newMediaClock(t0, 90000, 48000)
	// Video starts at RTP 4294960000 (about to wrap), arriving 100 ms in;
	// audio at 1000, arriving 130 ms in.
	v0, a0 := uint32(4294960000), uint32(1000)
	if got := c.pts(ingest.KindVideo, v0, t0.Add(100*time.Millisecond)); got != 100*time.Millisecond {
		t.Fatalf("first video at %v", got)
	}
	// One second later, past the 32-bit wrap; arrival jitter is ignored.
	if got := c.pts(ingest.KindVideo, v0+90000, t0.Add(1170*time.Millisecond)); got != 1100*time.Millisecond {
		t.Fatalf("video after the wrap at %v", got)
	}
	if got := c.pts(ingest.KindAudio, a0, t0.Add(130*time.Millisecond)); got != 130*time.Millisecond {
		t.Fatalf("first audio at %v", got)
	}
	// The sender's wall clock says audio a0 was captured at the same
	// instant as video v0 (its network path was 30 ms slower). Reports
	// are used once three of each track agree: then audio moves 30 ms
	// earlier.
	for i := range 3 {
		sec := time.Duration(2+i) * time.Second
		if r := c.senderReport(ingest.KindVideo, ntpAt(sec), v0+uint32(2+i)*90000); r.moved {
			t.Fatal("moved with video reports only")
		}
		r := c.senderReport(ingest.KindAudio, ntpAt(sec+time.Second), a0+uint32(3+i)*48000)
		if i < 2 && r.moved {
			t.Fatalf("moved after %d reports", i+1)
		}
		if i == 2 && (!r.moved || r.shift != -30*time.Millisecond) {
			t.Fatalf("after three reports: %+v, want a -30 ms shift", r)
		}
	}
	if got := c.pts(ingest.KindAudio, a0+48000, t0); got != 1100*time.Millisecond {
		t.Fatalf("audio one second in at %v, want 1.1s like video", got)
	}
	// A later report within the tolerance changes nothing; video never moves.
	if r := c.senderReport(ingest.KindAudio, ntpAt(6*time.Second+3*time.Millisecond), a0+6*48000); r.moved {
		t.Fatalf("moved within the tolerance: %+v", r)
	}
	if got := c.pts(ingest.KindVideo, v0+2*90000, t0); got != 2100*time.Millisecond {
		t.Fatalf("video moved: %v", got)
	}
}

// TestClockIgnoresNoisyReports: a sender whose reports disagree by
// hundreds of milliseconds (aiortc) keeps the arrival-time placement.
func TestClockIgnoresNoisyReports(t *testing.T) {
	t0 := time.Unix(5000, 0)
	c := newMediaClock(t0, 90000, 48000)
	c.pts(ingest.KindVideo, 0, t0)
	c.pts(ingest.KindAudio, 0, t0.Add(20*time.Millisecond))
	noise := []time.Duration{0, 300 * time.Millisecond, -200 * time.Millisecond, 150 * time.Millisecond, -350 * time.Millisecond}
	told := 0
	for i, n := range noise {
		sec := time.Duration(i+1) * time.Second
		for _, r := range []syncResult{
			c.senderReport(ingest.KindVideo, ntpAt(sec+n), uint32(i+1)*90000),
			c.senderReport(ingest.KindAudio, ntpAt(sec-n), uint32(i+1)*48000),
		} {
			if r.moved {
				t.Fatalf("moved by noisy reports: %+v", r)
			}
			if r.noisy {
				told++
			}
		}
	}
	if told != 1 {
		t.Fatalf("noisy reports told %d times, want once", told)
	}
	// Reports that agree from now on are not trusted either.
	for i := 6; i < 10; i++ {
		sec := time.Duration(i) * time.Second
		if c.senderReport(ingest.KindVideo, ntpAt(sec), uint32(i)*90000).moved ||
			c.senderReport(ingest.KindAudio, ntpAt(sec+200*time.Millisecond), uint32(i)*48000).moved {
			t.Fatal("trusted a sender found noisy")
		}
	}
	if got := c.pts(ingest.KindAudio, 48000, t0); got != 1020*time.Millisecond {
		t.Fatalf("audio at %v, want the arrival placement", got)
	}
}

func TestTicksToDurationLong(t *testing.T) {
	// 30 days of 90 kHz ticks: no overflow.
	ticks := int64(30*24*3600) * 90000
	if got := ticksToDuration(ticks+45000, 90000); got != 30*24*time.Hour+500*time.Millisecond {
		t.Fatalf("got %v", got)
	}
}

// feed plays both tracks for dur from session time from: video frames
// every 33.3 ms and audio packets every 20 ms, arriving lag after their
// capture (audio captured at the same instants as video). It returns the
// placement of the last audio packet minus that of the video frame
// captured with it.
func feed(c *mediaClock, t0 time.Time, from, dur, lag time.Duration, v0, a0 uint32) time.Duration {
	var lastV, lastA time.Duration
	vi := int64(from * 30 / time.Second)
	ai := int64(from * 50 / time.Second)
	for {
		vt := time.Duration(vi) * time.Second / 30
		at := time.Duration(ai) * 20 * time.Millisecond
		if vt > from+dur && at > from+dur {
			break
		}
		if vt <= at {
			lastV = c.pts(ingest.KindVideo, v0+uint32(vi*3000), t0.Add(vt+lag))
			vi++
		} else {
			lastA = c.pts(ingest.KindAudio, a0+uint32(ai*960), t0.Add(at+lag))
			ai++
		}
	}
	// audio packet ai-1 and video frame vi-1 are captured at these times
	aCap := time.Duration(ai-1) * 20 * time.Millisecond
	vCap := time.Duration(vi-1) * time.Second / 30
	return (lastA - aCap) - (lastV - vCap)
}

// TestClockArrivalFloor: the first audio packets are read 300 ms late (a
// burst queued before the reader ran); once both tracks arrive steadily,
// audio is moved back in line by their arrival floors.
func TestClockArrivalFloor(t *testing.T) {
	t0 := time.Unix(5000, 0)
	c := newMediaClock(t0, 90000, 48000)
	c.pts(ingest.KindVideo, 0, t0.Add(20*time.Millisecond))
	for i := range 15 { // 300 ms of audio, all read at 320 ms
		c.pts(ingest.KindAudio, uint32(i*960), t0.Add(320*time.Millisecond))
	}
	if off := feed(c, t0, 300*time.Millisecond, 200*time.Millisecond, 20*time.Millisecond, 0, 0); off < 250*time.Millisecond {
		t.Fatalf("audio %v against video before the floors are known; the test expects the burst's misplacement", off)
	}
	off := feed(c, t0, 500*time.Millisecond, 2*time.Second, 20*time.Millisecond, 0, 0)
	if off < -syncTolerance || off > syncTolerance {
		t.Fatalf("audio %v against video after 2 s of steady packets", off)
	}
}

// TestClockUndoesChanceAlignment: three noisy reports that agreed by
// chance moved audio; the next one shows the noise, and the arrival
// floors bring audio back in line.
func TestClockUndoesChanceAlignment(t *testing.T) {
	t0 := time.Unix(5000, 0)
	c := newMediaClock(t0, 90000, 48000)
	feed(c, t0, 0, 1500*time.Millisecond, 20*time.Millisecond, 0, 0)
	for i := 1; i <= 3; i++ {
		sec := time.Duration(i) * time.Second
		c.senderReport(ingest.KindVideo, ntpAt(sec), uint32(i)*90000)
		c.senderReport(ingest.KindAudio, ntpAt(sec+100*time.Millisecond), uint32(i)*48000)
	}
	if off := feed(c, t0, 1500*time.Millisecond, 1500*time.Millisecond, 20*time.Millisecond, 0, 0); !near(off, 100*time.Millisecond) {
		t.Fatalf("audio %v against video after agreeing reports, want the reports' 100 ms", off)
	}
	if r := c.senderReport(ingest.KindAudio, ntpAt(4*time.Second-300*time.Millisecond), 4*48000); !r.noisy {
		t.Fatalf("%+v, want noisy", r)
	}
	if off := feed(c, t0, 3*time.Second, 2*time.Second, 20*time.Millisecond, 0, 0); off < -syncTolerance || off > syncTolerance {
		t.Fatalf("audio %v against video after the noise showed", off)
	}
}

// near compares durations made from NTP fractions, which round.
func near(a, b time.Duration) bool { return a-b < time.Microsecond && b-a < time.Microsecond }
