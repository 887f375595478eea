package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/conference"
	"github.com/kastlive/kast/internal/testutil"
	"github.com/kastlive/kast/web/vod"
)

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

// waitEndlist polls a VOD playlist (with headers hdr) until it is
// complete.
func waitEndlist(t *testing.T, url string, timeout time.Duration, hdr ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, _, b := getBody(t, url, hdr...)
		if code == 200 && strings.Contains(string(b), "#EXT-X-ENDLIST") {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not complete after %v: %d\n%s", url, timeout, code, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// decodeAll has ffmpeg decode a whole recording (input options such as
// -headers or -cookies before it) and returns the seconds of video it
// decoded (30 fps) and ffmpeg's complaints.
func decodeAll(t *testing.T, url string, input ...string) (float64, []string) {
	t.Helper()
	args := append([]string{"-hide_banner", "-loglevel", "warning"}, input...)
	out, err := testutil.Run(t, 120*time.Second, append(args, "-i", url, "-f", "framecrc", "-")...)
	if err != nil {
		t.Fatalf("ffmpeg reading %s: %v\n%s", url, err, testutil.Tail(out, 30))
	}
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
	code, _, b := getBody(t, base+"/api/v1/admin/recordings", "Authorization", "Bearer "+testAdminToken)
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
	// A poster from a keyframe (ffmpeg child), made once and cached.
	for range 2 {
		code, hdr, img := getBody(t, a.testURL("/vod/12/poster.jpg"))
		if code != 200 || hdr.Get("Content-Type") != "image/jpeg" || len(img) < 1000 || img[0] != 0xFF || img[1] != 0xD8 {
			t.Fatalf("poster: %d %v, %d bytes", code, hdr, len(img))
		}
	}
	testutil.RequireBrowser(t)
	res, exit := testutil.Play(t, mp4URL, "20", "3")
	t.Logf("Chromium: started %v after %v ms, frames %v, errors %v", res.Started, deref(res.StartMs), res.FramesSeries, res.Errors)
	if !res.Started || res.FramesEnd <= res.FramesStart || exit == 2 {
		t.Fatalf("Chromium did not play the MP4: exit %d %+v\n%s", exit, res, logs)
	}
}

// TestRecordingAcrossReconnect: the publisher drops and comes back within
// a talk; the talk has one recording that plays across the
// discontinuity, as HLS and as MP4.
func TestRecordingAcrossReconnect(t *testing.T) {
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_ADMIN_TOKEN": testAdminToken})
	onAir(a.feed, &conference.Talk{ID: 21, Title: "Reconnecting"})
	p1 := testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Size: "640x360", Bitrate: "1000k", Duration: 6 * time.Second})
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)
	if err := p1.Wait(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	p2 := testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Size: "640x360", Bitrate: "1000k", Duration: 6 * time.Second})
	if err := p2.Wait(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	onAir(a.feed, nil)
	pl := waitEndlist(t, a.testURL("/vod/21/index.m3u8"), 20*time.Second)
	if n := strings.Count(pl, "#EXT-X-DISCONTINUITY\n"); n != 1 {
		t.Fatalf("%d discontinuities, want 1:\n%s", n, pl)
	}
	if n := len(listRecordings(t, a.testURL("")).Talks); n != 1 {
		t.Fatalf("%d talk recordings, want 1", n)
	}
	for _, url := range []string{a.testURL("/vod/21/index.m3u8"), a.testURL("/vod/21/talk.mp4")} {
		got, problems := decodeAll(t, url)
		if len(problems) > 0 {
			t.Errorf("%s: ffmpeg reported:\n%s", url, strings.Join(problems, "\n"))
		}
		if got < 10.5 || got > 12.5 {
			t.Errorf("%s: %.2f s decoded, want both publishes (12 s)", url, got)
		}
	}
}

// testMetricsToken puts /metrics of a kast child process on its main
// listener (its own metrics listener's port is not printed).
const testMetricsToken = "test-metrics-token-0123456789"

