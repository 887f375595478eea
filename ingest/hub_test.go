package ingest

import (
	"errors"
	"testing"
	"time"
)

func videoUnit(dts time.Duration, key bool) *Unit {
	return &Unit{Kind: KindVideo, DTS: dts, PTS: dts, Key: key, NALUs: [][]byte{{0x65, 1, 2, 3}}}
}

func TestClaimRefusesSecondPublisher(t *testing.T) {
	h := &Hub{}
	p, err := h.Claim("main", "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Claim("main", "b", nil); !errors.Is(err, ErrTrackBusy) {
		t.Fatalf("second claim: %v, want ErrTrackBusy", err)
	}
	p.Close(nil)
	if _, err := h.Claim("main", "b", nil); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
}

func TestSlowReaderDropsAndResumesAtKeyframe(t *testing.T) {
	h := &Hub{}
	p, _ := h.Claim("main", "test", nil)
	s := p.Start(Media{Video: &Video{Codec: CodecH264}})
	slow := s.Subscribe(4)
	fast := s.Subscribe(100)

	// 10 units without reading the slow one: the publisher must not block.
	done := make(chan struct{})
	go func() {
		for i := range 10 {
			s.Write(videoUnit(time.Duration(i)*33*time.Millisecond, i == 0))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Write blocked on a slow reader")
	}
	if slow.Dropped() != 6 {
		t.Fatalf("slow reader dropped %d, want 6", slow.Dropped())
	}
	if fast.Dropped() != 0 || len(fast.Units()) != 10 {
		t.Fatalf("fast reader got %d units, dropped %d", len(fast.Units()), fast.Dropped())
	}
	for range 4 {
		<-slow.Units()
	}
	// Room again, but the slow reader waits for the next keyframe.
	s.Write(videoUnit(400*time.Millisecond, false))
	s.Write(videoUnit(433*time.Millisecond, true))
	s.Write(videoUnit(466*time.Millisecond, false))
	u := <-slow.Units()
	if !u.Key || u.DTS != 433*time.Millisecond {
		t.Fatalf("slow reader resumed with %+v, want the keyframe", u)
	}
	p.Close(errors.New("done"))
	if _, ok := <-slow.Units(); !ok {
		t.Fatal("unit after the keyframe lost")
	}
	if _, ok := <-slow.Units(); ok {
		t.Fatal("channel not closed at the end of the stream")
	}
	if st := h.Stats(); st.Publishers != 0 || st.Readers != 0 {
		t.Fatalf("stats after close: %+v", st)
	}
}

func TestNewReaderStartsAtKeyframe(t *testing.T) {
	h := &Hub{}
	p, _ := h.Claim("main", "test", nil)
	s := p.Start(Media{Video: &Video{Codec: CodecH264}})
	s.Write(videoUnit(0, true))
	r := s.Subscribe(10)
	s.Write(videoUnit(33*time.Millisecond, false))
	s.Write(&Unit{Kind: KindAudio, DTS: 40 * time.Millisecond, Key: true, Frame: []byte{1}})
	s.Write(videoUnit(66*time.Millisecond, true))
	if u := <-r.Units(); !u.Key || u.Kind != KindVideo {
		t.Fatalf("first unit %+v, want a video keyframe", u)
	}
	if r.Dropped() != 0 {
		t.Fatalf("joining mid-GOP counted %d drops", r.Dropped())
	}
	p.Close(nil)
}

func TestReconfigureEndsStream(t *testing.T) {
	h := &Hub{}
	var started []*Stream
	h.OnStream(func(s *Stream) { started = append(started, s) })
	p, _ := h.Claim("main", "test", nil)
	s1 := p.Start(Media{Video: &Video{Codec: CodecH264}})
	s2 := p.Start(Media{Video: &Video{Codec: CodecH264, Width: 1}})
	if !errors.Is(s1.Err(), ErrReconfigured) {
		t.Fatalf("first stream ended with %v", s1.Err())
	}
	select {
	case <-s1.Done():
	default:
		t.Fatal("first stream not done")
	}
	if len(started) != 2 || started[1] != s2 || h.Live("main") != s2 {
		t.Fatalf("handlers saw %d streams", len(started))
	}
	p.Close(nil)
	if h.Live("main") != nil {
		t.Fatal("track still live after Close")
	}
}

func TestStalePublisherIsReplaced(t *testing.T) {
	h := &Hub{}
	kicked := false
	p, _ := h.Claim("main", "a", func() { kicked = true })
	s := p.Start(Media{Video: &Video{Codec: CodecH264}})
	s.Write(&Unit{Kind: KindVideo, Key: true, Received: time.Now(), NALUs: [][]byte{{5}}})
	if _, err := h.Claim("main", "b", nil); !errors.Is(err, ErrTrackBusy) || kicked {
		t.Fatalf("active publisher: %v, kicked %v", err, kicked)
	}
	s.Write(&Unit{Kind: KindVideo, Key: true, Received: time.Now().Add(-StaleAfter - time.Second), NALUs: [][]byte{{5}}})
	p2, err := h.Claim("main", "b", nil)
	if err != nil || !kicked {
		t.Fatalf("stale publisher not replaced: %v, kicked %v", err, kicked)
	}
	p.Close(errors.New("kicked"))
	if st := h.Stats(); st.Publishers != 1 {
		t.Fatalf("publishers %d after the old one left", st.Publishers)
	}
	p2.Close(nil)
	if st := h.Stats(); st.Publishers != 0 {
		t.Fatalf("publishers %d", st.Publishers)
	}
}

func TestRequestKeyframeIsRateLimited(t *testing.T) {
	h := &Hub{}
	p, _ := h.Claim("main", "test", nil)
	s := p.Start(Media{Video: &Video{Codec: CodecH264}})
	if s.RequestKeyframe() {
		t.Fatal("request passed on without a requester")
	}
	n := 0
	s.SetKeyframeRequester(func() { n++ })
	if !s.RequestKeyframe() || s.RequestKeyframe() || n != 1 {
		t.Fatalf("first two requests: %d calls, want 1", n)
	}
	s.keyframeAt.Add(-int64(KeyframeInterval))
	if !s.RequestKeyframe() || n != 2 {
		t.Fatalf("request after the interval: %d calls", n)
	}
	p.Close(nil)
}
