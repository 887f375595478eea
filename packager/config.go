package packager

import (
	"fmt"
	"time"
)

// Config holds the HLS timings.
type Config struct {
	// PartTarget is the duration of a part (EXT-X-PART-INF PART-TARGET).
	// Default 200 ms.
	PartTarget time.Duration
	// SegmentTarget is the minimum duration of a segment; a segment closes
	// at the first keyframe past it. Default 1 s.
	SegmentTarget time.Duration
	// Window is the number of complete segments listed. Default 12,
	// minimum 7.
	Window int
	// HoldHintedPart makes a request for the preload-hinted part wait
	// until the part is complete instead of streaming its frames as they
	// are packaged. Streaming gets Apple players each frame ~100 ms sooner
	// but costs a write per frame per such viewer.
	HoldHintedPart bool
	// StreamInterval is the least time between two writes of a streamed
	// hinted part after its first frames: frames packaged in between go
	// out with the first frame after it (at most twice the interval after
	// the last write, if the publisher pauses). 0 writes every frame as
	// soon as it is packaged.
	StreamInterval time.Duration
	// Linger is how long a track's playlist stays up after its publisher
	// leaves, so that players ride through a reconnect. Default 30 s.
	Linger time.Duration
}

func (c *Config) setDefaults() error {
	if c.PartTarget == 0 {
		c.PartTarget = 200 * time.Millisecond
	}
	if c.SegmentTarget == 0 {
		c.SegmentTarget = time.Second
	}
	if c.Window == 0 {
		c.Window = 12
	}
	if c.Linger == 0 {
		c.Linger = 30 * time.Second
	}
	switch {
	case c.PartTarget < 50*time.Millisecond || c.PartTarget > 5*time.Second:
		return fmt.Errorf("part target %v out of range 50ms-5s", c.PartTarget)
	case c.SegmentTarget < c.PartTarget:
		return fmt.Errorf("segment target %v shorter than part target %v", c.SegmentTarget, c.PartTarget)
	case c.SegmentTarget > 30*time.Second:
		return fmt.Errorf("segment target %v longer than 30s", c.SegmentTarget)
	case c.StreamInterval < 0 || c.StreamInterval > c.PartTarget:
		return fmt.Errorf("stream interval %v out of range 0-%v (the part target)", c.StreamInterval, c.PartTarget)
	case c.Window < 7:
		return fmt.Errorf("window of %d segments is below the minimum of 7", c.Window)
	}
	return nil
}
