package pipeline

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// TestTapKernelToKernel runs TCP between two network namespaces through
// two vnet-hdr TAP ports and the io engine with the offload stages, under
// the combinations that matter:
//
//   - "gso": both kernels took checksum and TSO offloads and both ports'
//     tables leave them to the "device": the sender's super-frames and
//     partial checksums go to the receiver as super-frames (the requests
//     pass to the egress kernel);
//   - "segment": the same offers, but the egress tables put TSO and the
//     checksums in software: offloadpmd segments every super-frame and
//     computes every checksum;
//   - "off": nothing offered: the kernel segments and sums itself.
//
// Every case sends 16 MB with a SHA-256 compared at both ends, and the
// receiving kernel must count no checksum or header error.
func TestTapKernelToKernel(t *testing.T) {
	all := pmd.TapCsum | pmd.TapTSO4 | pmd.TapTSO6
	for _, c := range []struct {
		name     string
		offer    pmd.TapOffload
		software bool
	}{{"gso", all, false}, {"segment", all, true}, {"off", 0, false}} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, 8192)
			pmdtest.Tun(t)
			tag := os.Getpid() % 100000
			nsA, nsB := pmdtest.Netns(t, fmt.Sprintf("opmdpa%d", tag)), pmdtest.Netns(t, fmt.Sprintf("opmdpb%d", tag))
			open := func(name, ns, addr string) *pmd.TapPort {
				tp, err := pmd.OpenTap(pmd.TapConfig{Name: name, Netns: ns, Offload: c.offer})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { tp.Close() })
				pmdtest.Run(t, "ip", "-n", ns, "addr", "add", addr, "dev", name)
				pmdtest.Run(t, "ip", "-n", ns, "link", "set", name, "up")
				pmdtest.Run(t, "ip", "-n", ns, "link", "set", "lo", "up")
				tab := TapTable(tp)
				ch := offload.Change{EnableTx: tab.HardwareTx() | offload.TxIPv4Cksum, SoftwareTx: offload.TxIPv4Cksum}
				if c.software {
					ch.SoftwareTx |= tab.HardwareTx()
				}
				tab, err = tab.Apply(ch)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.reg.Publish(tab); err != nil {
					t.Fatal(err)
				}
				return tp
			}
			a := open("opmdpa", nsA, "10.252.0.1/24")
			b := open("opmdpb", nsB, "10.252.0.2/24")
			f := r.startIDs(&IOEngine, [2]uint16{a.ID(), b.ID()}, [2]uint16{b.ID(), a.ID()})

			before := kernelCounters(t, nsB)
			sent, elapsed := tcpThrough(t, nsA, nsB, "10.252.0.2", 16<<20)
			after := kernelCounters(t, nsB)
			if err := f.Stop(); err != nil {
				t.Error(err)
			}
			st := total(f)
			t.Logf("%d MB in %v; %s", sent>>20, elapsed, st.nonZero())
			for _, k := range []string{"TcpInCsumErrors", "IpInHdrErrors", "TcpInErrs"} {
				if after[k] != before[k] {
					t.Errorf("receiver's %s went from %d to %d", k, before[k], after[k])
				}
			}
			switch c.name {
			case "gso":
				if st.Counters[VnetRequests] == 0 || st.Counters[TasksToHardware] == 0 || st.Counters[SegOutputs] != 0 {
					t.Errorf("super-frames were not passed on to the receiving kernel: %s", st.nonZero())
				}
			case "segment":
				if st.Counters[SegOutputs] == 0 || st.Counters[SoftwareTask(offload.TaskL4Cksum)] == 0 {
					t.Errorf("offloadpmd did not segment the super-frames: %s", st.nonZero())
				}
			case "off":
				if st.Counters[VnetRequests] != 0 {
					t.Errorf("a kernel offered nothing asked for tasks: %s", st.nonZero())
				}
			}
			if st.Dropped() != 0 {
				t.Errorf("drops: %s", st.nonZero())
			}
		})
	}
}

// startIDs is start for ports named by id (Go-native ports included).
func (r *e2eRig) startIDs(e *Engine, streams ...[2]uint16) *Forwarder {
	r.t.Helper()
	plan := Plan{Lcores: []LcorePlan{{Lcore: r.eal.Workers()[0]}}}
	for i, s := range streams {
		plan.Streams = append(plan.Streams, StreamPlan{RxPort: s[0], TxPort: s[1]})
		plan.Lcores[0].Streams = append(plan.Lcores[0].Streams, i)
	}
	f, err := Build(r.eal, plan, e, r.pool, r.off, func(sp StreamPlan) StreamSpec {
		return StreamSpec{PeerMAC: e2eDstMAC, TxMAC: e2eSrcMAC, Burst: 32}
	}, false)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		if err := f.Close(); err != nil {
			r.t.Error(err)
		}
	})
	f.ResetStats()
	if err := f.Start(); err != nil {
		r.t.Fatal(err)
	}
	return f
}

// tcpThrough sends n random bytes over TCP from namespace from to addr in
// namespace to and checks their SHA-256 at the receiver.
func tcpThrough(t *testing.T, from, to, addr string, n int) (int, time.Duration) {
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
	start := time.Now()
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.Close()
	var sum []byte
	select {
	case sum = <-got:
	case <-time.After(60 * time.Second):
		t.Fatal("the receiver did not finish in 60 s")
	}
	if !bytes.Equal(sum, want[:]) {
		t.Fatalf("SHA-256 at the receiver %x, sent %x", sum, want)
	}
	return n, time.Since(start)
}
