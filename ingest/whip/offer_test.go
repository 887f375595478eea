package whip

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"

	"github.com/kastlive/kast/internal/rtc"
)

// answerFormats returns the payload types of each m-line of an SDP.
func answerFormats(t *testing.T, s string) map[string][]string {
	t.Helper()
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, m := range sd.MediaDescriptions {
		out[m.MediaName.Media] = m.MediaName.Formats
	}
	return out
}

// TestAnswerToRealOffers answers the offers of Chromium's publish page
// and of aiortc (recorded in testdata): the answer lists the offer's own
// payload types, H.264 first, Opus for audio.
func TestAnswerToRealOffers(t *testing.T) {
	for _, tc := range []struct {
		file         string
		video, audio []string
	}{
		// Chromium: its H.264 payload types kast's table takes, then VP8
		{"testdata/chrome-whip-offer.sdp", nil, []string{"111"}},
		{"testdata/aiortc-offer.sdp", []string{"99", "101"}, []string{"96"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			o, err := rtc.ParseOffer(b)
			if err != nil {
				t.Fatal(err)
			}
			r := newRig(t, nil)
			s, err := r.srv.Publish(context.Background(), Request{StreamKey: testKey, Offer: b})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Delete()
			got := answerFormats(t, s.Answer())
			ov, _ := o.Kind("video")
			offered := map[string]rtc.OfferedCodec{}
			for _, c := range ov.Codecs {
				offered[strconv.Itoa(int(c.PayloadType))] = c
			}
			if len(got["video"]) == 0 {
				t.Fatalf("no video in the answer:\n%s", s.Answer())
			}
			sawVP8 := false
			for _, pt := range got["video"] {
				c, ok := offered[pt]
				if !ok {
					t.Fatalf("answer payload type %s not in the offer", pt)
				}
				if c.IsVP8() {
					sawVP8 = true
				} else if !c.IsH264PM1() || sawVP8 {
					t.Fatalf("answer video %v: %s out of place", got["video"], c)
				}
			}
			if !offered[got["video"][0]].IsH264PM1() {
				t.Fatalf("answer does not put H.264 first: %v", got["video"])
			}
			if tc.video != nil && !slices.Equal(got["video"], tc.video) {
				t.Fatalf("video %v, want %v", got["video"], tc.video)
			}
			if !slices.Equal(got["audio"], tc.audio) {
				t.Fatalf("audio %v, want %v", got["audio"], tc.audio)
			}
		})
	}
}

// FuzzWHIPOffer feeds arbitrary offers to Server.Publish: it never
// panics, refuses with a categorized error (a malformed offer, no common
// codec), or answers a session that then ends cleanly.
func FuzzWHIPOffer(f *testing.F) {
	for _, name := range []string{"testdata/chrome-whip-offer.sdp", "testdata/aiortc-offer.sdp"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	e := &rtc.Engine{UDPAddr: "127.0.0.1:0"}
	if err := e.Initialize(); err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	srv := &Server{Engine: e, Hub: hubForFuzz(), Authorize: func(context.Context, string) (string, error) { return "main", nil }, Logger: discardLogger()}
	if err := srv.Initialize(); err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	f.Fuzz(func(t *testing.T, offer []byte) {
		s, err := srv.Publish(context.Background(), Request{StreamKey: "k", Offer: offer})
		if err != nil {
			var nc *rtc.NoCommonCodecError
			if !errors.Is(err, rtc.ErrBadOffer) && !errors.As(err, &nc) {
				t.Fatalf("uncategorized error: %v", err)
			}
			return
		}
		if !strings.HasPrefix(s.Answer(), "v=0") {
			t.Fatalf("answer %q", s.Answer())
		}
		s.Delete()
	})
}

// TestOfferRefusals checks the reasons given for offers kast cannot take,
// made from Chromium's offer.
func TestOfferRefusals(t *testing.T) {
	b, err := os.ReadFile("testdata/chrome-whip-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	c := string(b)
	video := c[strings.Index(c, "m=video"):strings.Index(c, "m=audio")]
	r := newRig(t, nil)
	for _, tc := range []struct {
		name, offer, reason string
	}{
		{"receive only", strings.ReplaceAll(c, "a=sendonly", "a=recvonly"), "no audio or video m-line sends media"},
		{"simulcast", strings.Replace(c, "a=sendonly\r\n", "a=sendonly\r\na=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n", 1), "simulcast is not supported"},
		{"two video lines", c + strings.Replace(video, "a=mid:0", "a=mid:2", 1), "more than one video m-line"},
		{"no video codec", strings.ReplaceAll(strings.ReplaceAll(c, "H264/90000", "H265/90000"), "VP8/90000", "VP9/90000"),
			"no common video codec: the offer has H265/90000, VP9/90000, AV1/90000; kast has H264/90000 packetization-mode=1, VP8/90000"},
		{"no audio codec", strings.ReplaceAll(c, "opus/48000/2", "speex/48000"), "no common audio codec: the offer has speex/48000, G722/8000, PCMU/8000, PCMA/8000; kast has opus/48000/2"},
		{"only packetization mode 0", strings.ReplaceAll(strings.ReplaceAll(c, "packetization-mode=1", "packetization-mode=0"), "VP8/90000", "VP9/90000"), "no common video codec"},
	} {
		_, err := r.srv.Publish(context.Background(), Request{StreamKey: testKey, Offer: []byte(tc.offer)})
		if err == nil || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.reason)
		}
	}
	if r.hub.Stats().Publishers != 0 || r.srv.Stats().Sessions != 0 {
		t.Fatal("a refused offer left a session")
	}
}
