package main

import (
	"bytes"
	"testing"
)

func TestSEIRoundTrip(t *testing.T) {
	for _, ts := range []int64{
		1_700_000_000_123_456_789,
		0x0000000100000003, // needs emulation prevention
		0x0000030000000100,
		1,
	} {
		nalu := buildSEI(nil, ts)
		if nalu[0] != naluTypeSEI {
			t.Fatalf("NAL type %d", nalu[0])
		}
		for i := 2; i < len(nalu); i++ {
			if nalu[i-2] == 0 && nalu[i-1] == 0 && nalu[i] <= 2 {
				t.Fatalf("%x: start code emulation at %d", nalu, i)
			}
		}
		got, ok, _ := parseSEI(nalu, nil)
		if !ok || got != ts {
			t.Fatalf("parse(%x) = %d, %v; want %d", nalu, got, ok, ts)
		}
	}
}

func TestSEIIgnoresOthers(t *testing.T) {
	// x264-style user data unregistered with another UUID, then ours.
	other := []byte{naluTypeSEI, 5, 20}
	other = append(other, bytes.Repeat([]byte{0xab}, 20)...)
	other = append(other, 0x80)
	if _, ok, _ := parseSEI(other, nil); ok {
		t.Fatal("foreign SEI accepted")
	}
	ours := buildSEI(nil, 42)
	both := append(append([]byte{}, other[:len(other)-1]...), ours[1:]...)
	if got, ok, _ := parseSEI(both, nil); !ok || got != 42 {
		t.Fatalf("second message: %d %v", got, ok)
	}
	if _, ok, _ := parseSEI([]byte{0x65, 1, 2, 3}, nil); ok {
		t.Fatal("slice accepted")
	}
}
