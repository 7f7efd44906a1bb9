package pmd_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// tapPair is two vnet-hdr TAP ports in two namespaces, addressed
// 10.251.0.1 (a) and 10.251.0.2 (b), joined by two streams that forward
// every frame with its virtio_net_hdr untouched: the kernel's requests
// (NEEDS_CSUM, GSO super-frames) go from one kernel to the other as they
// came.
type tapPair struct {
	nsA, nsB string
	a, b     *pmd.TapPort
	ab, ba   *pmd.Stream
	gso      atomic.Uint64 // frames that came with a gso_type
	csum     atomic.Uint64 // frames that came with NEEDS_CSUM
	frames   atomic.Uint64
	stop     chan struct{}
	done     sync.WaitGroup
}

func newTapPair(t *testing.T, offload pmd.TapOffload) *tapPair {
	t.Helper()
	pmdtest.Tun(t)
	pool := pmdtest.Pool(t, 4096, 0)
	tag := os.Getpid() % 100000
	p := &tapPair{
		nsA: pmdtest.Netns(t, fmt.Sprintf("opmdta%d", tag)), nsB: pmdtest.Netns(t, fmt.Sprintf("opmdtb%d", tag)),
		stop: make(chan struct{}),
	}
	var err error
	if p.a, err = pmd.OpenTap(pmd.TapConfig{Name: "opmdta", Netns: p.nsA, Offload: offload}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.a.Close() })
	if p.b, err = pmd.OpenTap(pmd.TapConfig{Name: "opmdtb", Netns: p.nsB, Offload: offload}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.b.Close() })
	for _, x := range []struct{ ns, dev, addr string }{{p.nsA, "opmdta", "10.251.0.1/24"}, {p.nsB, "opmdtb", "10.251.0.2/24"}} {
		pmdtest.Run(t, "ip", "-n", x.ns, "addr", "add", x.addr, "dev", x.dev)
		pmdtest.Run(t, "ip", "-n", x.ns, "link", "set", x.dev, "up")
		pmdtest.Run(t, "ip", "-n", x.ns, "link", "set", "lo", "up")
	}
	mk := func(from, to *pmd.TapPort) *pmd.Stream {
		s, err := pmd.NewStream(pmd.StreamConfig{Burst: 32, RxMode: pmd.RxFd, RxFd: from.Fd(0), TxToFd: true, TxFd: to.Fd(0), AllocPool: pool, Socket: -1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	p.ab, p.ba = mk(p.a, p.b), mk(p.b, p.a)
	p.done.Add(1)
	go p.forward()
	t.Cleanup(func() {
		p.close()
		p.ab.Close()
		p.ba.Close()
	})
	return p
}

// forward polls both streams until stop, sending every frame on in place.
func (p *tapPair) forward() {
	defer p.done.Done()
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		busy := false
		for _, s := range []*pmd.Stream{p.ab, p.ba} {
			n := s.Poll()
			for _, m := range s.Rx()[:n] {
				hdr := m.Buf()[m.DataOff()-pmd.VnetHdrLen : m.DataOff()]
				if hdr[1] != 0 {
					p.gso.Add(1)
				}
				if hdr[0]&1 != 0 {
					p.csum.Add(1)
				}
			}
			p.frames.Add(uint64(n))
			s.SendRx(n)
			busy = busy || n > 0
		}
		if !busy {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

func (p *tapPair) close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.done.Wait()
	p.ab.Flush()
	p.ba.Flush()
}

// TestTapKernelTCP sends 64 MB over TCP from namespace a to namespace b
// through two vnet-hdr TAP ports, with checksum and TSO offered to both
// kernels: the sender's kernel hands over super-frames with NEEDS_CSUM,
// the receiver's takes them as they are, and the bytes must arrive whole
// (SHA-256 at both ends).
func TestTapKernelTCP(t *testing.T) {
	p := newTapPair(t, pmd.TapCsum|pmd.TapTSO4|pmd.TapTSO6|pmd.TapUSO4|pmd.TapUSO6)
	if p.a.Offload()&pmd.TapTSO4 == 0 {
		t.Fatalf("the kernel took %v, not TSO4", p.a.Offload())
	}
	checkEthtool(t, p.nsA, p.a)
	pmdtest.TCPThrough(t, p.nsA, p.nsB, "10.251.0.2", 64<<20)
	p.close()
	ab, ba := p.ab.Counters(), p.ba.Counters()
	t.Logf("frames %d, with gso_type %d, NEEDS_CSUM %d; a->b %+v; b->a %+v",
		p.frames.Load(), p.gso.Load(), p.csum.Load(), ab, ba)
	if p.gso.Load() == 0 {
		t.Error("no frame came with a gso_type: the kernel never handed over a super-frame")
	}
	if ab.RxErrors+ab.TxErrors+ba.RxErrors+ba.TxErrors != 0 {
		t.Errorf("read or write errors: a->b %+v, b->a %+v", ab, ba)
	}
}

// TestTapNamespaceDeleted: the namespace of one TAP is deleted while
// traffic flows the other way round: that port reports down, the streams
// keep polling (no error, no crash), and the other port still works.
func TestTapNamespaceDeleted(t *testing.T) {
	p := newTapPair(t, pmd.TapCsum)
	for _, tp := range []*pmd.TapPort{p.a, p.b} {
		if up, err := tp.Up(); !up || err != nil {
			t.Fatalf("%s: up %v, %v before the namespace went", tp.Name(), up, err)
		}
	}
	pmdtest.Run(t, "ip", "netns", "del", p.nsA)
	if up, err := p.a.Up(); up || err == nil {
		t.Errorf("%s reports up (%v) after its namespace was deleted", p.a.Name(), err)
	} else {
		t.Logf("%s: down: %v", p.a.Name(), err)
	}
	if up, err := p.b.Up(); !up || err != nil {
		t.Errorf("%s: up %v, %v: the other port suffered", p.b.Name(), up, err)
	}
	before := p.frames.Load()
	// The remaining kernel still sends (IPv6 router and neighbour
	// solicitations, a ping), and the lcore loop must keep taking it.
	_, _ = pmdtest.InNetns(p.nsB, "ping", "-c", "3", "-i", "0.2", "-W", "1", "10.251.0.1")
	if p.frames.Load() == before {
		t.Error("nothing forwarded after the namespace was deleted: the loop stopped")
	}
}

// checkEthtool compares what the kernel says it took (`ethtool -k` in the
// port's namespace) with the port's Offload.
func checkEthtool(t *testing.T, ns string, tp *pmd.TapPort) {
	t.Helper()
	if _, err := exec.LookPath("ethtool"); err != nil {
		t.Log("ethtool not installed (scripts/install-deps.sh installs it): negotiated offloads not cross-checked")
		return
	}
	out, err := pmdtest.InNetns(ns, "ethtool", "-k", tp.Name())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	o := tp.Offload()
	for _, f := range []struct {
		feature string
		on      bool
	}{
		{"tx-checksumming", o&pmd.TapCsum != 0},
		{"tx-tcp-segmentation", o&pmd.TapTSO4 != 0},
		{"tx-tcp6-segmentation", o&pmd.TapTSO6 != 0},
		{"tx-udp-segmentation", o&(pmd.TapUSO4|pmd.TapUSO6) != 0},
	} {
		want := f.feature + ": off"
		if f.on {
			want = f.feature + ": on"
		}
		if !strings.Contains(out, want) {
			t.Errorf("ethtool -k %s: want %q for offloads %v:\n%s", tp.Name(), want, o, out)
		}
	}
}
