package pipeline

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
// Every case sends 16 MB over IPv4 and 8 MB over IPv6 with a SHA-256
// compared at both ends, and UDP datagrams over both in UDP_SEGMENT writes
// of 40 (USO super-frames where the kernels took USO) each checked for
// size and contents, and the receiving kernel must count no checksum or
// header error.
func TestTapKernelToKernel(t *testing.T) {
	all := pmd.TapCsum | pmd.TapTSO4 | pmd.TapTSO6 | pmd.TapUSO4 | pmd.TapUSO6
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
			var sw offload.Change
			if c.software {
				sw.SoftwareTx = allCsums | allSegs
			}
			a := r.tap(pmd.TapConfig{Name: "opmdpa", Netns: nsA, Offload: c.offer}, "10.252.0.1/24", sw)
			b := r.tap(pmd.TapConfig{Name: "opmdpb", Netns: nsB, Offload: c.offer}, "10.252.0.2/24", sw)
			f := r.startIDs(&IOEngine, [2]uint16{a.ID(), b.ID()}, [2]uint16{b.ID(), a.ID()})

			// IPv6 too: its super-frames (TSO6, USO6) are left to the
			// egress kernel like IPv4's.
			pmdtest.Run(t, "ip", "-n", nsA, "addr", "add", "fd00:252::1/64", "dev", "opmdpa", "nodad")
			pmdtest.Run(t, "ip", "-n", nsB, "addr", "add", "fd00:252::2/64", "dev", "opmdpb", "nodad")

			before := kernelCounters(t, nsB)
			pmdtest.TCPThrough(t, nsA, nsB, "10.252.0.2", 16<<20)
			udpSegmentThrough(t, nsA, nsB, "10.252.0.2", 1400, 40, 100)
			pmdtest.TCPThrough(t, nsA, nsB, "fd00:252::2", 8<<20)
			udpSegmentThrough(t, nsA, nsB, "fd00:252::2", 1380, 40, 50)
			after := kernelCounters(t, nsB)
			st := stopTotal(t, f)
			for _, k := range []string{"TcpInCsumErrors", "IpInHdrErrors", "TcpInErrs", "UdpInCsumErrors", "UdpInErrors", "Udp6InCsumErrors", "Udp6InErrors", "Ip6InHdrErrors"} {
				if after[k] != before[k] {
					t.Errorf("receiver's %s went from %d to %d", k, before[k], after[k])
				}
			}
			switch c.name {
			case "gso":
				if st.Counters[VnetRequests] == 0 || st.toHardware() == 0 || st.Counters[SegOutputs] != 0 || st.Counters[SoftwareTask(offload.TaskTSO)] != 0 || st.Counters[SoftwareTask(offload.TaskUSO)] != 0 {
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

// udpSegmentThrough sends sends UDP_SEGMENT writes of segs datagrams of
// size bytes each (the kernel hands such a write over as one USO
// super-frame where the port took USO) from namespace from to addr in
// namespace to, paced, and checks that every datagram arrives once, with
// its size and its bytes.
func udpSegmentThrough(t *testing.T, from, to, addr string, size, segs, sends int) {
	t.Helper()
	var rc *net.UDPConn
	if err := pmd.InNetns(to, func() (err error) {
		rc, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(addr)})
		return
	}); err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	_ = rc.SetReadBuffer(8 << 20)
	var sc *net.UDPConn
	if err := pmd.InNetns(from, func() (err error) {
		sc, err = net.DialUDP("udp", nil, rc.LocalAddr().(*net.UDPAddr))
		return
	}); err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT, size) }); err != nil || serr != nil {
		t.Fatalf("UDP_SEGMENT: %v %v", err, serr)
	}
	dgram := func(seq int) []byte {
		b := make([]byte, size)
		binary.BigEndian.PutUint32(b, uint32(seq))
		for i := 4; i < size; i++ {
			b[i] = byte(seq*7 + i)
		}
		return b
	}
	got := make(chan error, 1)
	go func() {
		seen := make([]bool, segs*sends)
		buf := make([]byte, 65536)
		for n := 0; n < len(seen); n++ {
			_ = rc.SetReadDeadline(time.Now().Add(5 * time.Second))
			k, err := rc.Read(buf)
			if err != nil {
				got <- fmt.Errorf("after %d of %d datagrams: %w", n, len(seen), err)
				return
			}
			seq := int(binary.BigEndian.Uint32(buf))
			switch {
			case k != size:
				got <- fmt.Errorf("a datagram of %d bytes, want %d (UDP_SEGMENT size)", k, size)
				return
			case seq >= len(seen) || seen[seq]:
				got <- fmt.Errorf("datagram %d unexpected or twice", seq)
				return
			case !bytes.Equal(buf[:k], dgram(seq)):
				got <- fmt.Errorf("datagram %d: contents differ", seq)
				return
			}
			seen[seq] = true
		}
		got <- nil
	}()
	for i := range sends {
		var w []byte
		for j := range segs {
			w = append(w, dgram(i*segs+j)...)
		}
		if _, err := sc.Write(w); err != nil {
			t.Fatalf("UDP_SEGMENT write %d: %v", i, err)
		}
		time.Sleep(time.Millisecond)
	}
	if err := <-got; err != nil {
		t.Fatalf("UDP: %v", err)
	}
}

