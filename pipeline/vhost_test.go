package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/internal/proctest"
	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// TestVhostUserPair connects a net_vhost port (vhost-user server) and a
// virtio_user port (its client) over a unix socket in this process, sends
// a burst each way with tx_first, and lets io forwarding bounce the
// packets between them: both ports must receive well over the first burst.
func TestVhostUserPair(t *testing.T) {
	pmdtest.Need(t)
	pool := pmdtest.Pool(t, 4096, 0)
	vh, sock := vhostPort(t, "t0", "")
	startPort(t, vh, pool)
	vu, err := pmd.ProbeVdev("virtio_user_t0,path=" + sock + ",queues=1")
	if err != nil {
		t.Fatal(err)
	}
	startPort(t, vu, pool)
	if !waitFor(5*time.Second, func() bool {
		l, err := vh.Link()
		return err == nil && l.Up
	}) {
		t.Fatal("vhost link did not come up")
	}
	eal := pmdtest.Need(t)
	plan, err := NewPlan([]uint16{vu.ID(), vh.ID()}, 1, 1, config.TopologyPaired, eal.Workers()[:1], 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Build(eal, plan, &IOEngine, pool, nil, func(StreamPlan) StreamSpec {
		return StreamSpec{Burst: 32, TxOnly: TxOnlySpec{SrcIP: []byte{198, 18, 0, 1}, DstIP: []byte{198, 18, 0, 2}, SrcPort: 9, DstPort: 9}}
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.TxFirst(1, pool); err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	ok := waitFor(5*time.Second, func() bool {
		a, _ := vh.Stats()
		b, _ := vu.Stats()
		return a.IPackets > 1000 && b.IPackets > 1000
	})
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	a, _ := vh.Stats()
	b, _ := vu.Stats()
	if !ok {
		t.Fatalf("vhost received %d, virtio_user %d packets; want both over 1000", a.IPackets, b.IPackets)
	}
}

// TestVhostGuestTSO: a "guest" on a virtio_user port configured with TSO
// and checksum offloads sends TCP packets (IPv4 and IPv6) of 300 bytes to
// 64 KB
// with TSO and checksum requests (ol_flags, lengths, tso_segsz, as an OS
// hands them to its NIC); the virtio PMD passes them as virtio GSO and
// NEEDS_CSUM frames; on our net_vhost port (tso=1) DPDK's vhost library
// reports the GSO frames as RX_LRO packets, which offloadpmd turns back
// into TSO requests and performs in software on their way to a ring port.
// "pmd-sums": the vhost port leaves RX checksums off, so its PMD completes
// the partial checksums; "rx-cksum": it enables them, so the partial
// checksums arrive as RX_L4_CKSUM_NONE and offloadpmd completes them;
// "legacy-ol-flags": the vhost library's legacy mode hands the guest's
// requests over as TX flags without the IP type, which offloadpmd adds
// from the headers (Stream.lroAsRequest). Every
// output must decode with valid checksums, be at most the MSS and the
// MTU, and the payloads must reassemble.
func TestVhostGuestTSO(t *testing.T) {
	for i, c := range []struct {
		name           string
		rxCsum, legacy bool
	}{{"pmd-sums", false, false}, {"rx-cksum", true, false}, {"legacy-ol-flags", false, true}} {
		rxCsum := c.rxCsum
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, 8192)
			opts := ",tso=1"
			if c.legacy {
				opts += ",legacy-ol-flags=1"
			}
			vh, sock := vhostPort(t, fmt.Sprintf("gt%d", i), opts)
			rx := offload.Change{EnableTx: allCsums | allSegs}
			if rxCsum {
				want := offload.RxTCPCksum | offload.RxUDPCksum
				if hw := offload.RxCaps(vh.Info().RxOffloadCapa); !hw.Has(want) {
					_ = vh.Close()
					t.Skipf("net_vhost advertises RX [%v] here, not the TCP and UDP checksums", hw)
				}
				rx.EnableRx = want
			}
			r.startWith(vh, r.publish(vh, rx))
			vu, err := pmd.ProbeVdev(fmt.Sprintf("virtio_user_gt%d,path=%s,queues=1", i, sock))
			if err != nil {
				t.Fatal(err)
			}
			guest := offload.TxTCPTSO | offload.TxTCPCksum | offload.TxUDPCksum
			if hw := offload.TxCaps(vu.Info().TxOffloadCapa); !hw.Has(guest) {
				t.Skipf("virtio_user advertises TX [%v] here, not TCP_TSO and the checksums", hw)
			}
			r.startWith(vu, r.publish(vu, offload.Change{EnableTx: guest}))
			if !waitFor(5*time.Second, func() bool { l, err := vh.Link(); return err == nil && l.Up }) {
				t.Fatal("vhost link did not come up")
			}
			out, _, outTx := ringPort(t, fmt.Sprintf("e2evh_out%d", i), r.pool)
			r.publish(out, offload.Change{EnableTx: allCsums | allSegs, SoftwareTx: allCsums | allSegs})
			r.off.Requests[vh.ID()], r.off.LROAsRequest[vh.ID()] = true, true
			f := r.startIDs(&IOEngine, [2]uint16{vh.ID(), out.ID()})
			sink := newSink(t, outTx)
			tr := newTraffic(t, []e2eFlow{{id: 800, mss: 1448}, {id: 801, tsopt: true, mss: 1400}, {id: 802, v6: true, mss: 1440}},
				[]int{30000, 300, 64000, 1000, 20001}, true)
			b := pmd.NewBurst(64)
			defer b.Close()
			for _, p := range tr.pkts {
				m := chainOf(t, r.pool, p.frame, 2048)
				p.flow.request(m, p.n)
				// The L4 checksum fields get the pseudo-header sum: only
				// the requests can make them right. (A virtio guest
				// computes its IPv4 header checksums itself.)
				prepare(t, m)
				b.Push(m)
			}
			for deadline := time.Now().Add(5 * time.Second); b.Len() > 0 && time.Now().Before(deadline); {
				if vu.TxBurst(0, b) == 0 {
					time.Sleep(100 * time.Microsecond)
				}
			}
			pmd.FreeBulk(b)
			want, _, _, _ := tr.wantOutputs()
			waitFor(5*time.Second, func() bool { n, _ := sink.seen(); return n >= want })
			st := stopTotal(t, f)
			tr.verify(t, sink.close(), e2eExpect{mtu: 1500, segmented: true})
			mapped := st.Counters[VhostGSORequests]
			if c.legacy {
				mapped = st.Counters[VhostLegacyRequests]
			}
			if mapped == 0 || st.Counters[SegOutputs] == 0 {
				t.Errorf("the guest's GSO frames were not segmented here: %s", st.nonZero())
			}
			if rxCsum && st.Counters[VhostCsumRequests] == 0 {
				t.Errorf("no partial checksum came as RX_L4_CKSUM_NONE: %s", st.nonZero())
			}
		})
	}
}

