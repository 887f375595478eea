package rtc

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func chromeOffer(t testing.TB) string {
	b, err := os.ReadFile("testdata/chrome-whep-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseChromeOffer(t *testing.T) {
	o, err := ParseOffer([]byte(chromeOffer(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Media) != 2 {
		t.Fatalf("%d m-lines", len(o.Media))
	}
	v, ok := o.Kind("video")
	if !ok || v.Mid != "1" || v.Direction != "recvonly" || !v.Receives() || v.Sends() {
		t.Fatalf("video %+v", v)
	}
	var pm1 []string
	for _, c := range v.Codecs {
		if c.IsH264PM1() {
			pm1 = append(pm1, c.String())
		}
	}
	want := "H264/90000 packetization-mode=1;profile-level-id=42001f,H264/90000 packetization-mode=1;profile-level-id=42e01f,H264/90000 packetization-mode=1;profile-level-id=64001f"
	if strings.Join(pm1, ",") != want {
		t.Fatalf("pm1 codecs %q", pm1)
	}
	a, _ := o.Kind("audio")
	if len(a.Codecs) == 0 || !a.Codecs[0].IsOpus() || a.Codecs[0].String() != "opus/48000/2" {
		t.Fatalf("audio %+v", a.Codecs)
	}
}

func TestParseOfferErrors(t *testing.T) {
	good := chromeOffer(t)
	for _, tc := range []struct {
		name, sdp, reason string
	}{
		{"empty", "", "empty body"},
		{"not sdp", "hello", "malformed SDP offer"},
		{"no media", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "no audio or video m-line"},
		{"plain RTP", strings.ReplaceAll(good, "UDP/TLS/RTP/SAVPF", "RTP/AVP"), "needs UDP/TLS/RTP/SAVPF"},
		{"no ice", strings.ReplaceAll(good, "a=ice-pwd:3xVbLdGm0U2sS1nTqH5yY8aC\r\n", ""), "no ice-ufrag/ice-pwd"},
		{"no fingerprint", removeLines(good, "a=fingerprint"), "no DTLS fingerprint"},
		{"bad payload type", strings.Replace(good, "SAVPF 111 63", "SAVPF 1111 63", 1), `payload type "1111"`},
		{"too big", good + strings.Repeat("a=x\r\n", MaxOfferSize/5), "more than"},
	} {
		_, err := ParseOffer([]byte(tc.sdp))
		if !errors.Is(err, ErrBadOffer) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %v, want ErrBadOffer with %q", tc.name, err, tc.reason)
		}
	}
}

func removeLines(s, prefix string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\r\n") {
		if !strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func TestNoCommonCodecError(t *testing.T) {
	o, err := ParseOffer([]byte(chromeOffer(t)))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := o.Kind("video")
	err = NewNoCommonCodecError(v, "H264/90000 packetization-mode=1")
	want := "no common video codec: the offer has VP8/90000, H264/90000 packetization-mode=1;profile-level-id=42001f, " +
		"H264/90000 packetization-mode=0;profile-level-id=42001f, H264/90000 packetization-mode=1;profile-level-id=42e01f, " +
		"H264/90000 packetization-mode=1;profile-level-id=64001f, AV1/90000; kast has H264/90000 packetization-mode=1"
	if err.Error() != want {
		t.Fatalf("got\n %s\nwant\n %s", err, want)
	}
}

// FuzzParseOffer feeds arbitrary bodies to the offer parser: it must not
// panic, and whatever it accepts has an audio or video m-line.
func FuzzParseOffer(f *testing.F) {
	f.Add([]byte(chromeOffer(f)))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOffer(b)
		if err != nil {
			if !errors.Is(err, ErrBadOffer) {
				t.Fatalf("error %v does not wrap ErrBadOffer", err)
			}
			return
		}
		n := 0
		for _, m := range o.Media {
			if m.Kind == "audio" || m.Kind == "video" {
				n++
				for _, c := range m.Codecs {
					_ = c.String()
				}
				_ = NewNoCommonCodecError(m, "x").Error()
			}
		}
		if n == 0 {
			t.Fatal("accepted an offer without audio or video")
		}
	})
}