// captureGSO opens a packet socket with PACKET_VNET_HDR on interface dev
// in namespace ns, which shows each frame the kernel receives with its
// GSO type; the function it returns stops the capture and says how many
// frames came in as TCP GSO super-frames. (Their checksum state cannot be
// checked this way: the kernel turns a GSO frame it is handed into a
// partial checksum whatever the header said.)
func captureGSO(t *testing.T, ns, dev string) func() uint64 {
	t.Helper()
	var fd int
	if err := pmd.InNetns(ns, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		proto := int(uint16(unix.ETH_P_ALL)<<8 | uint16(unix.ETH_P_ALL)>>8)
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return err
		}
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: uint16(proto), Ifindex: ifi.Index})
	}); err != nil {
		t.Fatalf("packet socket in %s: %v", ns, err)
	}
	var n atomic.Uint64
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1<<17)
		tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
		_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		for {
			k, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				if (err == unix.EAGAIN || err == unix.EINTR) && !stop.Load() {
					continue
				}
				return
			}
			if k >= offload.VirtioNetHdrLen && buf[1]&^offload.VirtioGSOECN == offload.VirtioGSOTCPv4 {
				n.Add(1)
			}
		}
	}()
	return func() uint64 {
		stop.Store(true)
		<-done
		unix.Close(fd)
		return n.Load()
	}
}

