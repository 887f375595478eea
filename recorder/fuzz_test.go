package recorder

import (
	"bytes"
	"testing"
)

// FuzzReadIndex: any bytes left in an index (a crash, a damaged disk)
// parse into a prefix of lines, never a panic, and what is kept re-reads
// the same.
func FuzzReadIndex(f *testing.F) {
	f.Add([]byte("{\"k\":\"publish\",\"track\":\"main\",\"id\":\"x\"}\n{\"k\":\"init\",\"init\":1,\"file\":\"init-1.mp4\",\"size\":9}\n"))
	f.Add([]byte("{\"k\":\"seg\",\"msn\":3,\"init\":1,\"file\":\"seg-3.m4s\",\"size\":5,\"start_us\":1,\"dur_us\":2}\n{\"k\":\"se"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, good, _, err := readIndex(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if good > int64(len(b)) {
			t.Fatalf("good %d of %d", good, len(b))
		}
		again, good2, damaged, _ := readIndex(bytes.NewReader(b[:good]))
		if len(again) != len(lines) || good2 != good || damaged {
			t.Fatalf("prefix re-read: %d lines (%d), %d bytes (%d), damaged %v", len(again), len(lines), good2, good, damaged)
		}
	})
}

// FuzzFragmentLayout: a segment file of any content is walked without a
// panic, and every tfdt found lies inside it.
func FuzzFragmentLayout(f *testing.F) {
	moof := []byte{0, 0, 0, 68, 'm', 'o', 'o', 'f',
		0, 0, 0, 16, 'm', 'f', 'h', 'd', 0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 44, 't', 'r', 'a', 'f',
		0, 0, 0, 16, 't', 'f', 'h', 'd', 0, 2, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 20, 't', 'f', 'd', 't', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9,
		0, 0, 0, 8, 'm', 'd', 'a', 't'}
	f.Add(moof)
	f.Add(moof[:30])
	f.Fuzz(func(t *testing.T, b []byte) {
		lay, err := fragmentLayout(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range lay {
			n := int64(4)
			if p.v1 {
				n = 8
			}
			if p.off < 0 || p.off+n > int64(len(b)) {
				t.Fatalf("tfdt at %d outside %d bytes", p.off, len(b))
			}
		}
	})
}
