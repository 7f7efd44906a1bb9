// Package pmdtest starts DPDK's EAL for a test binary and cleans up after
// it, so tests of any package can use real ports, mempools and lcores.
package pmdtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/offloadpmd/offloadpmd/pmd"
)

// EAL is the test binary's EAL, or nil if it could not start (see Err).
var EAL *pmd.EAL

// Err is why the EAL could not start.
var Err error

// Args are the EAL arguments tests run with: two lcores, no hugepages, no
// PCI, a file prefix of our own. --single-file-segments lets virtio_user
// share memory with a vhost-user backend without hugepages.
func Args(tag string) []string {
	return []string{
		"-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--single-file-segments",
		"--file-prefix", fmt.Sprintf("opmd_test_%s_%d", tag, os.Getpid()),
		"--log-level", "*:warning",
	}
}

// Main initialises the EAL, runs the tests, cleans the EAL up, removes its
// runtime directory and exits. Use it from TestMain.
func Main(m *testing.M, tag string) {
	EAL, Err = pmd.Init(Args(tag))
	var dir string
	if EAL != nil {
		dir = EAL.RuntimeDir()
	}
	code := m.Run()
	if EAL != nil {
		EAL.Cleanup()
	}
	if dir != "" && filepath.Base(filepath.Dir(dir)) == "dpdk" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// Need skips t when the EAL is not up: that happens only where the machine
// cannot run DPDK at all (not root, no /var/run/dpdk), and the message says
// why.
func Need(t testing.TB) *pmd.EAL {
	t.Helper()
	if EAL == nil {
		t.Skipf("DPDK EAL unavailable here: %v", Err)
	}
	return EAL
}

// Pool creates a mempool for one test and checks at cleanup that every
// mbuf came back: the leak check every EAL test gets for free.
func Pool(t testing.TB, size uint, dataRoom uint16) *pmd.Mempool {
	t.Helper()
	Need(t)
	p, err := pmd.NewMempool(pmd.MempoolConfig{
		Name: fmt.Sprintf("t%d_%s", poolSeq(), short(t.Name())), Size: size, DataRoom: dataRoom, Socket: -1,
	})
	if err != nil {
		t.Fatalf("mempool: %v", err)
	}
	t.Cleanup(func() {
		if n := p.InUse(); n != 0 {
			t.Errorf("mempool %s: %d mbufs still in use at the end of the test (leak)", p.Name(), n)
			return
		}
		p.Free()
	})
	return p
}

// StartPort configures p with one RX and one TX queue on pool and starts
// it. Closing it is the caller's.
func StartPort(t testing.TB, p *pmd.EthPort, pool *pmd.Mempool) {
	t.Helper()
	if err := p.Configure(pmd.PortConfig{RxQueues: 1, TxQueues: 1, Pool: pool}); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
}

var seq int

func poolSeq() int { seq++; return seq }

func short(s string) string {
	if len(s) > 16 {
		s = s[len(s)-16:]
	}
	out := []byte(s)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			out[i] = '_'
		}
	}
	return string(out)
}

// Testpmd returns dpdk-testpmd's path, as a peer for tests (a vhost-user
// guest), or skips the test where it is not installed.
func Testpmd(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("dpdk-testpmd")
	if err != nil {
		t.Skip("dpdk-testpmd not installed (scripts/install-deps.sh installs dpdk)")
	}
	return p
}
