package whip

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// reorderRun pushes packets with the given sequence numbers, one every
// step, and returns what came out: sequence numbers, and "-n" for n lost.
func reorderRun(r *reorder, seqs []uint16, step time.Duration) []string {
	var out []string
	t0 := time.Unix(1000, 0)
	for i, seq := range seqs {
		r.push(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq}}, t0.Add(time.Duration(i)*step),
			func(p *rtp.Packet) { out = append(out, fmt.Sprint(p.SequenceNumber)) },
			func(n int) { out = append(out, fmt.Sprintf("-%d", n)) })
	}
	return out
}

func TestReorder(t *testing.T) {
	for _, tc := range []struct {
		name string
		cap  int
		seqs []uint16
		want []string
	}{
		{"in order", 8, []uint16{1, 2, 3}, []string{"1", "2", "3"}},
		{"swapped", 8, []uint16{1, 3, 2, 4}, []string{"1", "2", "3", "4"}},
		{"duplicate and late", 8, []uint16{1, 2, 2, 3, 1}, []string{"1", "2", "3"}},
		{"wrap", 8, []uint16{65534, 65535, 1, 0, 2}, []string{"65534", "65535", "0", "1", "2"}},
		// 2 never comes: given up once 3 has waited maxDelay (10 ms, two steps)
		{"lost after delay", 8, []uint16{1, 3, 4, 5, 6}, []string{"1", "-1", "3", "4", "5", "6"}},
		// the ring holds 4: a packet 4 ahead forces the gap out
		{"lost by capacity", 4, []uint16{1, 3, 9}, []string{"1", "-1", "3", "-5", "9"}},
		// 7 fits behind 3 and waits for 4-6
		{"held in ring", 4, []uint16{1, 3, 7}, []string{"1", "-1", "3"}},
		{"far jump", 4, []uint16{1, 2, 1000, 1001}, []string{"1", "2", "-997", "1000", "1001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReorder(tc.cap, 10*time.Millisecond)
			got := reorderRun(r, tc.seqs, 5*time.Millisecond)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestReorderWaitsForRetransmission checks that a packet arriving within
// the delay fills its gap instead of being declared lost.
func TestReorderWaitsForRetransmission(t *testing.T) {
	r := newReorder(64, 100*time.Millisecond)
	got := reorderRun(r, []uint16{10, 12, 13, 14, 11, 15}, 10*time.Millisecond)
	want := []string{"10", "11", "12", "13", "14", "15"}
	if !slices.Equal(got, want) || r.lostCount != 0 {
		t.Fatalf("got %v (lost %d), want %v", got, r.lostCount, want)
	}
}
