package pmdtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/pmd"
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

// TCPThrough sends n random bytes over TCP from network namespace from to
// addr in namespace to (the listener is opened there on a free port) and
// fails the test unless the receiver's SHA-256 of the stream matches.
func TCPThrough(t testing.TB, from, to, addr string, n int) {
	t.Helper()
	var ln net.Listener
	if err := pmd.InNetns(to, func() (err error) { ln, err = net.Listen("tcp", net.JoinHostPort(addr, "0")); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(60 * time.Second))
		h := sha256.New()
		_, _ = io.Copy(h, c)
		got <- h.Sum(nil)
	}()
	var c net.Conn
	if err := pmd.InNetns(from, func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		return
	}); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, n)
	_, _ = rand.Read(data)
	want := sha256.Sum256(data)
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case sum := <-got:
		if !bytes.Equal(sum, want[:]) {
			t.Fatalf("SHA-256 at the receiver %x, sent %x", sum, want)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the receiver did not finish in 60 s")
	}
}
