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

// newVideoTranscoder returns the re-encode without B-frames for WebRTC
// viewers (-webrtc-reencode-bframes), or nil when it is off or ffmpeg is
// missing (logged: those viewers are refused as without the option).
func newVideoTranscoder(on bool, log *slog.Logger) relay.NewVideoTranscoder {
	if !on {
		return nil
	}
	if !transcode.Available() {
		log.Warn("-webrtc-reencode-bframes needs ffmpeg, which is not installed: WebRTC viewers of streams with B-frames are refused")
		return nil
	}
	return func(v *ingest.Video) (relay.VideoTranscoder, error) {
		t := &transcode.VideoReencoder{Input: v, Logger: log.With("component", "transcode"), Name: "reencode"}
		if err := t.Initialize(); err != nil {
			return nil, err
		}
		return t, nil
	}
}
