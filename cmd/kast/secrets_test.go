package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/kastlive/kast/internal/testutil"
)

func secret(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (a *app) rtmpHost() string { return a.rtmp.Addr().String() }

func metricLinesOf(text, prefix string) string {
	var keep []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func fetchMetrics(t *testing.T, a *app) string {
	t.Helper()
	res, err := http.Get("http://" + a.web.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestSecretsStayOutOfLogs runs kast at debug level through what leaks
// secrets elsewhere: a provisioned stream key, a wrong key, a key that
// breaks URL parsing, a first command quoting the key (gortmplib quotes
// whole commands in its errors), a play request with the key, a real
// publish with it (ffmpeg) and with extended chunk stream IDs, a
// rotation (command line), a publish with the new key and one with the
// old, a rotation over the API during a publish and a publish with that
// key. Then it
// looks for every secret in the whole log of both runs and of the
// rotation, in /metrics and in the banners.
func TestSecretsStayOutOfLogs(t *testing.T) {
	testutil.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	key := secret("provisioned-")
	wrong := secret("wrong-")
	broken := secret("broken%zz-")
	metricsToken := secret("metrics-")
	env := map[string]string{"KAST_DATA_DIR": dir, "KAST_STREAM_KEY": key, "KAST_LOG_LEVEL": "debug", "KAST_METRICS_TOKEN": metricsToken}
	a, logsA := startAppEnv(t, env)
	var bannerA bytes.Buffer
	a.banner.print(&bannerA)
	token := a.banner.adminToken // generated: shown once, in the banner
	if token == "" || strings.Contains(bannerA.String(), key) {
		t.Fatalf("banner of the first start (key provisioned):\n%s", bannerA.String())
	}
	base := "rtmp://" + a.rtmpHost() + "/live/"

	// A wrong key, with ffmpeg.
	if out, err := testutil.Run(t, 20*time.Second, testutil.Publish{URL: base + wrong, Size: "320x240", Duration: 2 * time.Second}.Args()...); err == nil {
		t.Fatalf("published with a wrong key:\n%s", out)
	}
	// A key net/url cannot parse (gortmplib joins it into a URL).
	p := &testutil.HandPublisher{}
	if err := p.Dial(a.rtmpHost()); err != nil {
		t.Fatal(err)
	}
	if err := p.PublishAs("live", "rtmp://"+a.rtmpHost()+"/live", broken); err == nil {
		t.Fatal("published with a broken key")
	}
	p.Close()
	// A first command that is not connect, carrying the key.
	p = &testutil.HandPublisher{}
	if err := p.Dial(a.rtmpHost()); err != nil {
		t.Fatal(err)
	}
	p.Send(0, "publish", 1, nil, key, amf0.Object{{Key: "tcUrl", Value: base + key}})
	p.Wait(5 * time.Second)
	p.Close()
	// Playback with the key.
	if out, err := testutil.Run(t, 20*time.Second, "-hide_banner", "-loglevel", "error", "-i", base+key, "-t", "1", "-f", "null", "-"); err == nil {
		t.Fatalf("played over RTMP:\n%s", out)
	}
	// The real publisher, like OBS.
	pub := testutil.StartPublish(t, testutil.Publish{URL: base + key, Size: "320x240", Duration: 3 * time.Second})
	waitHTTP(t, a.testURL("/hls/main/index.m3u8"), 15*time.Second)
	if err := pub.Wait(30 * time.Second); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, pub.Output())
	}
	// Extended chunk stream IDs with the key, and a frame.
	p = &testutil.HandPublisher{CommandID: 400, AudioID: 64, VideoID: 65599}
	if err := p.Publish(base + key); err != nil {
		t.Fatal(err)
	}
	p.Close()
	metricsA := fetchMetrics(t, a)
	a.stop()

	// Rotate: the new key is printed on stdout, nowhere else.
	cfg, err := parseConfig([]string{"-rotate-stream-key", "main"}, func(k string) string {
		return map[string]string{"KAST_DATA_DIR": dir, "KAST_LOG_LEVEL": "debug"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var rotateOut, rotateLogs bytes.Buffer
	if err := run(context.Background(), cfg, &rotateOut, &rotateLogs); err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(rotateOut.String())
	newKey := fields[len(fields)-1]

	b, logsB := startAppEnv(t, map[string]string{"KAST_DATA_DIR": dir, "KAST_LOG_LEVEL": "debug"})
	var bannerB bytes.Buffer
	b.banner.print(&bannerB)
	base = "rtmp://" + b.rtmpHost() + "/live/"
	p = &testutil.HandPublisher{}
	if err := p.Publish(base + key); err == nil || !strings.Contains(err.Error(), "unknown stream key") {
		t.Fatalf("the old key after rotation: %v", err)
	}
	p.Close()
	p = &testutil.HandPublisher{}
	if err := p.Publish(base + newKey); err != nil {
		t.Fatalf("the new key: %v", err)
	}
	// Rotate again over the API while that publisher is on air.
	req, _ := http.NewRequest("POST", b.testURL("/api/v1/tracks/main/stream-key"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rot struct {
		StreamKey string `json:"stream_key"`
	}
	json.NewDecoder(res.Body).Decode(&rot)
	res.Body.Close()
	apiKey := rot.StreamKey
	if res.StatusCode != 200 || apiKey == "" {
		t.Fatalf("rotation over the API: %d", res.StatusCode)
	}
	p.Close()
	for deadline := time.Now().Add(10 * time.Second); b.hub.Stats().Publishers != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the publisher is still on air after the rotation")
		}
	}
	p = &testutil.HandPublisher{}
	if err := p.Publish(base + apiKey); err != nil {
		t.Fatalf("the key from the API: %v", err)
	}
	p.Close()
	metricsB := fetchMetrics(t, b)
	b.stop()

	// The refusals and drops above, counted by reason.
	for _, want := range []string{
		`kast_rtmp_connections_refused_total{reason="unknown_key"} 1`,
		`kast_rtmp_connections_refused_total{reason="play"} 1`,
		`kast_rtmp_connections_dropped_total{reason="protocol_error"} 2`,
		`kast_rtmp_connections{state="unauthenticated"} 0`,
		`kast_rtmp_connections_accepted_total 6`,
	} {
		if !strings.Contains(metricsA, want) {
			t.Errorf("/metrics has no %s:\n%s", want, metricLinesOf(metricsA, "kast_rtmp"))
		}
	}

	logs := logsA.String() + rotateLogs.String() + logsB.String()
	for _, want := range []string{"publish refused", "publish started", "rtmp play refused", "rtmp handshake or connect failed", "rtmp publish request failed", "extended_chunk_headers"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no %q in the log: the test no longer goes where secrets could leak", want)
		}
	}
	for name, text := range map[string]string{
		"log": logs, "metrics": metricsA + metricsB, "banner of the second start": bannerB.String(),
	} {
		for _, s := range []string{key, newKey, apiKey, wrong, broken, "broken%zz", token, metricsToken} {
			if strings.Contains(text, s) {
				var lines []string
				for _, l := range strings.Split(text, "\n") {
					if strings.Contains(l, s) {
						lines = append(lines, l)
					}
				}
				t.Errorf("a secret in the %s:\n%s", name, strings.Join(lines, "\n"))
			}
		}
	}
	t.Logf("%d log lines checked", strings.Count(logs, "\n"))
}
