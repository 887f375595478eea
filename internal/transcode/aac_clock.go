package transcode

import (
	"sync"
	"time"
)

// aacClock maps positions in one ffmpeg child's audio back to the input
// timeline. ADTS carries no timestamps: the child numbers the samples it
// decodes from 0, so sample n of its output is sample n of the AAC frames
// written to it, in order. The clock remembers where each written frame
// starts (in input samples) and its PTS; an Opus position is then placed
// inside the frame that holds it. Gaps in the input (lost frames, a
// publisher that paused) show up as PTS jumps between neighbouring frames
// and so in the output timestamps too.
type aacClock struct {
	rate  int64 // input (AAC core) sample rate
	frame int64 // samples per AAC frame: 1024, or 960

	mu      sync.Mutex
	entries []clockEntry // frames written whose samples are not all out yet
	fed     int64        // input samples written so far
}

type clockEntry struct {
	pts   time.Duration
	start int64     // first input sample of the frame
	at    time.Time // when Write accepted the frame
}

func newAACClock(rate, frame int) *aacClock {
	return &aacClock{rate: int64(rate), frame: int64(frame)}
}

// add records a frame about to be written to the child.
func (c *aacClock) add(pts time.Duration, at time.Time) {
	c.mu.Lock()
	c.entries = append(c.entries, clockEntry{pts: pts, start: c.fed, at: at})
	c.fed += c.frame
	c.mu.Unlock()
}

// find returns the entry holding 48 kHz position p48 (the first or last
// entry when p48 lies before or after them) and the offset of p48 from the
// entry's start in units of 1/(48000*rate) s.
func (c *aacClock) find(p48 int64) (clockEntry, int64, bool) {
	if len(c.entries) == 0 {
		return clockEntry{}, 0, false
	}
	pos := p48 * c.rate // in 1/(48000*rate) s
	i := 0
	for i+1 < len(c.entries) && c.entries[i+1].start*48000 <= pos {
		i++
	}
	e := c.entries[i]
	return e, pos - e.start*48000, true
}

// pts returns the input-timeline time of 48 kHz position p48.
func (c *aacClock) pts(p48 int64) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, off, ok := c.find(p48)
	if !ok {
		return 0, false
	}
	return e.pts + time.Duration(off*int64(time.Second)/(48000*c.rate)), true
}

// writtenAt returns when the frame holding 48 kHz position p48 was accepted.
func (c *aacClock) writtenAt(p48 int64) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, _, ok := c.find(p48)
	return e.at, ok
}

// release forgets the frames that end at or before 48 kHz position p48.
func (c *aacClock) release(p48 int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pos := p48 * c.rate
	n := 0
	for n < len(c.entries) && (c.entries[n].start+c.frame)*48000 <= pos {
		n++
	}
	if n > 0 {
		c.entries = append(c.entries[:0], c.entries[n:]...)
	}
}

// pending returns how many written frames have samples not yet out.
func (c *aacClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
