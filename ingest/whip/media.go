package whip

import (
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"

	"github.com/kastlive/kast/ingest"
)

// writeVideo writes a picture to the hub. params, set on keyframes, are
// the parameters it carries: a change starts a new stream first.
func (s *Session) writeVideo(u *ingest.Unit, params *ingest.Video) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if params != nil {
		s.video = params
		s.announce()
	}
	if s.stream == nil || s.stream.Media.Video == nil {
		return
	}
	s.stream.Write(u)
}

// writeAudio writes an audio frame to the hub. channels is what the frame
// says; the first one seen sets the stream's.
func (s *Session) writeAudio(u *ingest.Unit, channels int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.audio == nil {
		s.audio = ingest.NewOpus(channels)
	}
	if s.stream == nil {
		switch {
		case !s.offered.video:
			s.announce()
		case s.video == nil && !s.audioOnly && s.connectedFor(u.Received) >= videoWait:
			s.audioOnly = true
			s.log.Warn("whip publisher sends no video keyframe: publishing its audio alone until one comes", "waited", videoWait.String())
			s.announce()
		}
	}
	if s.stream == nil || s.stream.Media.Audio == nil {
		return
	}
	// Frames must not overlap: a sender-report correction that moves
	// audio back drops what it overlaps.
	if s.audioSeen && u.DTS < s.lastAudio+s.lastAudioDur/2 {
		return
	}
	s.audioSeen, s.lastAudio = true, u.DTS
	s.lastAudioDur = time.Duration(opus.PacketDuration2(u.Frame)) * time.Second / 48000
	s.stream.Write(u)
}

// announce starts a stream when the media it would carry differs from the
// current stream's. Called with s.mu held.
func (s *Session) announce() {
	var m ingest.Media
	if s.offered.video {
		if s.video == nil && !s.audioOnly {
			return // a stream with video starts at its first keyframe
		}
		m.Video = s.video
	}
	if s.offered.audio {
		if s.audio == nil {
			// No packet yet: Opus decoders play a mono packet on two
			// channels, so two loses nothing.
			s.audio = ingest.NewOpus(2)
		}
		m.Audio = s.audio
	}
	if m.Video == nil && m.Audio == nil {
		return
	}
	if s.stream != nil && m.Equal(s.stream.Media) {
		return
	}
	s.stream = s.pub.Start(m)
	s.audioSeen = false
	s.setKeyframeHook(s.stream)
	s.log.Info("stream media", "media", m.String(), "codecs", strings.Join(m.Codecs(), ","))
}

// connectedFor returns how long the session has been connected at t.
func (s *Session) connectedFor(t time.Time) time.Duration {
	at := s.connectedAt.Load()
	if at == 0 {
		return 0
	}
	return t.Sub(time.Unix(0, at))
}
