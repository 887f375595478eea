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
	// instant as video v0 (its network path was 30 ms slower): once both
	// reports are in, audio moves 30 ms earlier.
	if _, moved := c.senderReport(ingest.KindVideo, ntpAt(2*time.Second), v0+2*90000); moved {
		t.Fatal("moved with one report")
	}
	shift, moved := c.senderReport(ingest.KindAudio, ntpAt(3*time.Second), a0+3*48000)
	if !moved || shift != -30*time.Millisecond {
		t.Fatalf("shift %v %v, want -30ms", shift, moved)
	}
	if got := c.pts(ingest.KindAudio, a0+48000, t0); got != 1100*time.Millisecond {
		t.Fatalf("audio one second in at %v, want 1.1s like video", got)
	}
	// A later report within the tolerance changes nothing; video never moves.
	if _, moved := c.senderReport(ingest.KindAudio, ntpAt(4*time.Second+3*time.Millisecond), a0+4*48000); moved {
		t.Fatal("moved within the tolerance")
	}
	if got := c.pts(ingest.KindVideo, v0+2*90000, t0); got != 2100*time.Millisecond {
		t.Fatalf("video moved: %v", got)
	}
}

func TestTicksToDurationLong(t *testing.T) {
	// 30 days of 90 kHz ticks: no overflow.
	ticks := int64(30*24*3600) * 90000
	if got := ticksToDuration(ticks+45000, 90000); got != 30*24*time.Hour+500*time.Millisecond {
		t.Fatalf("got %v", got)
	}
}
