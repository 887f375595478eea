package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kastlive/kast/internal/testutil"
)

// TestNginxCache runs the bench's viewers through Debian's nginx configured
// with deploy/nginx/kast.conf (TLS at nginx, proxy_cache before kast's
// HLS) and checks that the origin sees about the same request rate for 5
// and for 30 viewers: one request per part per cache.
//
// KAST_NGINX_VIEWERS=100,1000 measures other counts instead (the first also
// straight at kast, for the latency nginx adds), over 20 s with a 5 s ramp:
// that is the figure in docs/benchmarks.md, too long for make test.
func TestNginxCache(t *testing.T) {
	needTool(t, "nginx")
	testCache(t, "nginx", "KAST_NGINX_VIEWERS", func(t *testing.T, dir string, originPort int) string {
		httpsPort := freePort(t)
		startNginx(t, dir, "kast.conf", [][2]string{
			{"/var/cache/nginx/kast", filepath.Join(dir, "cache")},
			{"server 127.0.0.1:8080;", fmt.Sprintf("server 127.0.0.1:%d;", originPort)},
		}, httpsPort)
		return fmt.Sprintf("https://127.0.0.1:%d", httpsPort)
	})
}

// TestNginxVarnishCache runs the viewers through deploy/nginx/kast-varnish.conf
// (TLS and HTTP/2 at nginx, no cache there) and Varnish behind it with
// deploy/varnish/kast.vcl: the HTTPS deployment of the Varnish cache
// (KAST_NGINX_VARNISH_VIEWERS for the figures).
func TestNginxVarnishCache(t *testing.T) {
	needTool(t, "nginx")
	needTool(t, "varnishd")
	testCache(t, "nginx and Varnish", "KAST_NGINX_VARNISH_VIEWERS", func(t *testing.T, dir string, originPort int) string {
		varnish := startVarnishCache(t, dir, originPort)
		httpsPort := freePort(t)
		startNginx(t, dir, "kast-varnish.conf", [][2]string{
			{"server 127.0.0.1:6081;", "server " + strings.TrimPrefix(varnish, "http://") + ";"},
		}, httpsPort)
		return fmt.Sprintf("https://127.0.0.1:%d", httpsPort)
	})
}

// TestVarnishCache is TestNginxCache with Debian's Varnish configured with
// deploy/varnish/kast.vcl (cleartext; KAST_VARNISH_VIEWERS for the
// figures).
func TestVarnishCache(t *testing.T) {
	needTool(t, "varnishd")
	testCache(t, "Varnish", "KAST_VARNISH_VIEWERS", startVarnishCache)
}

