package packager

import (
	"time"

	"github.com/kastlive/kast/ingest"
)

// SegmentSink receives every complete segment the packager makes, with the
// init section it refers to, so that something else (the recorder) can
// keep them. The packager calls it from a track's muxer goroutine, the one
// that packages the live stream: every method must return at once (hand
// the value to a queue and return; never block, never do I/O).
//
// Everything handed over is immutable: the init bytes and the part
// buffers are the ones live viewers are served, never written again.
type SegmentSink interface {
	// TimelineStarted: a new init section starts on the track (a new
	// publish, or a publisher whose clock jumped). Segments after it
	// refer to it by InitID.
	TimelineStarted(SinkTimeline)
	// SegmentCompleted: a segment is complete.
	SegmentCompleted(SinkSegment)
	// TimelineEnded: the timeline's session ended; its last segment was
	// delivered before this call. A new timeline of the same stream may
	// follow (after a clock jump).
	TimelineEnded(SinkTimeline)
}

// SinkTimeline describes an init section and the publish it belongs to.
type SinkTimeline struct {
	Track string
	// Epoch names the muxer's life; InitID and segment numbers are
	// unique within it.
	Epoch  string
	InitID int
	Init   []byte // ftyp+moov
	// Stream is the ingest stream (one publisher connection) feeding the
	// timeline, and when it started and from where.
	Stream        uint64
	StreamStarted time.Time
	Source        string
	Media         ingest.Media
}

// SinkSegment is one complete segment. Times are on the track timeline,
// which runs on across publishes of one muxer's life.
type SinkSegment struct {
	Timeline SinkTimeline
	MSN      int
	Start    time.Duration
	Duration time.Duration
	// PDT is the wall-clock time of the segment's first frame
	// (EXT-X-PROGRAM-DATE-TIME).
	PDT           time.Time
	Discontinuity bool
	// Buffers hold the segment's bytes in order (moof+mdat chunks, or a
	// whole part where it is one buffer); Size is their total length.
	Buffers [][]byte
	Size    int
}