// prepare writes the pseudo-header sum into a requested L4 checksum field,
// as rte_eth_tx_prepare does for virtio (the guest's NEEDS_CSUM contract).
func prepare(t *testing.T, m *pmd.Mbuf) {
	t.Helper()
	f := m.OlFlags()
	if f&offload.OlTxL4Mask == 0 {
		return
	}
	l, bad := header.ParseHead(m.Data(), int(m.PktLen()))
	if bad != header.OK {
		t.Fatalf("test frame: %v", bad)
	}
	checksum.PreparePseudo(m.Data(), &l, f&offload.OlTxTCPSeg != 0)
}

// TestVhostTestpmdGuestTSO is TestVhostGuestTSO with dpdk-testpmd as the
// guest, in its own process: its csum engine reads TCP super-packets from
// a pcap and sends them through virtio_user with `tso set` (TSO in its
// "hardware", the virtio device), so they cross vhost-user as GSO frames;
// offloadpmd segments them on their way to a ring port, and the segments
// are checked as in the pipeline tests. The guest then quits and a new one
// connects to the same socket: offloadpmd's vhost-user server takes it
// without a restart, and its traffic is checked the same way.
func TestVhostTestpmdGuestTSO(t *testing.T) {
	testpmd := pmdtest.Testpmd(t)
	r := newRig(t, 8192)
	vh, sock := vhostPort(t, "tp", ",tso=1")
	dir := filepath.Dir(sock)
	startPort(t, vh, r.pool)
	out, _, outTx := ringPort(t, "e2evt_out", r.pool)
	r.publish(vh, offload.Change{EnableTx: allCsums | allSegs})
	r.publish(out, offload.Change{EnableTx: allCsums | allSegs, SoftwareTx: allCsums | allSegs})
	r.off.Requests[vh.ID()], r.off.LROAsRequest[vh.ID()] = true, true
	f := r.startIDs(&IOEngine, [2]uint16{vh.ID(), out.ID()})

	for run, flows := range [][]e2eFlow{{{id: 900, mss: 1448}, {id: 901, tsopt: true, mss: 1448}}, {{id: 902, mss: 1448}}} {
		sink := newSink(t, outTx)
		tr := newTraffic(t, flows, []int{16000, 30000}, false)
		in := filepath.Join(dir, fmt.Sprintf("in%d.pcap", run))
		writePcap(t, in, tr.frames())
		prefix := fmt.Sprintf("opmd_test_guest_%d_%d", os.Getpid(), run)
		g := proctest.Start(t, testpmd, "-l", "0-1", "--no-huge", "-m", "512", "--single-file-segments", "--no-pci",
			"--file-prefix="+prefix, "--vdev=net_pcap_g,rx_pcap="+in, "--vdev=net_virtio_user_g,path="+sock+",queues=1",
			"--", "-i", "--port-topology=paired", "--forward-mode=csum", "--no-lsc-interrupt", "--no-flush-rx",
			"--total-num-mbufs=4096", "--mbuf-size=34000", "--disable-device-start")
		// testpmd's csum engine: port 0 (pcap) to port 1 (virtio_user),
		// the checksums and TSO on port 1's device.
		for _, c := range []string{"csum set ip hw 1", "csum set tcp hw 1", "tso set 1448 1", "port start all", "start"} {
			g.Send(c)
			time.Sleep(200 * time.Millisecond)
		}
		want, _, _, _ := tr.wantOutputs()
		waitFor(10*time.Second, func() bool { n, _ := sink.seen(); return n >= want })
		g.Quit(t, "stop", "quit")
		os.RemoveAll("/var/run/dpdk/" + prefix)
		got := sink.close()
		t.Logf("guest %d: %d segments from testpmd's %d super-packets", run+1, len(got), len(tr.pkts))
		if len(got) == 0 {
			t.Fatalf("guest %d: nothing arrived from testpmd; its output:\n%s", run+1, g.Output())
		}
		tr.verify(t, got, e2eExpect{mtu: 1500, segmented: true})
	}
	st := stopTotal(t, f)
	if st.Counters[VhostGSORequests] == 0 {
		t.Errorf("testpmd's packets did not arrive as GSO frames: %s", st.nonZero())
	}
}

