package relay

import "github.com/kastlive/kast/ingest"

// AudioTranscoder turns the AAC of one stream into Opus, which is what
// browsers take over WebRTC. The relay starts one per stream while the
// stream has WebRTC viewers, never one per viewer. An ffmpeg child process
// implements it today; a pure-Go codec can replace it.
type AudioTranscoder interface {
	// Write hands over one AAC unit (Frame is a raw_data_block). It must
	// not block for long: a transcoder that falls behind drops.
	Write(u *ingest.Unit) error
	// Output delivers Opus units (KindAudio, Frame one Opus packet of
	// 20 ms, PTS on the stream's clock). It is closed when the transcoder
	// stops, by Close or because it failed.
	Output() <-chan *ingest.Unit
	// Close stops the transcoder and frees what it holds.
	Close() error
}

// NewTranscoder starts a transcoder for an AAC stream with the given
// parameters.
type NewTranscoder func(aac *ingest.Audio) (AudioTranscoder, error)

// CPUReporter is implemented by transcoders that can tell how much CPU
// they used (an ffmpeg child: its user + system time).
type CPUReporter interface {
	CPUSeconds() float64
}

// VideoTranscoder re-encodes the H.264 of one stream without B-frames:
// Chromium decodes only the keyframes of a stream with B-frames over
// WebRTC. The relay starts one per such stream while it has WebRTC
// viewers, when Relay.ReencodeBFrames is set. An ffmpeg child process
// implements it today.
type VideoTranscoder interface {
	// Write hands over one video unit of the stream; it must not block
	// for long (a transcoder that falls behind drops to a keyframe).
	Write(u *ingest.Unit) error
	// Output delivers the re-encoded units (KindVideo, NALUs set, PTS on
	// the stream's clock, PTS == DTS). It is closed when the transcoder
	// stops.
	Output() <-chan *ingest.Unit
	// H264 is the output's parameters (SPS, PPS), nil before the first
	// output unit.
	H264() *ingest.Video
	// Close stops the transcoder and frees what it holds.
	Close() error
}

// NewVideoTranscoder starts a video transcoder for an H.264 stream with
// the given parameters.
type NewVideoTranscoder func(v *ingest.Video) (VideoTranscoder, error)
