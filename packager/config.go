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
	// PartHoldBack is the PART-HOLD-BACK the playlist advertises: how far
	// behind the live edge LL-HLS players (hls.js, video.js, Shaka Player)
	// aim to play. Default 2.5 x PartTarget; at least 2 x PartTarget
	// (RFC 8216bis 4.4.3.8).
	PartHoldBack time.Duration
	// JoinHold is when a media playlist request without _HLS_msn and
	// _HLS_skip (the request players start with) is answered while the
	// track is live. See JoinHold's values.
	JoinHold JoinHold
	// StartSegments is how many complete segments a track has before its
	// playlist is served (404 until then), or fewer if they last as long
	// as that many segment targets (a GOP longer than the target). Default
	// 3: Shaka Player 5.2 fails to load a playlist with fewer (see
	// setDefaults).
	StartSegments int
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

// JoinHold says when a media playlist request without _HLS_msn and
// _HLS_skip is answered.
type JoinHold int

const (
	// JoinAtKeyframe (the default) answers when the segment being built
	// has just passed PartHoldBack (its parts last PartHoldBack and up to
	// one part target more), at most a segment target and two part
	// targets later: a player that starts PART-HOLD-BACK behind the live
	// edge (hls.js, video.js, Shaka Player) then starts in the first part
	// of that segment, on its keyframe, from a playlist whose last part
	// has just closed.
	JoinAtKeyframe JoinHold = iota
	// JoinAtOnce answers with the current playlist.
	JoinAtOnce
)

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
	if c.PartHoldBack == 0 {
		c.PartHoldBack = 5 * c.PartTarget / 2
	}
	if c.StartSegments == 0 {
		// Shaka Player 5.2.12 probes a second segment of the first
		// playlist for captions, chosen among the last ones; with fewer
		// than three complete segments it picks the open segment, which
		// has parts but no URI yet, and its load fails ("Request without
		// URIs"). hls.js and video.js need one.
		c.StartSegments = 3
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
	case c.PartHoldBack < 2*c.PartTarget:
		return fmt.Errorf("part hold back %v is below twice the part target %v", c.PartHoldBack, c.PartTarget)
	case c.JoinHold < JoinAtKeyframe || c.JoinHold > JoinAtOnce:
		return fmt.Errorf("unknown join hold %d", c.JoinHold)
	case c.StartSegments < 1 || c.StartSegments > c.Window:
		return fmt.Errorf("start segments %d out of range 1-%d (the window)", c.StartSegments, c.Window)
	}
	return nil
}
