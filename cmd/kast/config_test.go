package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestConfigFlagsOverrideEnvironment(t *testing.T) {
	env := map[string]string{"KAST_HTTP_ADDR": ":9000", "KAST_PART_TARGET": "300ms", "KAST_RTMP_ADDR": ":2000"}
	cfg, err := parseConfig([]string{"-rtmp-addr", ":3000"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":9000" || cfg.RTMPAddr != ":3000" || cfg.PartTarget != 300*time.Millisecond || cfg.DataDir != "./data" {
		t.Fatalf("%+v", cfg)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{env: map[string]string{"KAST_PART_TARGET": "fast"}, want: "KAST_PART_TARGET"},
		{args: []string{"-log-format", "xml"}, want: "log-format"},
		{env: map[string]string{"KAST_STREAM_KEY": "short"}, want: "too short"},
		{args: []string{"-rtmps-addr", ":1936"}, want: "tls-cert"},
		{args: []string{"extra"}, want: "unexpected argument"},
		{args: []string{"-trusted-proxies", "10.0.0.0/33"}, want: "trusted-proxies"},
	} {
		_, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: error %v, want %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestHelpListsEnvironment(t *testing.T) {
	var out bytes.Buffer
	parseConfig([]string{"-h"}, func(string) string { return "" }, &out)
	for _, name := range []string{"KAST_HTTP_ADDR", "KAST_RTMP_ADDR", "KAST_DATA_DIR", "KAST_WEBRTC_UDP_ADDR", "KAST_ADMIN_TOKEN", "KAST_STREAM_KEY", "KAST_PART_TARGET"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("kast -h does not mention %s", name)
		}
	}
}

// TestSecretsPrintedOnce starts kast twice on one data dir.
func TestSecretsPrintedOnce(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"KAST_DATA_DIR": dir, "KAST_HTTP_ADDR": "127.0.0.1:0", "KAST_RTMP_ADDR": "127.0.0.1:0", "KAST_METRICS_ADDR": "127.0.0.1:0", "KAST_WEBRTC_UDP_ADDR": "127.0.0.1:0"}
	start := func() string {
		cfg, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var out bytes.Buffer
		done := make(chan error)
		go func() { done <- run(ctx, cfg, &out, io.Discard) }()
		time.Sleep(500 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	first, second := start(), start()
	if !strings.Contains(first, "Stream Key  ") || !strings.Contains(first, "Admin token:") || !strings.Contains(first, "/watch/main") {
		t.Fatalf("first start:\n%s", first)
	}
	if strings.Contains(second, "Admin token:") || !strings.Contains(second, "rotate-stream-key") {
		t.Fatalf("second start shows secrets again:\n%s", second)
	}
}

// TestRotateStreamKey prints a new key; the old one stops working.
func TestRotateStreamKey(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"KAST_DATA_DIR": dir, "KAST_STREAM_KEY": testStreamKey}
	a, _ := startApp(t, map[string]string{"KAST_STREAM_KEY": testStreamKey})
	a.stop()
	env["KAST_DATA_DIR"] = a.cfg.DataDir
	cfg, err := parseConfig([]string{"-rotate-stream-key", "main"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.StreamKey = "" // not provisioning again: the rotated key must stay
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(out.String())
	newKey := fields[len(fields)-1]
	if len(newKey) < 32 || newKey == testStreamKey {
		t.Fatalf("rotate printed %q", out.String())
	}

	b, _ := startAppIn(t, a.cfg.DataDir)
	if _, err := b.authorize(context.Background(), testStreamKey); err == nil {
		t.Fatal("the old key still works")
	}
	if track, err := b.authorize(context.Background(), newKey); err != nil || track != "main" {
		t.Fatalf("the new key: %q %v", track, err)
	}
}
