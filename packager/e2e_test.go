package packager_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/packager"
)

func TestFFmpegPublishAndRead(t *testing.T) {
	r := newRig(t, packager.Config{})
	pub := testutil.StartPublish(t, testutil.Publish{URL: r.publishURL(), Duration: 20 * time.Second})
	first := r.waitPlaylist(t, 10*time.Second)
	t.Logf("first playlist %v after publish start", first)
	time.Sleep(4 * time.Second) // ffmpeg reads whole segments, not parts
	_, pl := get(t, r.url("media.m3u8"))
	t.Logf("playlist:\n%s", pl)

	out, err := testutil.Run(t, 40*time.Second, "-hide_banner", "-loglevel", "error",
		"-i", r.url("index.m3u8"), "-t", "5", "-f", "null", "-")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("ffmpeg read failed: %v\n%s\npublisher: %s", err, out, pub.Output())
	}
}
