package packager

import (
	"bytes"
	"testing"
	"time"

	"github.com/kastlive/kast/ingest"
)

// TestOpusTimeline: Opus audio (a WHIP publisher's) is packaged with each
// packet's own duration, and the init segment carries an Opus sample entry.
func TestOpusTimeline(t *testing.T) {
	tl := testTimeline(t, ingest.Media{Video: testVideo, Audio: ingest.NewOpus(2)})
	// TOC 0xfc: CELT FB 20 ms, one frame. 0xf8|1: two frames, 40 ms.
	for i := range 300 {
		d := time.Duration(i) * 20 * time.Millisecond
		if i%30 == 0 {
			pushVideo(tl, d, i%60 == 0)
		} else if i%3 == 0 {
			pushVideo(tl, d, false)
		}
		tl.push(&ingest.Unit{Kind: ingest.KindAudio, DTS: d, PTS: d, Key: true, Frame: []byte{0xfc, 1, 2}})
	}
	if len(tl.segments) < 4 {
		t.Fatalf("%d segments", len(tl.segments))
	}
	init := tl.inits[tl.sess.initID]
	if !bytes.Contains(init, []byte("Opus")) || !bytes.Contains(init, []byte("dOps")) {
		t.Fatal("init segment without an Opus sample entry")
	}
	if got := tl.sess.audioFrame; got != 960 {
		t.Fatalf("Opus frame %d samples, want 960", got)
	}
}

// TestHLSMediaFilters: VP8 (WebRTC only) leaves an audio-only HLS stream;
// with nothing HLS can carry, the session is refused with the reason.
func TestHLSMediaFilters(t *testing.T) {
	m, err := hlsMedia(ingest.Media{Video: ingest.NewVP8(640, 480), Audio: ingest.NewOpus(2)})
	if err != nil || m.Video != nil || m.Audio == nil {
		t.Fatalf("VP8+Opus: %+v, %v", m, err)
	}
	if _, err := hlsMedia(ingest.Media{Video: ingest.NewVP8(640, 480)}); err == nil {
		t.Fatal("VP8 alone accepted for HLS")
	}
	if got := (ingest.Media{Video: testVideo, Audio: ingest.NewOpus(2)}).Codecs(); len(got) != 2 || got[1] != "opus" {
		t.Fatalf("codecs %v", got)
	}
}