// scrapeMetric reads one sample from /metrics ("" when absent).
func scrapeMetric(t *testing.T, url, name string) string {
	t.Helper()
	_, _, b := getBody(t, url, "Authorization", "Bearer "+testMetricsToken)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return ""
}

// watchLive has ffmpeg read the live stream for d and fails the test if
// it missed frames: a viewer must see no gap.
func watchLive(t *testing.T, url string, d time.Duration) {
	t.Helper()
	out := testutil.FrameCRC(t, url, d)
	video, audio, problems := testutil.CountFrames(out)
	if len(problems) > 0 {
		t.Errorf("live viewer: ffmpeg reported:\n%s", strings.Join(problems, "\n"))
	}
	// framecrc numbers video frames in 1/30 s: consecutive frames differ by 1.
	var last, gaps int64 = -1, 0
	for _, l := range strings.Split(out, "\n") {
		var stream, dts int64
		if n, _ := fmt.Sscanf(strings.ReplaceAll(l, ",", " "), "%d %d", &stream, &dts); n == 2 && stream == 0 {
			if last >= 0 && dts-last > 1 {
				gaps++
			}
			last = dts
		}
	}
	t.Logf("live viewer: %d video, %d audio frames in %v, %d gaps", video, audio, d, gaps)
	if want := int(d.Seconds()-1) * 30; video < want || gaps > 0 {
		t.Errorf("live viewer saw %d video frames (want %d) and %d gaps", video, want, gaps)
	}
}

// TestRecordingBudgetFillsMidTalk: a budget spent during a talk stops the
// recording (the metric says so) while a live viewer keeps playing.
func TestRecordingBudgetFillsMidTalk(t *testing.T) {
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_ADMIN_TOKEN": testAdminToken,
		"KAST_RECORD_BUDGET": "2M"})
	onAir(a.feed, &conference.Talk{ID: 31, Title: "Long talk"})
	testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Duration: 40 * time.Second})
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)
	watchLive(t, a.testURL("/hls/main/index.m3u8"), 14*time.Second)
	metrics := "http://" + a.web.MetricsAddr().String() + "/metrics"
	if v := scrapeMetric(t, metrics, "kast_recording_stopped"); v != "1" {
		t.Fatalf("kast_recording_stopped %q, want 1\n%s", v, logs)
	}
	if v := scrapeMetric(t, metrics, "kast_recording_dropped_segments_total"); v == "" || v == "0" {
		t.Fatalf("kast_recording_dropped_segments_total %q", v)
	}
	if !strings.Contains(logs.String(), "recording stopped") {
		t.Fatalf("no log line:\n%s", logs)
	}
	// What was recorded before the budget ran out still plays.
	l := listRecordings(t, a.testURL(""))
	if len(l.Talks) != 1 || l.Talks[0].Bytes > 2<<20 || l.Talks[0].Segments < 2 {
		t.Fatalf("talks %+v", l.Talks)
	}
	t.Logf("recorded %d segments (%d bytes) before the budget ran out", l.Talks[0].Segments, l.Talks[0].Bytes)
}

// TestRecordingDiskFull runs kast with its recordings on a 3 MiB tmpfs
// (a mount namespace: no root needed) and nothing kept free: the disk
// fills during the talk, writes fail with ENOSPC, recording stops with
// the metric set and the live stream goes on.
func TestRecordingDiskFull(t *testing.T) {
	unshare := testutil.RequireTool(t, "unshare")
	if out, err := exec.Command(unshare, "-rm", "true").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("unshare -rm: %v %s", err, out)
		}
		t.Skipf("no user and mount namespaces here: %v %s", err, out)
	}
	dir := t.TempDir()
	p := startRecProcess(t, dir, map[string]string{"KAST_RECORD_MIN_FREE": "0"},
		unshare, "-rm", "sh", "-c", `mkdir -p "$KAST_DATA_DIR/recordings" && mount -t tmpfs -o size=3m tmpfs "$KAST_DATA_DIR/recordings" && exec "$0"`)
	testutil.StartPublish(t, testutil.Publish{URL: p.publishURL(), Duration: 40 * time.Second})
	waitHTTP(t, p.url("/hls/main/index.m3u8"), 15*time.Second)
	watchLive(t, p.url("/hls/main/index.m3u8"), 14*time.Second)
	metrics := p.url("/metrics")
	if v := scrapeMetric(t, metrics, "kast_recording_stopped"); v != "1" {
		t.Fatalf("kast_recording_stopped %q, want 1\n%s", v, p.logs)
	}
	if v := scrapeMetric(t, metrics, "kast_recording_write_errors_total"); v == "" || v == "0" {
		t.Fatalf("kast_recording_write_errors_total %q\n%s", v, p.logs)
	}
	if !strings.Contains(p.logs.String(), "no space left on device") {
		t.Fatalf("no ENOSPC in the log:\n%s", p.logs)
	}
}

