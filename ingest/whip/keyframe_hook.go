package whip

import "github.com/kastlive/kast/ingest"

// setKeyframeHook lets the stream's readers (the WebRTC relay, for a
// viewer joining or losing packets) ask this session for keyframes. The
// hub limits them to one per ingest.KeyframeInterval; the requester then
// merges them with the session's own requests under MinKeyframeInterval.
func (s *Session) setKeyframeHook(st *ingest.Stream) {
	s.trackMu.Lock()
	kf := s.kf
	s.trackMu.Unlock()
	if kf != nil {
		st.SetKeyframeRequester(kf.request)
	}
}
