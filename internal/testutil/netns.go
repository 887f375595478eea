package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// RequireRoot skips a test that needs root (network namespaces) when not
// run as root, unless CI is set: CI runs as root, so there it fails.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("this test needs root (it makes a network namespace) and CI is set")
	}
	t.Skip("needs root: it makes a network namespace")
}

// NetNS is a network namespace a test made, deleted when the test ends.
type NetNS struct {
	Name string
}

// NewNetNS makes a network namespace with its loopback up and runs each
// setup command ("ip" arguments, e.g. "-6 addr add fd00::1/128 dev lo")
// and each sysctl ("net.ipv6.ip_nonlocal_bind=1") in it.
func NewNetNS(t testing.TB, ipCommands []string, sysctls []string) *NetNS {
	t.Helper()
	RequireRoot(t)
	RequireTool(t, "ip")
	var b [4]byte
	rand.Read(b[:])
	ns := &NetNS{Name: fmt.Sprintf("kast-test-%d-%s", os.Getpid(), hex.EncodeToString(b[:]))}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"-n", ns.Name}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip -n %s %s: %v: %s", ns.Name, strings.Join(args, " "), err, out)
		}
	}
	run("link", "set", "lo", "up")
	for _, c := range ipCommands {
		run(strings.Fields(c)...)
	}
	for _, s := range sysctls {
		if out, err := ns.Command("sysctl", "-q", "-w", s).CombinedOutput(); err != nil {
			t.Fatalf("sysctl %s in %s: %v: %s", s, ns.Name, err, out)
		}
	}
	return ns
}

// Command returns a command that runs inside the namespace.
func (ns *NetNS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// RunTest runs test name of the current test binary inside the
// namespace, with env added to the environment, and returns its output.
// The test to run should skip unless it finds its env.
func (ns *NetNS) RunTest(t testing.TB, name string, timeout time.Duration, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name, exe,
		"-test.run=^"+name+"$", "-test.v", "-test.count=1", "-test.timeout="+timeout.String())
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