// tap opens a TAP port for the test (closed at cleanup), brings it up
// with address addr (if set) in its namespace, and publishes its table:
// every task its kernel took enabled and left to it, the IPv4 header
// checksum in software, then ch applied.
func (r *e2eRig) tap(cfg pmd.TapConfig, addr string, ch offload.Change) *pmd.TapPort {
	r.t.Helper()
	pmdtest.Tun(r.t)
	tp, err := pmd.OpenTap(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { tp.Close() })
	if addr != "" {
		pmdtest.Run(r.t, "ip", "-n", cfg.Netns, "addr", "add", addr, "dev", cfg.Name)
		pmdtest.Run(r.t, "ip", "-n", cfg.Netns, "link", "set", cfg.Name, "up")
		pmdtest.Run(r.t, "ip", "-n", cfg.Netns, "link", "set", "lo", "up")
	}
	tab := TapTable(tp)
	tab, err = tab.Apply(TapDefaults(tab))
	if err == nil {
		tab, err = tab.Apply(ch)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.reg.Publish(tab); err != nil {
		r.t.Fatal(err)
	}
	return tp
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

// TestTapHeadersRefused: what a kernel's virtio_net_hdr asks is checked
// twice: the header must describe its frame (offload.ToRequestHead), and
// the task must be one the port enabled (validate, against the TAP's
// table). Here the port enables TCP/UDP checksums and IPv4 TSO only.
func TestTapHeadersRefused(t *testing.T) {
	r := newRig(t, 512)
	pmdtest.Tun(t)
	tp := r.tap(pmd.TapConfig{Name: fmt.Sprintf("opmdh%d", os.Getpid()%10000), Offload: pmd.TapCsum | pmd.TapTSO4}, "", offload.Change{})
	s, err := NewStream(0, StreamSpec{RxPort: tp.ID(), TxPort: tp.ID(), Burst: 32}, &IOEngine, r.pool, r.off)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr := newTraffic(t, []e2eFlow{{id: 600, mss: 1448}, {id: 601, v6: true, mss: 1448}, {id: 602, udp: true, mss: 1448}}, []int{4000}, false)
	frame := func(f e2eFlow) []byte {
		for _, p := range tr.pkts {
			if p.flow.id == f.id {
				return p.frame
			}
		}
		t.Fatalf("no frame of flow %d", f.id)
		return nil
	}
	tcp4, tcp6, udp4 := frame(e2eFlow{id: 600}), frame(e2eFlow{id: 601}), frame(e2eFlow{id: 602})
	needs := func(l3, off int) offload.VirtioFields {
		return offload.VirtioFields{Flags: offload.VirtioFlagNeedsCsum, CsumStart: uint16(14 + l3), CsumOffset: uint16(off)}
	}
	gso := func(f offload.VirtioFields, typ uint8) offload.VirtioFields {
		f.GSOType, f.GSOSize = typ, 1400
		return f
	}
	cases := []struct {
		name  string
		frame []byte
		hdr   offload.VirtioFields
		want  Counter // -1: accepted
	}{
		{"tcp4 tso", tcp4, gso(needs(20, 16), offload.VirtioGSOTCPv4), -1},
		{"tcp4 csum", tcp4, needs(20, 16), -1},
		{"tcp6 tso, not enabled", tcp6, gso(needs(40, 16), offload.VirtioGSOTCPv6), Refused(offload.RefDisabled)},
		{"unknown gso_type", tcp4, gso(needs(20, 16), 9), Refused(offload.RefVirtioGSOType)},
		{"csum_start outside", tcp4, offload.VirtioFields{Flags: offload.VirtioFlagNeedsCsum, CsumStart: 9000, CsumOffset: 16}, Refused(offload.RefVirtioCsumOutside)},
		{"uso without needs_csum", udp4, gso(offload.VirtioFields{}, offload.VirtioGSOUDPL4), Refused(offload.RefVirtioUSONeedsCsum)},
		{"gso_type of another protocol", udp4, gso(needs(20, 6), offload.VirtioGSOTCPv4), Refused(offload.RefVirtioGSOMismatch)},
	}
	for _, c := range cases {
		m := chainOf(t, r.pool, c.frame, 2000) // as a TAP read chains a super-frame
		off := int(m.DataOff())
		offload.VirtioNetHdr(m.Buf()[off-pmd.VnetHdrLen : off]).Encode(&c.hdr)
		before := s.Stats().Counters
		pkts := s.vnetDecode([]*pmd.Mbuf{m})
		var b burstView
		s.loadBurst(&b)
		pkts = s.validate(pkts, &b)
		after := s.Stats().Counters
		if c.want < 0 {
			if len(pkts) != 1 {
				t.Errorf("%s: refused (%s)", c.name, diffCounters(before, after))
				continue
			}
			if m.OlFlags()&offload.OlTxOffloadMask == 0 {
				t.Errorf("%s: accepted without a request", c.name)
			}
			m.Free()
			continue
		}
		if len(pkts) != 0 || after[c.want]-before[c.want] != 1 {
			t.Errorf("%s: kept %d, counted %s; want refused as %s", c.name, len(pkts), diffCounters(before, after), c.want)
			for _, p := range pkts {
				p.Free()
			}
		}
	}
	s.IO().Flush()
}

func diffCounters(before, after []uint64) string {
	var out []string
	for i := range after {
		if after[i] != before[i] {
			out = append(out, fmt.Sprintf("%s +%d", Counter(i), after[i]-before[i]))
		}
	}
	return fmt.Sprint(out)
}

// TestTapAssembledGoUpAsSuperFrames: TCP segments arriving on a ring port
// with GRO on are merged, and the egress TAP's kernel, which took TSO,
// receives each merged packet as one GSO super-frame: every byte of
// payload arrives in far fewer frames than segments went in, each frame
// reaches TCP (TcpInSegs counts a super-frame from a TAP once: the kernel
// leaves its gso_segs to be computed), and the kernel drops none and
// counts no checksum or header error.
func TestTapAssembledGoUpAsSuperFrames(t *testing.T) {
	r := newRig(t, 8192)
	pmdtest.Tun(t)
	ns := pmdtest.Netns(t, fmt.Sprintf("opmdgg%d", os.Getpid()%100000))
	tp := r.tap(pmd.TapConfig{Name: "opmdgg", Netns: ns, Offload: pmd.TapCsum | pmd.TapTSO4 | pmd.TapTSO6}, e2eDst4.String()+"/24", offload.Change{})
	pmdtest.Run(t, "ip", "-n", ns, "link", "set", "opmdgg", "address", e2eDstMAC.String())
	in, inRx, _ := ringPort(t, "e2egg", r.pool)
	r.publish(in, offload.Change{EnableRx: offload.RxTCPLRO, SoftwareRx: offload.RxTCPLRO})
	sizes := make([]int, 256)
	for i := range sizes {
		sizes[i] = 1400
	}
	tr := newTraffic(t, []e2eFlow{{id: 700, mss: 1400}, {id: 701, tsopt: true, mss: 1400}}, sizes, false)
	gso := captureGSO(t, ns, "opmdgg")
	f := r.startIDs(&IOEngine, [2]uint16{in.ID(), tp.ID()})
	stats := func() pmd.Stats {
		st, err := tp.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return st // O*: what we wrote, the kernel's RX
	}
	before, s0 := kernelCounters(t, ns), stats()
	var ms []*pmd.Mbuf
	for _, p := range tr.pkts {
		ms = append(ms, chainOf(t, r.pool, p.frame, 2048))
	}
	enqueue(t, inRx, ms)
	want, payload := len(tr.pkts), 0
	for _, p := range tr.pkts {
		payload += p.n
	}
	waitFor(5*time.Second, func() bool { return stats().Sub(s0).OBytes >= uint64(payload) })
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	after, d := kernelCounters(t, ns), stats().Sub(s0)
	segs := after["TcpInSegs"] - before["TcpInSegs"]
	st := total(f)
	t.Logf("%d segments (%d payload bytes) in, %d frames of %d bytes written, the kernel's TCP took %d; %s",
		want, payload, d.OPackets, d.OBytes, segs, st.nonZero())
	switch {
	case d.OPackets == 0 || d.OPackets*4 > uint64(want):
		t.Errorf("%d frames carried %d segments: merged packets did not go up as super-frames", d.OPackets, want)
	case d.OBytes < uint64(payload) || d.OErrors != 0:
		t.Errorf("the kernel took %d bytes (payload %d), dropped %d frames", d.OBytes, payload, d.OErrors)
	case segs != d.OPackets:
		t.Errorf("the kernel's TCP took %d of the %d frames", segs, d.OPackets)
	case st.Counters[GROMerged] == 0:
		t.Errorf("GRO merged nothing: %s", st.nonZero())
	}
	if n := gso(); n != d.OPackets {
		t.Errorf("the kernel saw %d of the %d frames as GSO super-frames (a packet socket with PACKET_VNET_HDR)", n, d.OPackets)
	}
	for _, k := range []string{"TcpInCsumErrors", "IpInHdrErrors"} {
		if after[k] != before[k] {
			t.Errorf("receiver's %s went from %d to %d", k, before[k], after[k])
		}
	}
}

// TestTapMultiQueue: two-queue TAP ports (IFF_MULTI_QUEUE), one stream per
// queue and direction on one lcore. The kernel spreads flows over the
// queues by hash: 16 TCP connections must all arrive intact and both
// queues of the sending side must have carried traffic.
func TestTapMultiQueue(t *testing.T) {
	r := newRig(t, 8192)
	pmdtest.Tun(t)
	tag := os.Getpid() % 100000
	nsA, nsB := pmdtest.Netns(t, fmt.Sprintf("opmdqa%d", tag)), pmdtest.Netns(t, fmt.Sprintf("opmdqb%d", tag))
	a := r.tap(pmd.TapConfig{Name: "opmdqa", Netns: nsA, Queues: 2, Offload: pmd.TapCsum | pmd.TapTSO4}, "10.253.0.1/24", offload.Change{})
	b := r.tap(pmd.TapConfig{Name: "opmdqb", Netns: nsB, Queues: 2, Offload: pmd.TapCsum | pmd.TapTSO4}, "10.253.0.2/24", offload.Change{})
	plan := Plan{Lcores: []LcorePlan{{Lcore: r.eal.Workers()[0]}}}
	for q := range uint16(2) {
		plan.Streams = append(plan.Streams,
			StreamPlan{RxPort: a.ID(), RxQueue: q, TxPort: b.ID(), TxQueue: q},
			StreamPlan{RxPort: b.ID(), RxQueue: q, TxPort: a.ID(), TxQueue: q})
	}
	for i := range plan.Streams {
		plan.Lcores[0].Streams = append(plan.Lcores[0].Streams, i)
	}
	f, err := Build(r.eal, plan, &IOEngine, r.pool, r.off, func(StreamPlan) StreamSpec { return StreamSpec{Burst: 32} }, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	for range 16 {
		pmdtest.TCPThrough(t, nsA, nsB, "10.253.0.2", 1<<20)
	}
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	var perQueue [2]uint64
	for _, s := range f.Streams() {
		if s.RxPort == a.ID() {
			perQueue[s.RxQueue] += s.Stats().RxPackets
		}
	}
	t.Logf("frames from %s per queue: %v", a.Name(), perQueue)
	if perQueue[0] == 0 || perQueue[1] == 0 {
		t.Errorf("frames from %s per queue %v: the kernel's flows did not use both queues' streams", a.Name(), perQueue)
	}
}
