package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kastlive/kast/internal/testutil"
)

// TestACMEWithPebble: with -domain, kast obtains its certificate from an
// ACME CA over HTTP-01 and serves HTTPS with it. The CA is Debian's pebble
// with pebble-challtestsrv as its DNS, which resolves every name to
// 127.0.0.1, so the challenge reaches kast's HTTP listener.
func TestACMEWithPebble(t *testing.T) {
	pebble := testutil.RequireTool(t, "pebble")
	challsrv := testutil.RequireTool(t, "pebble-challtestsrv")
	const domain = "kast.test"
	httpPort, dnsPort, acmePort, mgmtPort := freePort(t), freePort(t), freePort(t), freePort(t)

	dir := t.TempDir()
	listenCert := testutil.SelfSignedCert(t, "127.0.0.1", "localhost")
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  "127.0.0.1:" + acmePort,
		"managementListenAddress":        "127.0.0.1:" + mgmtPort,
		"certificate":                    listenCert.CertFile,
		"privateKey":                     listenCert.KeyFile,
		"httpPort":                       mustAtoi(t, httpPort),
		"tlsPort":                        mustAtoi(t, freePort(t)),
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, nil, challsrv, "-dns01", "127.0.0.1:"+dnsPort, "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", "127.0.0.1:"+freePort(t), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	startDaemon(t, []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0"}, pebble,
		"-config", cfgFile, "-dnsserver", "127.0.0.1:"+dnsPort)
	waitTCP(t, "127.0.0.1:"+acmePort, 10*time.Second)

	a, logs := startApp(t, map[string]string{
		"KAST_DOMAIN":         domain,
		"KAST_HTTP_ADDR":      "127.0.0.1:" + httpPort,
		"KAST_HTTPS_ADDR":     "127.0.0.1:0",
		"KAST_RTMPS_ADDR":     "127.0.0.1:0",
		"KAST_ACME_DIRECTORY": "https://127.0.0.1:" + acmePort + "/dir",
		"KAST_ACME_CA":        listenCert.CertFile,
	})
	// The certificate chains to pebble's root of this run.
	mgmt := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: listenCert.Pool}}}
	res, err := mgmt.Get("https://127.0.0.1:" + mgmtPort + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := io.ReadAll(res.Body)
	res.Body.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble root: %q", rootPEM)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: domain},
	}}
	var lastErr error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		res, err := client.Get(a.testHTTPSURL("/healthz"))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				state := res.TLS.PeerCertificates[0]
				t.Logf("certificate for %v issued by %q, valid until %v", state.DNSNames, state.Issuer.CommonName, state.NotAfter)
				if _, err := os.Stat(filepath.Join(a.cfg.DataDir, "acme", domain)); err != nil {
					t.Errorf("certificate not cached in the data dir: %v", err)
				}
				// RTMPS takes the same certificate, also without SNI.
				nc, err := tls.Dial("tcp", a.rtmps.Addr().String(), &tls.Config{
					InsecureSkipVerify: true, // no ServerName, so verified below
					VerifyConnection: func(cs tls.ConnectionState) error {
						inter := x509.NewCertPool()
						for _, c := range cs.PeerCertificates[1:] {
							inter.AddCert(c)
						}
						_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: domain, Roots: roots, Intermediates: inter})
						return err
					},
				})
				if err != nil {
					t.Fatalf("rtmps handshake without SNI: %v", err)
				}
				nc.Close()
				return
			}
			lastErr = fmt.Errorf("status %d", res.StatusCode)
			continue
		}
		lastErr = err
	}
	t.Fatalf("no certificate from pebble: %v\nkast log:\n%s", lastErr, logs)
}

// startDaemon runs a helper server for the length of the test.
func startDaemon(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func waitTCP(t *testing.T, addr string, timeout time.Duration) {
	t.Helper()
	for start := time.Now(); time.Since(start) < timeout; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("%s not listening after %v", addr, timeout)
}
