package relay

import (
	"bytes"
	"testing"

	"github.com/pion/rtp/codecs"
)

// depacketize reassembles payloads with pion's depacketizer (Annex-B out).
func depacketize(t *testing.T, payloads [][]byte) []byte {
	t.Helper()
	var d codecs.H264Packet
	var out []byte
	for _, p := range payloads {
		b, err := d.Unmarshal(p)
		if err != nil {
			t.Fatalf("pion cannot read payload %x...: %v", p[:min(8, len(p))], err)
		}
		out = append(out, b...)
	}
	return out
}

func annexB(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = append(b, 0, 0, 0, 1)
		b = append(b, n...)
	}
	return b
}

func TestPacketizeH264(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1f, 1, 2}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	sei := append([]byte{0x06, 5, 3}, bytes.Repeat([]byte{9}, 30)...)
	aud := []byte{0x09, 0xf0}
	big := append([]byte{0x65}, bytes.Repeat([]byte{0xab, 0xcd, 0xef}, 1500)...)
	small := []byte{0x41, 1, 2, 3}

	for _, tc := range []struct {
		name     string
		nalus    [][]byte
		key      bool
		mtu      int
		packets  int
		firstTyp byte
		want     []byte
	}{
		{"IDR gets parameter sets in a STAP-A", [][]byte{aud, sei, big}, true, 1200, 5, naluSTAPA, annexB(sps, pps, sei, big)},
		{"in-band parameter sets are not repeated", [][]byte{sps, pps, big}, true, 1200, 5, naluSTAPA, annexB(sps, pps, big)},
		{"P-frame single NAL unit", [][]byte{small}, false, 1200, 1, 1, annexB(small)},
		{"slices aggregate", [][]byte{small, small, small}, false, 1200, 1, naluSTAPA, annexB(small, small, small)},
		{"tiny MTU", [][]byte{small, big}, false, 100, 1 + (len(big)-1+97)/98, 1, annexB(small, big)},
	} {
		ps := packetizeH264(tc.nalus, tc.key, sps, pps, tc.mtu)
		if len(ps) != tc.packets {
			t.Errorf("%s: %d packets, want %d", tc.name, len(ps), tc.packets)
		}
		for _, p := range ps {
			if len(p) > tc.mtu {
				t.Errorf("%s: payload of %d bytes over MTU %d", tc.name, len(p), tc.mtu)
			}
		}
		if ps[0][0]&0x1f != tc.firstTyp {
			t.Errorf("%s: first packet type %d, want %d", tc.name, ps[0][0]&0x1f, tc.firstTyp)
		}
		if got := depacketize(t, ps); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: reassembled %d bytes, want %d", tc.name, len(got), len(tc.want))
		}
	}
}

func TestPacketizeVP8(t *testing.T) {
	frame := bytes.Repeat([]byte{1, 2, 3}, 1000)
	ps := packetizeVP8(frame, 1200)
	var d codecs.VP8Packet
	var out []byte
	for i, p := range ps {
		b, err := d.Unmarshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if (d.S == 1) != (i == 0) {
			t.Fatalf("packet %d S=%d", i, d.S)
		}
		out = append(out, b...)
	}
	if !bytes.Equal(out, frame) || len(ps) != 3 {
		t.Fatalf("%d packets, %d bytes back", len(ps), len(out))
	}
}

func BenchmarkPacketizeH264(b *testing.B) {
	big := append([]byte{0x65}, bytes.Repeat([]byte{0xab}, 60000)...)
	b.ReportAllocs()
	for b.Loop() {
		packetizeH264([][]byte{big}, true, []byte{0x67, 1, 2, 3}, []byte{0x68, 1}, maxPayload)
	}
}
