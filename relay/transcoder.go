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
