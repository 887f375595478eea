package packager

import "github.com/kastlive/kast/ingest"

// sinkHook hands one muxer's timelines and segments to the Server's
// SegmentSink. A nil *sinkHook (no sink) does nothing, so the timeline
// calls it unconditionally.
type sinkHook struct {
	sink   SegmentSink
	track  string
	epoch  string
	stream *ingest.Stream
	cur    SinkTimeline
}

// newSinkHook returns the hook for a muxer, nil when there is no sink.
func (s *Server) newSinkHook(m *muxer) *sinkHook {
	if s.Sink == nil {
		return nil
	}
	return &sinkHook{sink: s.Sink, track: m.track, epoch: m.epoch}
}

// setStream records the stream the next timelines come from.
func (h *sinkHook) setStream(st *ingest.Stream) {
	if h != nil {
		h.stream = st
	}
}

func (h *sinkHook) timelineStarted(initID int, init []byte, m ingest.Media) {
	if h == nil {
		return
	}
	h.cur = SinkTimeline{Track: h.track, Epoch: h.epoch, InitID: initID, Init: init, Media: m}
	if st := h.stream; st != nil {
		h.cur.Stream, h.cur.StreamStarted, h.cur.Source = st.ID, st.Started, st.Source
	}
	h.sink.TimelineStarted(h.cur)
}

func (h *sinkHook) segmentClosed(seg *segment) {
	if h == nil || len(seg.parts) == 0 || seg.initID != h.cur.InitID {
		return
	}
	n := 0
	for _, p := range seg.parts {
		if p.data != nil {
			n++
		} else {
			n += len(p.chunks)
		}
	}
	bufs := make([][]byte, 0, n)
	size := 0
	for _, p := range seg.parts {
		if p.data != nil {
			bufs = append(bufs, p.data)
		} else {
			bufs = append(bufs, p.chunks...)
		}
		size += p.size
	}
	h.sink.SegmentCompleted(SinkSegment{
		Timeline:      h.cur,
		MSN:           seg.msn,
		Start:         seg.start,
		Duration:      seg.duration,
		PDT:           seg.pdt,
		Discontinuity: seg.discontinuity,
		Buffers:       bufs,
		Size:          size,
	})
}

func (h *sinkHook) timelineEnded(initID int) {
	if h == nil || initID != h.cur.InitID {
		return
	}
	h.sink.TimelineEnded(h.cur)
}
