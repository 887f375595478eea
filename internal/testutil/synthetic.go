package testutil

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
)

// SyntheticSPS and SyntheticPPS are the parameter sets of FeedSynthetic's
// stream (Constrained Baseline, level 3.1).
var (
	SyntheticSPS = []byte{0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8}
	SyntheticPPS = []byte{0x68, 0xce, 0x3c, 0x80}
)

// SyntheticMedia returns the media of FeedSynthetic's stream with the
// given audio (nil for none).
func SyntheticMedia(audio *ingest.Audio) ingest.Media {
	return ingest.Media{Video: &ingest.Video{Codec: ingest.CodecH264, SPS: SyntheticSPS, PPS: SyntheticPPS, Width: 1280, Height: 720}, Audio: audio}
}

// FeedSynthetic writes a 30 fps stream with a keyframe every second (and
// 20 ms audio frames when the stream has audio) to s in real time, until
// the test ends. The payloads are not decodable pictures.
func FeedSynthetic(t testing.TB, s *ingest.Stream) { t.Cleanup(StartSynthetic(s)) }

// StartSynthetic is FeedSynthetic until the returned function is called
// (the publisher goes silent, or its stream may then be ended from the
// caller's goroutine); it returns once nothing writes to s any more.
func StartSynthetic(s *ingest.Stream) (stop func()) {
	quit := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Add(1)
	stop = func() { once.Do(func() { close(quit) }); wg.Wait() }
	go func() {
		defer wg.Done()
		start := time.Now()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var frame, afr int
		for {
			select {
			case <-quit:
				return
			case <-s.Done():
				return
			case now := <-tick.C:
				el := now.Sub(start)
				for time.Duration(frame)*time.Second/30 <= el {
					pts := time.Duration(frame) * time.Second / 30
					key := frame%30 == 0
					nalu := append([]byte{0x41}, bytes.Repeat([]byte{0x11}, 800)...)
					if key {
						nalu = append([]byte{0x65}, bytes.Repeat([]byte{0x22}, 8000)...)
					}
					s.Write(&ingest.Unit{Kind: ingest.KindVideo, PTS: pts, DTS: pts, Key: key, Received: now, NALUs: [][]byte{nalu}})
					frame++
				}
				if s.Media.Audio != nil {
					for time.Duration(afr)*20*time.Millisecond <= el {
						pts := time.Duration(afr) * 20 * time.Millisecond
						s.Write(&ingest.Unit{Kind: ingest.KindAudio, PTS: pts, DTS: pts, Key: true, Received: now, Frame: []byte{0xfc, 0xff, 0xfe}})
						afr++
					}
				}
			}
		}
	}()
	return stop
}
