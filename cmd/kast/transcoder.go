package main

import (
	"log/slog"

	"github.com/kastlive/kast/relay"
)

// newTranscoder returns the AAC to Opus transcoder for WebRTC viewers of
// RTMP streams, or nil and why there is none.
func newTranscoder(*slog.Logger) (relay.NewTranscoder, string) {
	// The ffmpeg implementation (internal/transcode) is merged separately.
	return nil, "no AAC to Opus transcoder in this build"
}
