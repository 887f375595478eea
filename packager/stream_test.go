package packager_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/packager"
)

// TestHintedPartStreams requests the preload-hinted part before it exists:
// its first frame must arrive long before the part is complete, and the
// streamed bytes must equal the part served once it is listed; frames
// may be written one by one or gathered over StreamInterval.
func TestHintedPartStreams(t *testing.T) {
	t.Parallel()
	for _, iv := range []time.Duration{0, 50 * time.Millisecond} {
		t.Run(iv.String(), func(t *testing.T) {
			t.Parallel()
			testHintedPartStreams(t, packager.Config{StreamInterval: iv})
		})
	}
}

func testHintedPartStreams(t *testing.T, cfg packager.Config) {
	r := newRig(t, cfg)
	testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 20 * time.Second})
	r.waitPlaylist(t, 10*time.Second)

	for attempt := 0; attempt < 5; attempt++ {
		_, pl := get(t, r.url("media.m3u8"))
		hint := ""
		for _, l := range strings.Split(string(pl), "\n") {
			if strings.HasPrefix(l, "#EXT-X-PRELOAD-HINT:") {
				hint = l[strings.Index(l, `URI="`)+5 : len(l)-1]
			}
		}
		if hint == "" {
			t.Fatalf("no preload hint:\n%s", pl)
		}
		start := time.Now()
		res, err := http.Get(r.url(hint))
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("hinted part: %d", res.StatusCode)
		}
		first := make([]byte, 8)
		if _, err := io.ReadFull(res.Body, first); err != nil {
			t.Fatal(err)
		}
		firstByte := time.Since(start)
		rest, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		complete := time.Since(start)
		streamed := append(first, rest...)
		if string(streamed[4:8]) != "moof" {
			t.Fatalf("streamed part starts with %q", streamed[4:8])
		}
		code, full := get(t, r.url(hint))
		if code != 200 || !bytes.Equal(full, streamed) {
			t.Fatalf("listed part (%d, %d bytes) differs from the streamed one (%d bytes)", code, len(full), len(streamed))
		}
		t.Logf("hinted part: first frame after %v, complete after %v, %d bytes in %d chunks",
			firstByte.Round(time.Millisecond), complete.Round(time.Millisecond), len(streamed), bytes.Count(streamed, []byte("moof")))
		// A part lasts 200 ms; a frame comes every 33 ms.
		if complete-firstByte > 100*time.Millisecond {
			return
		}
	}
	t.Fatal("the hinted part never arrived in pieces: it is not streamed")
}
