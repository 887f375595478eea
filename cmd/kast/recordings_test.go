package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/web/vod"
)

const testAdminToken = "test-admin-token-0123456789"

// onAir switches a talk on air on the main track, as the conference API
// will, and returns when.
func onAir(feed *conference.Feed, talk *conference.Talk) time.Time {
	now := time.Now()
	feed.Publish(conference.Change{Kind: conference.ChangeOnAir, At: now, Track: "main", Talk: talk})
	return now
}

// getBody fetches url with optional headers and returns status, headers
// and body.
func getBody(t *testing.T, url string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return res.StatusCode, res.Header, b
}

// waitEndlist polls a VOD playlist until it is complete.
func waitEndlist(t *testing.T, url string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, _, b := getBody(t, url)
		if code == 200 && strings.Contains(string(b), "#EXT-X-ENDLIST") {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not complete after %v: %d\n%s", url, timeout, code, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// decodeAll has ffmpeg decode a whole recording and returns the seconds
// of video it decoded (30 fps) and ffmpeg's complaints.
func decodeAll(t *testing.T, url string) (float64, []string) {
	t.Helper()
	out := testutil.FrameCRC(t, url, 600*time.Second)
	video, audio, problems := testutil.CountFrames(out)
	t.Logf("%s: %d video, %d audio frames", url, video, audio)
	if audio == 0 {
		problems = append(problems, "no audio decoded")
	}
	return float64(video) / 30, problems
}

// listRecordings asks the admin API.
func listRecordings(t *testing.T, base string) vod.Listing {
	t.Helper()
	code, _, b := getBody(t, base+"/api/admin/recordings", "Authorization", "Bearer "+testAdminToken)
	if code != 200 {
		t.Fatalf("list: %d %s", code, b)
	}
	var l vod.Listing
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestRecordingThreeTalks switches three talks on air in turn during one
// publish: each gets its own VOD playlist, which ffmpeg decodes without
// an error, lasting its time on air within a segment. The second talk's
// MP4 download plays in ffmpeg and Chromium, and a Range request gets
// the right bytes.
func TestRecordingThreeTalks(t *testing.T) {
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_ADMIN_TOKEN": testAdminToken})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Size: "640x360", Bitrate: "1000k", Duration: 40 * time.Second})
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)
	talks := []*conference.Talk{{ID: 11, Title: "First talk"}, {ID: 12, Title: "Second talk"}, {ID: 13, Title: "Third talk"}}
	var at []time.Time
	for _, talk := range talks {
		at = append(at, onAir(a.feed, talk))
		time.Sleep(7 * time.Second)
	}
	at = append(at, onAir(a.feed, nil))
	for i, talk := range talks {
		url := a.testURL(fmt.Sprintf("/vod/%d/index.m3u8", talk.ID))
		pl := waitEndlist(t, url, 20*time.Second)
		if !strings.Contains(pl, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(pl, "#EXT-X-MAP:URI=") {
			t.Fatalf("talk %d playlist:\n%s", talk.ID, pl)
		}
		span := at[i+1].Sub(at[i]).Seconds()
		got, problems := decodeAll(t, url)
		t.Logf("talk %d: on air %.2f s, recording decodes to %.2f s", talk.ID, span, got)
		if len(problems) > 0 {
			t.Errorf("talk %d: ffmpeg reported:\n%s", talk.ID, strings.Join(problems, "\n"))
		}
		if d := got - span; d < -1.05 || d > 1.05 {
			t.Errorf("talk %d: %.2f s decoded, on air %.2f s: more than a segment apart\n%s", talk.ID, got, span, pl)
		}
	}

	// The MP4 of the second talk: one file, decodable, seekable.
	mp4URL := a.testURL("/vod/12/talk.mp4")
	code, hdr, whole := getBody(t, mp4URL)
	if code != 200 || hdr.Get("Content-Type") != "video/mp4" || hdr.Get("Accept-Ranges") != "bytes" ||
		hdr.Get("Content-Length") != fmt.Sprint(len(whole)) {
		t.Fatalf("MP4: %d %v (%d bytes)", code, hdr, len(whole))
	}
	got, problems := decodeAll(t, mp4URL)
	if len(problems) > 0 {
		t.Errorf("MP4: ffmpeg reported:\n%s", strings.Join(problems, "\n"))
	}
	if span := at[2].Sub(at[1]).Seconds(); got < span-1.05 || got > span+1.05 {
		t.Errorf("MP4: %.2f s decoded, on air %.2f s", got, span)
	}
	for _, rg := range [][2]int{{0, 99}, {1000, 1999}, {len(whole) / 2, len(whole)/2 + 65535}, {len(whole) - 10, len(whole) - 1}} {
		code, hdr, b := getBody(t, mp4URL, "Range", fmt.Sprintf("bytes=%d-%d", rg[0], rg[1]))
		if code != 206 || !bytes.Equal(b, whole[rg[0]:rg[1]+1]) ||
			hdr.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", rg[0], rg[1], len(whole)) {
			t.Fatalf("Range %v: %d %q, %d bytes, equal %v", rg, code, hdr.Get("Content-Range"), len(b), bytes.Equal(b, whole[rg[0]:rg[1]+1]))
		}
	}
	testutil.RequireBrowser(t)
	res, exit := testutil.Play(t, mp4URL, "20", "3")
	t.Logf("Chromium: started %v after %v ms, frames %v, errors %v", res.Started, deref(res.StartMs), res.FramesSeries, res.Errors)
	if !res.Started || res.FramesEnd <= res.FramesStart || exit == 2 {
		t.Fatalf("Chromium did not play the MP4: exit %d %+v\n%s", exit, res, logs)
	}
}
