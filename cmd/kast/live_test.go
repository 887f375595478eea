package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/gorilla/websocket"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/internal/testutil"
)

// liveMessage is what the test reads of the live channel's messages.
type liveMessage struct {
	Type          string
	Track         string
	At            time.Time
	SwitchDelayMS int64 `json:"switch_delay_ms"`
	Talk          *struct{ ID int64 }
	Tracks        []struct {
		Track   string
		Viewers int
		HLS     int
	}
	Viewers []struct {
		Track   string
		Viewers int
	}
}

// liveChannel connects to the whole server's live channel and delivers
// its messages, with their arrival times, on a channel.
type arrival struct {
	msg liveMessage
	at  time.Time
}

func dialLive(t *testing.T, a *app, event string) <-chan arrival {
	t.Helper()
	url := "ws://" + a.web.Addr().String() + "/api/v1/events/" + event + "/live"
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	out := make(chan arrival, 256)
	go func() {
		defer close(out)
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			var m liveMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Errorf("%s: %v", b, err)
				return
			}
			out <- arrival{m, time.Now()}
		}
	}()
	return out
}

// startGohlslib plays url with gohlslib's client until stopped.
func startGohlslib(t *testing.T, url string) func() {
	t.Helper()
	c := &gohlslib.Client{URI: url, OnDownloadPart: func(string) {}, OnDownloadPrimaryPlaylist: func(string) {}, OnDownloadStreamPlaylist: func(string) {}, OnDownloadSegment: func(string) {}}
	c.OnTracks = func([]*gohlslib.Track) error { return nil }
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			c.Close()
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestLiveChannelOnAirAndViewerCounts: a websocket client on the live
// channel sees an on-air change within a second, and viewer counts that
// follow real players (two gohlslib LL-HLS clients and an ffmpeg reader)
// as they start and stop.
func TestLiveChannelOnAirAndViewerCounts(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 60 * time.Second, Size: "640x360", Bitrate: "800k"})
	hlsURL := a.testURL("/hls/main/index.m3u8")
	waitHTTP(t, hlsURL, 15*time.Second)

	msgs := dialLive(t, a, conference.DefaultEventSlug)
	if m := <-msgs; m.msg.Type != "hello" {
		t.Fatalf("first message %+v", m.msg)
	}

	// On air: published on the feed as the API's PUT /tracks/{id}/on-air
	// does (TestGatedEventWholeServer goes through the API).
	sent := time.Now()
	a.feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: sent, EventID: a.directory.Tracks()[0].EventID, Track: "main",
		Talk: &conference.Talk{ID: 9, Title: "Opening"}})
	for m := range msgs {
		if m.msg.Type != "on_air" {
			continue
		}
		if d := m.at.Sub(sent); d > time.Second || m.msg.Talk == nil || m.msg.Talk.ID != 9 || m.msg.Track != "main" {
			t.Fatalf("on_air %+v after %v", m.msg, d)
		}
		t.Logf("on_air arrived %v after the change (suggested switch delay %d ms)", m.at.Sub(sent).Round(time.Microsecond), m.msg.SwitchDelayMS)
		break
	}

	var series []string
	waitViewers := func(want int, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		deadline := time.After(within)
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatal("live channel closed")
				}
				if m.msg.Type != "viewers" {
					continue
				}
				n := m.msg.Tracks[0].Viewers
				series = append(series, fmt.Sprintf("%.1fs:%d", m.at.Sub(sent).Seconds(), n))
				if n == want {
					return time.Since(start)
				}
			case <-deadline:
				t.Fatalf("viewer count never reached %d in %v: %s", want, within, strings.Join(series, " "))
			}
		}
	}

	stop1 := startGohlslib(t, hlsURL)
	stop2 := startGohlslib(t, hlsURL)
	t.Logf("2 gohlslib players counted after %v", waitViewers(2, 10*time.Second))
	ff := testutil.Start(t, "-hide_banner", "-loglevel", "error", "-i", hlsURL, "-c", "copy", "-f", "null", "-")
	t.Logf("+ ffmpeg counted after %v", waitViewers(3, 15*time.Second))
	// The API's tracks listing shows the same count.
	if code, body := apiDo(t, http.DefaultClient, a, "GET", "/api/v1/events/"+conference.DefaultEventSlug+"/tracks", nil, false); code != 200 || !strings.Contains(string(body), `"viewers":3`) {
		t.Errorf("tracks listing: %d %s", code, body)
	}
	time.Sleep(3 * time.Second) // the count holds while they play
	ff.Stop()
	t.Logf("ffmpeg gone after %v", waitViewers(2, 10*time.Second))
	stop1()
	stop2()
	t.Logf("all gone after %v", waitViewers(0, 10*time.Second))
	t.Logf("viewer counts pushed: %s", strings.Join(series, " "))
	if m := metricLines(a, "kast_viewers"); !strings.Contains(m, `kast_viewers{protocol="hls",track="main"} 0`) {
		t.Errorf("metrics:\n%s", m)
	}
}
