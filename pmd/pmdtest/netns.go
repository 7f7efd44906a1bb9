package pmdtest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Root skips t unless the test runs as root (DPDK's tap PMD, network
// namespaces). CI runs as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, tap devices); CI runs the tests as root")
	}
}

// Run runs a command and fails the test with its output if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Netns creates a network namespace for the test and deletes it at
// cleanup. It skips where namespaces cannot be made (not root, no
// iproute2, a sandbox without CLONE_NEWNET), saying why.
func Netns(t testing.TB, name string) string {
	t.Helper()
	Root(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 (ip) not installed: run scripts/install-deps.sh")
	}
	_ = exec.Command("ip", "netns", "del", name).Run() // a leftover of a killed run
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("cannot create network namespace %s here: %v: %s", name, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	return name
}

// InNetns runs a command inside namespace ns and returns its combined
// output and error.
func InNetns(ns string, name string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip netns exec %s %s %s: %w", ns, name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// Tun skips t where the kernel offers no TUN/TAP device (a container
// without /dev/net/tun): DPDK's net_tap and our vnet-hdr ports need it.
func Tun(t testing.TB) {
	t.Helper()
	Root(t)
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("no TUN/TAP here: %v", err)
	}
}
