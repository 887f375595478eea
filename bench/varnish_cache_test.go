package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// startVarnishCache runs varnishd with deploy/varnish/kast.vcl, its backend
// set to the test's kast, and returns its base URL.
func startVarnishCache(t *testing.T, dir string, originPort int) string {
	t.Helper()
	vcl, err := os.ReadFile("../deploy/varnish/kast.vcl")
	if err != nil {
		t.Fatal(err)
	}
	const backend = `.port = "8080";`
	if !strings.Contains(string(vcl), backend) {
		t.Fatalf("deploy/varnish/kast.vcl no longer has %q: update the test", backend)
	}
	conf := strings.Replace(string(vcl), backend, fmt.Sprintf(`.port = "%d";`, originPort), 1)
	vclFile := filepath.Join(dir, "kast.vcl")
	if err := os.WriteFile(vclFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	varnishd, err := exec.LookPath("varnishd")
	if err != nil {
		varnishd = "/usr/sbin/varnishd"
	}
	// Started by root, varnishd would run its compiler and child as its
	// own users, which cannot read the test's directory: no jail here.
	work := filepath.Join(dir, "varnish")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	jail := []string{}
	if os.Getuid() == 0 {
		jail = []string{"-j", "none"}
	}
	if out, err := exec.Command(varnishd, append(jail, "-C", "-f", vclFile, "-n", work)...).CombinedOutput(); err != nil {
		t.Fatalf("varnishd -C: %v\n%s", err, out)
	}
	port := freePort(t)
	startProcess(t, nil, varnishd, append(jail, "-F", "-a", fmt.Sprintf("127.0.0.1:%d", port), "-f", vclFile, "-n", work,
		"-s", "malloc,256m", "-T", "none")...)
	waitPort(t, port)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
