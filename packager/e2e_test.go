package packager_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/packager"
)

func TestFFmpegReadsFiveSeconds(t *testing.T) {
	t.Parallel()
	r := newRig(t, packager.Config{})
	pub := testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 25 * time.Second})
	first := r.waitPlaylist(t, 10*time.Second)
	t.Logf("first playlist %v after publish start", first)
	time.Sleep(3 * time.Second) // ffmpeg's HLS reader starts three whole segments back

	testutil.DecodeFiveSeconds(t, r.url("index.m3u8"), func() string { return "publisher: " + pub.Output() })
}

func TestGohlslibClientReceivesParts(t *testing.T) {
	t.Parallel()
	r := newRig(t, packager.Config{})
	testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 20 * time.Second})
	r.waitPlaylist(t, 10*time.Second)

	testutil.GohlslibReceivesParts(t, r.url("index.m3u8"))
}

func TestTimestampsPast24Bits(t *testing.T) {
	t.Parallel()
	r := newRig(t, packager.Config{})
	// 16776 s is 1.2 s short of 0xFFFFFF ms: the publisher's timestamps
	// need RTMP's extended timestamp field from then on.
	pub := testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 12 * time.Second,
		Extra: []string{"-output_ts_offset", "16776"}})
	r.waitPlaylist(t, 10*time.Second) // about 3 s: the playlist waits for three segments
	time.Sleep(5 * time.Second)
	if st := r.hub.Stats(); st.Publishers != 1 {
		t.Fatalf("publisher gone before its end: %+v\n%s", st, pub.Output())
	}
	_, pl := get(t, r.url("media.m3u8"))
	if n := strings.Count(string(pl), "#EXTINF"); n < 4 {
		t.Fatalf("%d segments after 8 s, want at least 4:\n%s", n, pl)
	}
	if err := pub.Wait(10 * time.Second); err != nil {
		t.Fatalf("publisher: %v\n%s", err, pub.Output())
	}
}

func TestReconnectContinues(t *testing.T) {
	t.Parallel()
	r := newRig(t, packager.Config{})
	p1 := testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 9 * time.Second})
	r.waitPlaylist(t, 10*time.Second) // about 3 s: the playlist waits for three segments
	time.Sleep(3 * time.Second)

	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := testutil.Run(t, 60*time.Second, "-hide_banner", "-loglevel", "warning",
			"-i", r.url("index.m3u8"), "-t", "12", "-f", "framecrc", "-")
		done <- result{out, err}
	}()

	if err := p1.Wait(15 * time.Second); err != nil {
		t.Fatalf("first publisher: %v", err)
	}
	time.Sleep(time.Second)
	testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 20 * time.Second})

	res := <-done
	if res.err != nil {
		t.Fatalf("ffmpeg reader stopped at the reconnect: %v\n%s", res.err, testutil.Tail(res.out, 30))
	}
	video, audio, problems := testutil.CountFrames(res.out)
	t.Logf("decoded %d video, %d audio frames across the reconnect", video, audio)
	if len(problems) > 0 {
		t.Logf("ffmpeg said:\n%s", strings.Join(problems, "\n"))
	}
	// 12 s of video: about 5 s from the first publisher, the rest from the second.
	if video < 11*30 {
		t.Fatalf("decoded %d video frames, want 12 s worth", video)
	}
	_, pl := get(t, r.url("media.m3u8"))
	if !strings.Contains(string(pl), "#EXT-X-DISCONTINUITY\n") {
		t.Fatalf("no discontinuity after the reconnect:\n%s", pl)
	}
}

// fetchConcat downloads the init segment and the first n complete segments
// into one file and returns its path.
func fetchConcat(t *testing.T, r *rig, n int) string {
	t.Helper()
	_, pl := get(t, r.url("media.m3u8"))
	var buf []byte
	segs := 0
	for _, line := range strings.Split(string(pl), "\n") {
		if strings.HasPrefix(line, "#EXT-X-MAP:URI=") && buf == nil {
			name := strings.Trim(strings.TrimPrefix(line, "#EXT-X-MAP:URI="), `"`)
			code, b := get(t, r.url(name))
			if code != http.StatusOK {
				t.Fatalf("init: %d", code)
			}
			buf = append(buf, b...)
		}
		if strings.HasPrefix(line, "seg-") && segs < n {
			code, b := get(t, r.url(line))
			if code != http.StatusOK {
				t.Fatalf("%s: %d", line, code)
			}
			buf = append(buf, b...)
			segs++
		}
	}
	if segs < n {
		t.Fatalf("only %d segments listed:\n%s", segs, pl)
	}
	p := filepath.Join(t.TempDir(), "media.mp4")
	if err := os.WriteFile(p, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSingleTrackPublishes covers OBS with its audio off and an audio-only
// publish: each plays back from the HLS with the one track it has.
func TestSingleTrackPublishes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		args  []string
		video bool
	}{
		{"video-only", []string{"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-c:v", "libx264",
			"-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p"}, true},
		{"audio-only", []string{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:a", "aac"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, packager.Config{})
			args := append([]string{"-hide_banner", "-loglevel", "error", "-re"}, tc.args...)
			args = append(args, "-t", "20", "-f", "flv", r.publishURL())
			testutil.Start(t, args...)
			r.waitPlaylist(t, 10*time.Second)
			time.Sleep(3 * time.Second)
			out := testutil.FrameCRC(t, r.url("index.m3u8"), 3*time.Second)
			lines, _, problems := testutil.CountFrames(out)
			if len(problems) > 0 {
				t.Fatalf("ffmpeg: %s", strings.Join(problems, "\n"))
			}
			// the only stream is stream 0 in both cases
			want := 85
			if !tc.video {
				want = 3 * 48000 / 1024 * 9 / 10
			}
			if lines < want {
				t.Fatalf("decoded %d frames of the one track, want %d", lines, want)
			}
			_, mv := get(t, r.url("index.m3u8"))
			if strings.Contains(string(mv), "avc1") != tc.video || strings.Contains(string(mv), "mp4a") == tc.video {
				t.Fatalf("multivariant CODECS wrong:\n%s", mv)
			}
		})
	}
}