// testCache runs kast, the cache start starts in front of it (returning
// its base URL), the live channel through it, then the viewer counts.
func testCache(t *testing.T, name, countsEnv string, start func(t *testing.T, dir string, originPort int) string) {
	if testing.Short() {
		t.Skip("builds kast and runs " + name)
	}
	dir := t.TempDir()
	kastBin := filepath.Join(dir, "kast")
	if out, err := exec.Command("go", "build", "-o", kastBin, "../cmd/kast").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	httpPort, rtmpPort, metricsPort := freePort(t), freePort(t), freePort(t)
	const key = "bench-stream-key-0000"
	startProcess(t, []string{"KAST_STREAM_KEY=" + key}, kastBin, "-data-dir", filepath.Join(dir, "data"),
		"-log-level", "warn", "-http-addr", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"-rtmp-addr", fmt.Sprintf("127.0.0.1:%d", rtmpPort), "-metrics-addr", fmt.Sprintf("127.0.0.1:%d", metricsPort),
		"-webrtc-udp-addr", "127.0.0.1:0")

	base := start(t, dir, httpPort)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := loadClip(2_500_000)
	if err != nil {
		t.Fatal(err)
	}
	pub := newPublisher(fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", rtmpPort, key), c, 2_500_000)
	pubDone := make(chan error, 1)
	go func() { pubDone <- pub.run(ctx) }()
	defer func() {
		cancel()
		if err := <-pubDone; err != nil && ctx.Err() == nil {
			t.Errorf("publisher: %v", err)
		}
	}()

	// What is not HLS passes through: the live channel's websocket opens
	// through the cache (Host, Upgrade and Origin reach kast as sent).
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/events/meetup/live"
	d := websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, HandshakeTimeout: 5 * time.Second}
	ws, res, err := d.Dial(wsURL, http.Header{"Origin": {base}})
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("live channel through %s: %v (status %d)", name, err, status)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.Contains(string(msg), `"hello"`) {
		t.Fatalf("live channel through %s: first message %q, %v", name, msg, err)
	}
	ws.Close()

	counts, ramp, duration := []int{5, 30}, time.Second, 8*time.Second
	if v := os.Getenv(countsEnv); v != "" {
		counts, ramp, duration = nil, 5*time.Second, 20*time.Second
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				t.Fatalf("%s: %q", countsEnv, v)
			}
			counts = append(counts, n)
		}
	}
	rates := map[int]float64{}
	for _, n := range append([]int{0}, counts...) {
		// 0: the first count straight at kast, for the latency added by the cache.
		hls, viewers := base+"/hls/main/index.m3u8", n
		if n == 0 {
			hls, viewers = fmt.Sprintf("http://127.0.0.1:%d/hls/main/index.m3u8", httpPort), counts[0]
		}
		cfg := config{
			hlsURL: hls, insecure: true,
			viewers: viewers, client: clientHLSJS, ramp: ramp, duration: duration,
			bitrate: 2_500_000, wait: 20 * time.Second, timeout: 5 * time.Second,
			origin: originCounter{url: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort), name: "kast_hls_requests_total"},
		}
		res, err := run(ctx, cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		printTable(&sb, res)
		if n == 0 {
			t.Logf("%d viewers straight at kast:\n%s", viewers, sb.String())
			continue
		}
		t.Logf("%d viewers through %s:\n%s", n, name, sb.String())
		if res.ViewersWithFrames != int64(n) || res.Errors != 0 {
			t.Fatalf("%d viewers: %d with frames, errors %v", n, res.ViewersWithFrames, res.ErrorsByKind)
		}
		if res.OriginRequestsPerS <= 0 {
			t.Fatal("origin requests not measured")
		}
		rates[n] = res.OriginRequestsPerS
	}
	// hls.js-like viewers ask for a blocking playlist and a part per 200 ms
	// part: about 10 requests/s reach the origin with one cache.
	lo, hi := counts[0], counts[len(counts)-1]
	t.Logf("origin requests/s: %.1f with %d viewers, %.1f with %d", rates[lo], lo, rates[hi], hi)
	if rates[hi] > 1.3*rates[lo] || rates[hi] > 20 {
		t.Fatalf("origin requests/s: %.1f with %d viewers, %.1f with %d: the cache does not collapse them", rates[lo], lo, rates[hi], hi)
	}
}

// startNginx runs nginx with deploy/nginx/<site>, adapted to the test's
// ports, certificate and directories by replace (each must be found) and
// the listen lines.
func startNginx(t *testing.T, dir, site string, replace [][2]string, httpsPort int) {
	t.Helper()
	b, err := os.ReadFile("../deploy/nginx/" + site)
	if err != nil {
		t.Fatal(err)
	}
	cert := testutil.SelfSignedCert(t, "127.0.0.1", "localhost")
	conf := string(b)
	for _, r := range append(replace, [][2]string{
		{"listen 443 ssl http2;", fmt.Sprintf("listen 127.0.0.1:%d ssl http2;", httpsPort)},
		{"listen [::]:443 ssl http2;", ""},
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", freePort(t))},
		{"listen [::]:80;", ""},
		{"/etc/ssl/kast/fullchain.pem", cert.CertFile},
		{"/etc/ssl/kast/privkey.pem", cert.KeyFile},
	}...) {
		if !strings.Contains(conf, r[0]) {
			t.Fatalf("deploy/nginx/%s no longer has %q: update the test", site, r[0])
		}
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	user := ""
	if os.Getuid() == 0 {
		user = "user root;"
	}
	main := fmt.Sprintf(`%s
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/kast.conf;
}
`, user, dir)
	if err := os.WriteFile(filepath.Join(dir, "kast.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		nginx = "/usr/sbin/nginx"
	}
	if out, err := exec.Command(nginx, "-t", "-c", filepath.Join(dir, "nginx.conf"), "-p", dir).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	startProcess(t, nil, nginx, "-c", filepath.Join(dir, "nginx.conf"), "-p", dir)
	waitPort(t, httpsPort)
}

// startProcess runs a server for the length of the test.
func startProcess(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
		if c, err := netDial(addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("nothing listens on %s", addr)
}

func netDial(addr string) (io.Closer, error) {
	return (&net.Dialer{Timeout: time.Second}).Dial("tcp", addr)
}
