package ingest

import "time"

// KeyframeInterval is the least time between two keyframe requests passed
// to a publisher: viewers joining together, or one losing packets, ask
// many times for what one keyframe answers.
const KeyframeInterval = 500 * time.Millisecond

// SetKeyframeRequester sets the function that asks the publisher for a
// keyframe (a WHIP publisher sends a PLI). Publishers that cannot be asked
// (RTMP) leave it unset. f must not block.
func (s *Stream) SetKeyframeRequester(f func()) {
	s.keyframeFunc.Store(&f)
}

// RequestKeyframe asks the publisher for a keyframe, at most once per
// KeyframeInterval. It reports whether the request went to the publisher.
func (s *Stream) RequestKeyframe() bool {
	f := s.keyframeFunc.Load()
	if f == nil || *f == nil {
		return false
	}
	now := time.Now().UnixNano()
	last := s.keyframeAt.Load()
	if now-last < int64(KeyframeInterval) || !s.keyframeAt.CompareAndSwap(last, now) {
		return false
	}
	(*f)()
	return true
}
