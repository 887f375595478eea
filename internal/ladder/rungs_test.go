package ladder

import (
	"slices"
	"testing"

	"github.com/kastlive/kast/internal/transcode"
)

func TestParseRungs(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []transcode.Rung
	}{
		{"", nil},
		{" 480p, 360p ", []transcode.Rung{{Name: "480p", Height: 480, Bitrate: 1_250_000}, {Name: "360p", Height: 360, Bitrate: 700_000}}},
		{"480P:1200k", []transcode.Rung{{Name: "480p", Height: 480, Bitrate: 1_200_000}}},
		{"720p:2.5M,240p:300000", []transcode.Rung{{Name: "720p", Height: 720, Bitrate: 2_500_000}, {Name: "240p", Height: 240, Bitrate: 300_000}}},
	} {
		got, err := ParseRungs(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"480", "481p", "p", "480p,480p", "480p:", "480p:10k", "480p:99M", "8p", "9000p", "480p:fast", ","} {
		if got, err := ParseRungs(in); err == nil {
			t.Errorf("%q accepted: %+v", in, got)
		}
	}
}

func TestDefaultBitrate(t *testing.T) {
	for h, want := range map[int]int{240: 300_000, 360: 700_000, 480: 1_250_000, 720: 2_750_000, 1080: 6_200_000, 16: 50_000} {
		if got := DefaultBitrate(h); got != want {
			t.Errorf("%dp: %d, want %d", h, got, want)
		}
	}
}

func TestRungsFor(t *testing.T) {
	rs, _ := ParseRungs("720p,480p,360p")
	l := &Ladder{Rungs: rs}
	var names []string
	for _, r := range l.rungsFor(720) {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"480p", "360p"}) {
		t.Fatalf("below 720: %v", names)
	}
	if got := l.rungsFor(360); len(got) != 0 {
		t.Fatalf("below 360: %v", got)
	}
}

// FuzzParseRungs: any string is refused with an error or gives rungs the
// transcoder accepts.
func FuzzParseRungs(f *testing.F) {
	for _, s := range []string{"480p,360p", "720p:2.5M,240p:300000", "480P:1200k", "", "p", "480p:", "1e9p", "480p:1e400k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rungs, err := ParseRungs(s)
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for _, r := range rungs {
			if r.Height < 16 || r.Height > 4320 || r.Height%2 != 0 || r.Bitrate < 50_000 || r.Bitrate > 50_000_000 || seen[r.Height] {
				t.Fatalf("%q: rung %+v", s, r)
			}
			seen[r.Height] = true
		}
	})
}
