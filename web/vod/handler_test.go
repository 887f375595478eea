package vod_test

import (
	"errors"
	"net/http"
	"testing"
)

// TestGateCoversRecordings: a gated track's recordings need the same
// credential as its live stream, for every file.
func TestGateCoversRecordings(t *testing.T) {
	gate := func(r *http.Request, track string) error {
		if track != "main" {
			t.Errorf("gate asked for track %q", track)
		}
		if r.Header.Get("Authorization") != "Bearer ticket" {
			return errors.New("this event needs a ticket")
		}
		return nil
	}
	base, _ := talkFixture(t, 10, gate)
	for _, path := range []string{"/vod/1/index.m3u8", "/vod/1/talk.mp4", "/vod/1/20261201T090000Z/seg-0.m4s",
		"/vod/1/20261201T090000Z/init-1.mp4"} {
		for _, tc := range []struct {
			auth string
			want int
		}{{"", 403}, {"Bearer ticket", 200}} {
			req, _ := http.NewRequest("GET", base+path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if path == "/vod/1/talk.mp4" && tc.want == 200 {
				tc.want = 500 // the fixture's init is not an MP4: the gate passed
			}
			if res.StatusCode != tc.want {
				t.Errorf("%s with %q: %d, want %d", path, tc.auth, res.StatusCode, tc.want)
			}
			if tc.want == 200 && res.Header.Get("Cache-Control") != "" && res.Header.Get("Cache-Control")[:7] != "private" {
				t.Errorf("%s: gated but Cache-Control %q", path, res.Header.Get("Cache-Control"))
			}
		}
	}
	// Files the recording does not list are not served.
	req, _ := http.NewRequest("GET", base+"/vod/1/20261201T090000Z/seg-99.m4s", nil)
	req.Header.Set("Authorization", "Bearer ticket")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 404 {
		t.Fatalf("unlisted segment: %v %v", res.StatusCode, err)
	}
	for _, p := range []string{"/vod/1/../../etc/passwd", "/vod/1/20261201T090000Z/index.jsonl", "/vod/x/index.m3u8", "/vod/2/index.m3u8"} {
		req, _ := http.NewRequest("GET", base+p, nil)
		req.Header.Set("Authorization", "Bearer ticket")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Errorf("%s served", p)
		}
	}
}