// TestRecordingSurvivesKill9 kills kast (SIGKILL) in the middle of a
// recording and starts it again on the same data dir: the recording is
// repaired and plays up to the last complete segment.
func TestRecordingSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	p := startRecProcess(t, dir, nil)
	pub := testutil.StartPublish(t, testutil.Publish{URL: p.publishURL(), Duration: 60 * time.Second})
	waitHTTP(t, p.url("/hls/main/index.m3u8"), 15*time.Second)
	var before vod.PublishListing
	deadline := time.Now().Add(30 * time.Second)
	for {
		if l := listRecordings(t, p.url("")); len(l.Publishes) == 1 && l.Publishes[0].Segments >= 6 {
			before = l.Publishes[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recording after 30 s:\n%s", p.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Let the writer get into the middle of the next segment, then kill.
	time.Sleep(500 * time.Millisecond)
	p.kill()
	pub.Stop()

	a, logs := startAppIn(t, dir)
	l := listRecordings(t, a.testURL(""))
	if len(l.Publishes) != 1 {
		t.Fatalf("publishes after restart: %+v", l.Publishes)
	}
	after := l.Publishes[0]
	t.Logf("before the kill %d segments listed; after the restart %d (%.2f s)", before.Segments, after.Segments, after.DurationS)
	if after.Live || after.Segments < before.Segments {
		t.Fatalf("after restart %+v, before %+v\n%s", after, before, logs)
	}
	pl := waitEndlist(t, a.testURL(after.Playlist), 5*time.Second, "Authorization", "Bearer "+testAdminToken)
	got, problems := decodeAll(t, a.testURL(after.Playlist), "-headers", "Authorization: Bearer "+testAdminToken+"\r\n")
	if len(problems) > 0 {
		t.Errorf("ffmpeg reported:\n%s\n%s", strings.Join(problems, "\n"), pl)
	}
	if got < after.DurationS-0.1 || got > after.DurationS+0.1 {
		t.Errorf("decoded %.2f s of %.2f s recorded", got, after.DurationS)
	}
	if !strings.Contains(logs.String(), "recording repair") {
		t.Errorf("no repair logged:\n%s", logs)
	}
}

// TestRecordingsCommand lists, trims and deletes a talk's recording with
// `kast recordings` against a running kast.
func TestRecordingsCommand(t *testing.T) {
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_ADMIN_TOKEN": testAdminToken})
	onAir(a.feed, &conference.Talk{ID: 41, Title: "Trimmed talk"})
	pub := testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Size: "320x240", Bitrate: "300k", Duration: 6 * time.Second})
	if err := pub.Wait(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	onAir(a.feed, nil)
	waitEndlist(t, a.testURL("/vod/41/index.m3u8"), 40*time.Second)
	env := map[string]string{"KAST_ADMIN_TOKEN": testAdminToken}
	run := func(args ...string) string {
		var out, errOut bytes.Buffer
		if code := recordingsCommand(append(args, "-url", a.testURL("")), func(k string) string { return env[k] }, &out, &errOut); code != 0 {
			t.Fatalf("kast recordings %v: exit %d: %s", args, code, errOut.String())
		}
		return out.String()
	}
	if out := run("list"); !strings.Contains(out, "Trimmed talk") || !strings.Contains(out, "MiB") && !strings.Contains(out, "KiB") {
		t.Fatalf("list:\n%s", out)
	}
	full := listRecordings(t, a.testURL("")).Talks[0]
	run("trim", "-talk", "41", "-start", "2s", "-end", "1s")
	trimmed := listRecordings(t, a.testURL("")).Talks[0]
	t.Logf("%.2f s, trimmed %.2f s", full.DurationS, trimmed.DurationS)
	if d := full.DurationS - trimmed.DurationS; d < 2 || d > 4 {
		t.Fatalf("trimmed %.2f s of %.2f s", trimmed.DurationS, full.DurationS)
	}
	got, problems := decodeAll(t, a.testURL("/vod/41/index.m3u8"))
	if len(problems) > 0 || got < trimmed.DurationS-0.1 || got > trimmed.DurationS+0.1 {
		t.Fatalf("trimmed recording decodes to %.2f s: %v", got, problems)
	}
	run("delete", "-talk", "41")
	if code, _, _ := getBody(t, a.testURL("/vod/41/index.m3u8")); code != 404 {
		t.Fatalf("deleted talk's playlist: %d", code)
	}
	if l := listRecordings(t, a.testURL("")); len(l.Talks) != 0 || len(l.Publishes) != 0 || l.Stats.UsageBytes != 0 {
		t.Fatalf("after delete: %+v", l)
	}
	// Without the token: refused.
	if code, _, _ := getBody(t, a.testURL("/api/v1/admin/recordings"), "Authorization", "Bearer wrong-token-0123456789"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
}

// TestRecordingFromAPIOnAir: a talk created and switched on air through
// the conference API (PUT /api/v1/tracks/main/on-air) gets its recording.
func TestRecordingFromAPIOnAir(t *testing.T) {
	a, logs := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey, "KAST_ADMIN_TOKEN": testAdminToken})
	now := time.Now().Truncate(time.Minute)
	st, b := apiDo(t, http.DefaultClient, a, "POST", "/api/v1/events/meetup/talks", map[string]any{
		"track": "main", "title": "Recorded through the API",
		"start": now.Format(time.RFC3339), "end": now.Add(time.Hour).Format(time.RFC3339)}, true)
	if st != 201 {
		t.Fatalf("create talk: %d %s", st, b)
	}
	var talk struct{ ID int64 }
	json.Unmarshal(b, &talk)
	pub := testutil.StartPublish(t, testutil.Publish{URL: a.publishURL(testStreamKey), Size: "320x240", Bitrate: "300k", Duration: 8 * time.Second})
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)
	if st, b := apiDo(t, http.DefaultClient, a, "PUT", "/api/v1/tracks/main/on-air", map[string]any{"talk_id": talk.ID}, true); st != 200 {
		t.Fatalf("on air: %d %s", st, b)
	}
	time.Sleep(4 * time.Second)
	if st, b := apiDo(t, http.DefaultClient, a, "PUT", "/api/v1/tracks/main/on-air", map[string]any{"talk_id": nil}, true); st != 200 {
		t.Fatalf("off air: %d %s", st, b)
	}
	pub.Wait(20 * time.Second)
	url := a.testURL(fmt.Sprintf("/vod/%d/index.m3u8", talk.ID))
	waitEndlist(t, url, 20*time.Second)
	got, problems := decodeAll(t, url)
	if len(problems) > 0 || got < 3 || got > 5.1 {
		t.Fatalf("%.2f s decoded (on air 4 s): %v\n%s", got, problems, logs)
	}
	// The talk's API object links to it.
	st, b = apiDo(t, http.DefaultClient, a, "GET", fmt.Sprintf("/api/v1/talks/%d", talk.ID), nil, false)
	var view struct {
		Recording *struct {
			Playlist  string  `json:"playlist"`
			MP4       string  `json:"mp4"`
			DurationS float64 `json:"duration_s"`
		} `json:"recording"`
	}
	if err := json.Unmarshal(b, &view); err != nil || st != 200 || view.Recording == nil ||
		view.Recording.Playlist != fmt.Sprintf("/vod/%d/index.m3u8", talk.ID) || view.Recording.DurationS < 3 {
		t.Fatalf("talk object: %d %s", st, b)
	}
}
