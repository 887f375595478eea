package transcode

import (
	"bytes"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

func TestTagSEI(t *testing.T) {
	for _, id := range []uint64{0, 1, 255, 1 << 40, ^uint64(0)} {
		n := tagSEI(id)
		if bytes.Contains(n, []byte{0, 0}) {
			t.Fatalf("tag %d holds 00 00: it would need emulation prevention", id)
		}
		got, only, ok := readTagSEI(n)
		if !ok || !only || got != id {
			t.Fatalf("readTagSEI(tagSEI(%d)) = %d, %v, %v", id, got, only, ok)
		}
	}
	// A NAL with another message first (x264's version string is user
	// data too) is recognised but kept.
	other := append([]byte{5, 20}, append([]byte("0123456789abcdef"), 'x', '2', '6', '4')...)
	both := append([]byte{byte(h264.NALUTypeSEI)}, other...)
	both = append(both, tagSEI(7)[1:]...)
	both = append(both[:len(both)-1], 0x80)
	if id, only, ok := readTagSEI(both); !ok || only || id != 7 {
		t.Fatalf("mixed SEI: %d %v %v", id, only, ok)
	}
	for _, n := range [][]byte{nil, {6}, {5, 1, 2}, {6, 5, 200, 1}, append([]byte{6, 5, 32}, "kast-reencode-idzzzzzzzzzzzzzzzz\x80"...)} {
		if _, _, ok := readTagSEI(n); ok {
			t.Fatalf("readTagSEI(%q) found a tag", n)
		}
	}
}

func FuzzReadTagSEI(f *testing.F) {
	f.Add(tagSEI(42))
	f.Add([]byte{6, 0xff, 0xff, 3, 1, 2, 3, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		readTagSEI(b)
	})
}
