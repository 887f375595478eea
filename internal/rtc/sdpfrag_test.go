package rtc

import (
	"errors"
	"testing"
)

func TestParseSDPFrag(t *testing.T) {
	f, err := ParseSDPFrag([]byte("a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" +
		"a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1\r\na=end-of-candidates\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Ufrag != "EsAw" || f.Pwd == "" || len(f.Candidates) != 1 || *f.Candidates[0].SDPMid != "0" || !f.EndOfCandidates {
		t.Fatalf("%+v", f)
	}
	for _, bad := range []string{"hello", "a=ice-pwd:x\r\n", "x=1\r\n"} {
		if _, err := ParseSDPFrag([]byte(bad)); !errors.Is(err, ErrBadFrag) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := ParseSDPFrag([]byte("v=0\r\n")); !errors.Is(err, ErrUnsupportedFrag) {
		t.Errorf("whole SDP: %v", err)
	}
}

// FuzzParseSDPFrag feeds arbitrary PATCH bodies to the fragment parser.
func FuzzParseSDPFrag(f *testing.F) {
	f.Add([]byte("a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host\r\na=end-of-candidates\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseSDPFrag(b)
		if err != nil {
			if !errors.Is(err, ErrBadFrag) && !errors.Is(err, ErrUnsupportedFrag) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if fr.Pwd != "" && fr.Ufrag == "" {
			t.Fatal("password without ufrag accepted")
		}
	})
}
