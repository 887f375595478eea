package transcode

import (
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
)

func TestReorderDepth(t *testing.T) {
	for _, tc := range []struct {
		bframes int
		want    int
	}{{0, 0}, {2, 2}} {
		clip := makeH264(t, "320x240", 30, tc.bframes, "300k", time.Second/2)
		got, ok := ReorderDepth(clip.video)
		if !ok || got != tc.want {
			t.Errorf("bframes=%d: ReorderDepth = %d, %v; want %d", tc.bframes, got, ok, tc.want)
		}
		reordered := false
		for _, u := range clip.units {
			reordered = reordered || u.PTS != u.DTS
		}
		if reordered != (tc.bframes > 0) {
			t.Errorf("bframes=%d: units reordered: %v", tc.bframes, reordered)
		}
	}
	if _, ok := ReorderDepth(ingest.NewVP8(1, 1)); ok {
		t.Error("VP8 has a reorder depth")
	}
	if _, ok := ReorderDepth(&ingest.Video{Codec: ingest.CodecH264, SPS: []byte{0x67}}); ok {
		t.Error("a broken SPS has a reorder depth")
	}
}