// TestVhostClientReconnects: offloadpmd's vhost-user port as the client
// (client=1) of a guest that is the server (dpdk-testpmd on virtio_user
// with server=1, sending with txonly). The guest quits: the port goes
// down. A new guest serves the same socket: the port reconnects by itself
// and receives its traffic.
func TestVhostClientReconnects(t *testing.T) {
	testpmd := pmdtest.Testpmd(t)
	r := newRig(t, 8192)
	vh, sock := vhostPort(t, "rc", ",client=1")
	startPort(t, vh, r.pool)
	// Drain the port as a forwarder would, counting what arrives.
	var rx atomic.Uint64
	stop, drained := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		b := pmd.NewBurst(32)
		defer b.Close()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := vh.RxBurst(0, b); n > 0 {
				rx.Add(uint64(n))
				pmd.FreeBulk(b)
				continue
			}
			time.Sleep(50 * time.Microsecond)
		}
	}()
	defer func() { close(stop); <-drained }()
	up := func() bool { l, err := vh.Link(); return err == nil && l.Up }

	for run := range 2 {
		prefix := fmt.Sprintf("opmd_test_rcguest_%d_%d", os.Getpid(), run)
		g := proctest.Start(t, testpmd, "-l", "0-1", "--no-huge", "-m", "512", "--single-file-segments", "--no-pci",
			"--file-prefix="+prefix, "--vdev=net_virtio_user0,path="+sock+",server=1,queues=1",
			"--", "-i", "--forward-mode=txonly", "--no-lsc-interrupt", "--total-num-mbufs=4096")
		if !waitFor(15*time.Second, up) {
			t.Fatalf("guest %d: the client port did not come up; guest output:\n%s", run+1, g.Output())
		}
		base := rx.Load()
		g.Send("start")
		got := waitFor(10*time.Second, func() bool { return rx.Load() > base+1000 })
		g.Quit(t, "stop", "quit")
		os.RemoveAll("/var/run/dpdk/" + prefix)
		if !got {
			t.Fatalf("guest %d: %d packets arrived, want over 1000; guest output:\n%s", run+1, rx.Load()-base, g.Output())
		}
		if !waitFor(10*time.Second, func() bool { return !up() }) {
			t.Fatalf("guest %d quit, the port is still up", run+1)
		}
		t.Logf("guest %d: %d packets received, then the port went down", run+1, rx.Load()-base)
	}
}

// vhostPort probes net_vhost_NAME, one queue, on a socket in a temporary
// directory, with more devargs in opts (",tso=1"); it returns the port
// (not yet configured) and the socket's path.
func vhostPort(t *testing.T, name, opts string) (*pmd.EthPort, string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "vhost.sock")
	vh, err := pmd.ProbeVdev("net_vhost_" + name + ",iface=" + sock + ",queues=1" + opts)
	if err != nil {
		t.Fatal(err)
	}
	return vh, sock
}
