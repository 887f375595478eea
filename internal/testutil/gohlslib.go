package testutil

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
)

// GohlslibReceivesParts plays url with gohlslib's client (what MediaMTX
// reads LL-HLS with) for 5 s and fails the test unless it received parts
// with both H.264 video and AAC audio.
func GohlslibReceivesParts(t testing.TB, url string) {
	t.Helper()
	var video, audio, parts atomic.Int64
	c := &gohlslib.Client{
		URI:                       url,
		OnDownloadPart:            func(string) { parts.Add(1) },
		OnDownloadPrimaryPlaylist: func(string) {},
		OnDownloadStreamPlaylist:  func(string) {},
	}
	c.OnTracks = func(tracks []*gohlslib.Track) error {
		for _, tr := range tracks {
			switch tr.Codec.(type) {
			case *codecs.H264:
				c.OnDataH26x(tr, func(int64, int64, [][]byte) { video.Add(1) })
			case *codecs.MPEG4Audio:
				c.OnDataMPEG4Audio(tr, func(int64, [][]byte) { audio.Add(1) })
			default:
				return fmt.Errorf("unexpected codec %T", tr.Codec)
			}
		}
		if len(tracks) != 2 {
			return fmt.Errorf("got %d tracks, want video and audio", len(tracks))
		}
		return nil
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stopped := make(chan error, 1)
	go func() { stopped <- c.Wait2() }()
	select {
	case err := <-stopped:
		t.Fatalf("client stopped: %v", err)
	case <-time.After(5 * time.Second):
	}
	t.Logf("gohlslib: %d parts, %d video frames, %d audio frames in 5 s", parts.Load(), video.Load(), audio.Load())
	if parts.Load() < 10 || video.Load() < 60 || audio.Load() < 60 {
		t.Fatalf("too little received: %d parts, %d video, %d audio", parts.Load(), video.Load(), audio.Load())
	}
}
