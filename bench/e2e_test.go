package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kastlive/kast/bench/internal/llserver"
)

// TestEndToEndGohlslib publishes to an in-process gortmplib + gohlslib.Muxer
// server and watches it with each LL-HLS client kind and the classic one.
func TestEndToEndGohlslib(t *testing.T) {
	srv := &llserver.Server{RTMPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Logf: t.Logf}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := loadClip(2_500_000)
	if err != nil {
		t.Fatal(err)
	}
	pub := newPublisher("rtmp://"+srv.RTMPListenAddr()+"/live/bench", c, 2_500_000)
	pubDone := make(chan error, 1)
	go func() { pubDone <- pub.run(ctx) }()
	defer func() {
		cancel()
		if err := <-pubDone; err != nil {
			t.Errorf("publisher: %v", err)
		}
	}()

	hls := "http://" + srv.HTTPListenAddr() + "/live/index.m3u8"
	report := filepath.Join(t.TempDir(), "report.html")
	for _, kind := range []string{clientHLSJS, clientApple, clientClassic} {
		cfg := config{
			hlsURL: hls, viewers: 3, client: kind, ramp: 500 * time.Millisecond,
			duration: 3 * time.Second, bitrate: 2_500_000, wait: 15 * time.Second,
			timeout: 5 * time.Second, serverPID: os.Getpid(),
		}
		res, err := run(ctx, cfg, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var sb strings.Builder
		printTable(&sb, res)
		t.Logf("%s:\n%s", kind, sb.String())
		if res.ViewersWithFrames != 3 || res.Errors != 0 || res.DeliveryLatency.Count == 0 {
			t.Fatalf("%s: %d viewers with frames, %d errors %v, %d latency samples",
				kind, res.ViewersWithFrames, res.Errors, res.ErrorsByKind, res.DeliveryLatency.Count)
		}
		// Parts are 200 ms and segments 1 s; loopback adds little.
		limit := 600.0
		if kind == clientClassic {
			limit = 3000
		}
		if res.DeliveryLatency.P50 <= 0 || res.DeliveryLatency.P50 > limit {
			t.Errorf("%s: delivery latency p50 %.0f ms", kind, res.DeliveryLatency.P50)
		}
		if err := writeHTMLReport(report, res); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(report)
	if err != nil || !strings.Contains(string(b), "<svg") || strings.Contains(string(b), "http://cdn") {
		t.Fatalf("report: %v", err)
	}
}

// needTool skips when a tool is missing, unless CI=true.
func needTool(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return
	}
	if _, err := exec.LookPath(path); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI", path)
	}
	t.Skipf("%s not installed", path)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestNginxRTMP runs bench/nginx-rtmp.sh and watches it with classic viewers.
func TestNginxRTMP(t *testing.T) {
	needTool(t, "nginx")
	needTool(t, "/usr/lib/nginx/modules/ngx_rtmp_module.so")
	rtmpPort, httpPort := freePort(t), freePort(t)
	cmd := exec.Command("bash", "nginx-rtmp.sh")
	cmd.Env = append(os.Environ(), "RTMP_PORT="+strconv.Itoa(rtmpPort), "HTTP_PORT="+strconv.Itoa(httpPort))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	sc := bufio.NewScanner(out)
	var pid int
	var rtmp, hls string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pid "):
			pid, _ = strconv.Atoi(strings.TrimPrefix(line, "pid "))
		case strings.HasPrefix(line, "rtmp://"):
			rtmp = line
		case strings.HasPrefix(line, "http://"):
			hls = line
		}
		if strings.HasPrefix(line, "dir ") {
			break
		}
	}
	go io.Copy(io.Discard, out)
	if pid == 0 || rtmp == "" || hls == "" {
		t.Fatalf("script printed pid %d rtmp %q hls %q", pid, rtmp, hls)
	}
	cfg := config{
		rtmpURL: rtmp, hlsURL: hls, viewers: 3, client: clientClassic, duration: 4 * time.Second,
		bitrate: 600_000, wait: 15 * time.Second, timeout: 5 * time.Second, serverPID: pid,
	}
	res, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	printTable(&sb, res)
	t.Logf("\n%s", sb.String())
	if res.ViewersWithFrames != 3 || res.DeliveryLatency.Count == 0 {
		t.Fatalf("%d viewers with frames, %d latency samples", res.ViewersWithFrames, res.DeliveryLatency.Count)
	}
	if res.ServerRSSMB == 0 {
		t.Error("server RSS not sampled")
	}
}
