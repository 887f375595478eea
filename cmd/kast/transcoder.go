package main

import (
	"log/slog"

	"github.com/kastlive/kast/ingest"
	"github.com/kastlive/kast/internal/transcode"
	"github.com/kastlive/kast/relay"
)

// newTranscoder returns the AAC to Opus transcoder for WebRTC viewers of
// RTMP streams (an ffmpeg child per stream with viewers), or nil and why
// there is none.
func newTranscoder(log *slog.Logger) (relay.NewTranscoder, string) {
	if !transcode.Available() {
		return nil, "ffmpeg is not installed: install it for audio over WebRTC"
	}
	return func(aac *ingest.Audio) (relay.AudioTranscoder, error) {
		t := &transcode.AACToOpus{Input: aac, Logger: log.With("component", "transcode")}
		if err := t.Initialize(); err != nil {
			return nil, err
		}
		return t, nil
	}, ""
}
