package whip

import "github.com/kastlive/kast/ingest"

// keyframeHook is the hub's way for readers (the WebRTC relay, the
// packager) to ask the publisher for a keyframe.
type keyframeHook interface {
	SetKeyframeRequester(func())
}

// setKeyframeHook lets the stream's readers ask this session for
// keyframes, through the same rate limit as the session's own requests.
func (s *Session) setKeyframeHook(st *ingest.Stream) {
	s.trackMu.Lock()
	kf := s.kf
	s.trackMu.Unlock()
	if h, ok := any(st).(keyframeHook); ok && kf != nil {
		h.SetKeyframeRequester(kf.request)
	}
}
