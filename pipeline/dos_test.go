package pipeline

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/dos"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// The DoS stage's tests build their packets with gopacket, not with the
// header package the filter reads them with.

// TCP flags.
const (
	tFIN = 0x01
	tSYN = 0x02
	tRST = 0x04
	tPSH = 0x08
	tACK = 0x10
	tURG = 0x20
)

// dosPkt describes a test packet.
type dosPkt struct {
	src, dst     string // IPv6 if they hold ':'
	proto        layers.IPProtocol
	sport, dport uint16
	flags        uint8
	seq, ack     uint32
	// An IPv4 fragment: offset in bytes, more fragments, ID; raw is its
	// data after the IP header.
	frag bool
	off  int
	more bool
	id   uint16
	raw  []byte
	arp  bool // an ARP frame
}

func (p dosPkt) frame(t testing.TB) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	eth := &layers.Ethernet{SrcMAC: e2eSrcMAC, DstMAC: e2eDstMAC, EthernetType: layers.EthernetTypeIPv4}
	ls := []gopacket.SerializableLayer{eth}
	if p.arp {
		eth.EthernetType = layers.EthernetTypeARP
		ls = append(ls, &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: e2eSrcMAC, SourceProtAddress: []byte{10, 0, 0, 1},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}})
	} else {
		proto := p.proto
		if proto == 0 {
			proto = layers.IPProtocolTCP
		}
		var nl gopacket.NetworkLayer
		if netip.MustParseAddr(p.src).Is6() {
			eth.EthernetType = layers.EthernetTypeIPv6
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.ParseIP(p.src), DstIP: net.ParseIP(p.dst)}
			nl = ip
			ls = append(ls, ip)
		} else {
			ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, Id: p.id,
				SrcIP: net.ParseIP(p.src).To4(), DstIP: net.ParseIP(p.dst).To4()}
			if p.frag {
				ip.FragOffset = uint16(p.off / 8)
				if p.more {
					ip.Flags = layers.IPv4MoreFragments
				}
			}
			nl = ip
			ls = append(ls, ip)
		}
		switch {
		case p.raw != nil:
			ls = append(ls, gopacket.Payload(p.raw))
		case proto == layers.IPProtocolTCP:
			tcp := &layers.TCP{SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport), Seq: p.seq, Ack: p.ack,
				Window: 65535, FIN: p.flags&tFIN != 0, SYN: p.flags&tSYN != 0, RST: p.flags&tRST != 0,
				PSH: p.flags&tPSH != 0, ACK: p.flags&tACK != 0, URG: p.flags&tURG != 0}
			if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
				t.Fatal(err)
			}
			ls = append(ls, tcp)
		case proto == layers.IPProtocolUDP:
			udp := &layers.UDP{SrcPort: layers.UDPPort(p.sport), DstPort: layers.UDPPort(p.dport)}
			if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
				t.Fatal(err)
			}
			ls = append(ls, udp, gopacket.Payload(make([]byte, 18)))
		case proto == layers.IPProtocolICMPv4:
			ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}, gopacket.Payload(make([]byte, 18)))
		}
	}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// udpHead is a UDP header for a fragmented datagram of n data bytes.
func udpHead(n int) []byte {
	h := make([]byte, 8)
	binary.BigEndian.PutUint16(h[0:], 1000)
	binary.BigEndian.PutUint16(h[2:], 2000)
	binary.BigEndian.PutUint16(h[4:], uint16(8+n))
	return h
}

// dosCase is a sequence of packets, each with the verdict it must get.
type dosCase struct {
	name string
	cfg  func(c *dos.Config)
	pkts []dosExpect
}

type dosExpect struct {
	frame []byte
	want  dos.Reason
}

// dosTestConfig is the defaults with a fixed seed and small tables, and
// the lists the header-rule case uses.
func dosTestConfig() dos.Config {
	c := dos.DefaultConfig()
	c.Seed = 0xd05
	c.Sources, c.Flows, c.Fragments = 1024, 1024, 64
	return c
}

// dosCases are the DoS stage's cases: each header rule, the lists, and
// each rate and limit dropping beyond its burst.
func dosCases(t *testing.T) []dosCase {
	ex := func(want dos.Reason, p dosPkt) dosExpect { return dosExpect{p.frame(t), want} }
	syn := func(src string, sport uint16) dosPkt {
		return dosPkt{src: src, dst: "10.0.0.2", sport: sport, dport: 80, flags: tSYN, seq: 1000 + uint32(sport)}
	}
	repeat := func(n, pass int, bad dos.Reason, p func(i int) dosPkt) []dosExpect {
		var out []dosExpect
		for i := range n {
			want := dos.ReasonNone
			if i >= pass {
				want = bad
			}
			out = append(out, ex(want, p(i)))
		}
		return out
	}
	malformed := dosPkt{src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, flags: tSYN}.frame(t)
	malformed[14] = 0x44 // IHL 4: shorter than an IPv4 header
	tiny := dosPkt{src: "10.0.0.1", dst: "10.0.0.2", frag: true, more: true, id: 5, raw: make([]byte, 8)}
	fo1 := dosPkt{src: "10.0.0.1", dst: "10.0.0.2", frag: true, off: 8, more: true, id: 6, raw: make([]byte, 16)}
	udp := layers.IPProtocolUDP
	frag1 := dosPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: udp, frag: true, more: true, id: 77, raw: append(udpHead(40), make([]byte, 16)...)}
	frag2 := dosPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: udp, frag: true, off: 16, more: true, id: 77, raw: make([]byte, 16)}
	frag3 := dosPkt{src: "10.0.0.1", dst: "10.0.0.2", proto: udp, frag: true, off: 24, id: 77, raw: make([]byte, 24)}
	return []dosCase{
		{name: "headers", cfg: func(c *dos.Config) {
			c.Block = []string{"198.51.100.0/24", "2001:db8:bad::/48"}
			c.Allow = []string{"192.0.2.7"}
		}, pkts: []dosExpect{
			ex(dos.ReasonNone, syn("10.0.0.1", 1)),
			ex(dos.ReasonLand, dosPkt{src: "10.0.0.2", dst: "10.0.0.2", sport: 80, dport: 80, flags: tSYN}),
			ex(dos.ReasonTCPNull, dosPkt{src: "10.0.0.1", dst: "10.0.0.2", sport: 2, dport: 80}),
			ex(dos.ReasonTCPXmas, dosPkt{src: "10.0.0.1", dst: "10.0.0.2", sport: 3, dport: 80, flags: tFIN | tPSH | tURG}),
			ex(dos.ReasonTCPSynFin, dosPkt{src: "10.0.0.1", dst: "10.0.0.2", sport: 4, dport: 80, flags: tSYN | tFIN}),
			ex(dos.ReasonTCPSynRst, dosPkt{src: "10.0.0.1", dst: "10.0.0.2", sport: 5, dport: 80, flags: tSYN | tRST}),
			ex(dos.ReasonTCPFinNoAck, dosPkt{src: "10.0.0.1", dst: "10.0.0.2", sport: 6, dport: 80, flags: tFIN}),
			ex(dos.ReasonTCPSynFin, dosPkt{src: "2001:db8::1", dst: "2001:db8::2", sport: 7, dport: 80, flags: tSYN | tFIN}),
			ex(dos.ReasonTinyFragment, tiny),
			ex(dos.ReasonFragOffsetOne, fo1),
			ex(dos.ReasonNone, frag1),
			ex(dos.ReasonFragOverlap, frag2),
			ex(dos.ReasonNone, frag3),
			{malformed, dos.ReasonMalformed},
			ex(dos.ReasonBlocked, syn("198.51.100.9", 8)),
			ex(dos.ReasonBlocked, dosPkt{src: "2001:db8:bad::5", dst: "2001:db8::2", proto: udp, sport: 9, dport: 53}),
			ex(dos.ReasonNone, syn("192.0.2.7", 10)),                                               // allowed
			ex(dos.ReasonTCPNull, dosPkt{src: "192.0.2.7", dst: "10.0.0.2", sport: 11, dport: 80}), // headers still apply
			ex(dos.ReasonNone, dosPkt{src: "2001:db8::1", dst: "2001:db8::2", proto: udp, sport: 12, dport: 53}),
			ex(dos.ReasonNone, dosPkt{arp: true}),
		}},
		{name: "rate-syn", cfg: func(c *dos.Config) { c.SYN = dos.Rate{Rate: 1, Burst: 5} },
			pkts: repeat(12, 5, dos.ReasonRateSYN, func(i int) dosPkt { return syn("10.0.1.1", uint16(100+i)) })},
		{name: "rate-icmp", cfg: func(c *dos.Config) { c.ICMP = dos.Rate{Rate: 1, Burst: 3} },
			pkts: repeat(8, 3, dos.ReasonRateICMP, func(int) dosPkt {
				return dosPkt{src: "10.0.1.2", dst: "10.0.0.2", proto: layers.IPProtocolICMPv4}
			})},
		{name: "rate-udp", cfg: func(c *dos.Config) { c.UDP = dos.Rate{Rate: 1, Burst: 4} },
			pkts: repeat(9, 4, dos.ReasonRateUDP, func(i int) dosPkt {
				return dosPkt{src: "10.0.1.3", dst: "10.0.0.2", proto: udp, sport: uint16(200 + i), dport: 53}
			})},
		{name: "rate-total", cfg: func(c *dos.Config) { c.Total = dos.Rate{Rate: 1, Burst: 6} },
			pkts: repeat(10, 6, dos.ReasonRateTotal, func(i int) dosPkt {
				return dosPkt{src: "10.0.1.4", dst: "10.0.0.2", proto: udp, sport: uint16(300 + i), dport: 53}
			})},
		{name: "syn-budget", cfg: func(c *dos.Config) { c.SYNBudget = dos.Rate{Rate: 1, Burst: 4} },
			pkts: repeat(10, 4, dos.ReasonSYNBudget, func(i int) dosPkt { return syn(fmt.Sprintf("10.0.2.%d", 1+i), 400) })},
		{name: "connection-limit", cfg: func(c *dos.Config) { c.MaxConnections = 3 },
			pkts: repeat(6, 3, dos.ReasonConnLimit, func(i int) dosPkt { return syn("10.0.3.1", uint16(500+i)) })},
		{name: "half-open-limit", cfg: func(c *dos.Config) { c.MaxHalfOpen = 2 },
			pkts: repeat(5, 2, dos.ReasonHalfOpenLimit, func(i int) dosPkt { return syn("10.0.3.2", uint16(600+i)) })},
	}
}

// dosRig makes a rig whose forwarder has a DoS control with cfg.
func dosRig(t *testing.T, mbufs uint, cfg dos.Config) (*e2eRig, *dos.Control) {
	t.Helper()
	r := newRig(t, mbufs)
	ctl, err := dos.NewControl(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.off.DoS = ctl
	return r, ctl
}

// TestDoSStageOnRing sends each case's packets into a net_ring port whose
// table enables dos_filter, looped to itself by io forwarding: the packets
// to pass come out unchanged and in order, every other one is counted
// under its reason, and the mempool gets every mbuf back.
func TestDoSStageOnRing(t *testing.T) {
	for i, c := range dosCases(t) {
		t.Run(c.name, func(t *testing.T) {
			cfg := dosTestConfig()
			c.cfg(&cfg)
			r, _ := dosRig(t, 2048, cfg)
			p, rx, tx := ringPort(t, fmt.Sprintf("dos%d", i), r.pool)
			r.publish(p, offload.Change{EnableRx: offload.RxDoSFilter})
			inUse := r.pool.InUse()
			f := r.start(&IOEngine, [2]*pmd.EthPort{p, p})
			var frames, want [][]byte
			wantDrops := map[dos.Reason]uint64{}
			for _, e := range c.pkts {
				frames = append(frames, e.frame)
				if e.want == dos.ReasonNone {
					want = append(want, e.frame)
				} else {
					wantDrops[e.want]++
				}
			}
			inject(t, rx, r.pool, frames)
			got := drain(tx, len(want), 5*time.Second)
			if !waitFor(5*time.Second, func() bool { return total(f).RxPackets == uint64(len(frames)) }) {
				t.Fatalf("received %d of %d", total(f).RxPackets, len(frames))
			}
			if err := f.Stop(); err != nil {
				t.Fatal(err)
			}
			st := total(f)
			if len(got) != len(want) {
				t.Fatalf("%d packets out, want %d: %s", len(got), len(want), st.nonZero())
			}
			for j := range want {
				if !bytes.Equal(got[j], want[j]) {
					t.Errorf("packet %d out differs from the one to pass", j)
				}
			}
			for _, rs := range dos.Reasons() {
				if n := st.Counters[DoSDropped(rs)]; n != wantDrops[rs] {
					t.Errorf("dos-%v = %d, want %d", rs, n, wantDrops[rs])
				}
			}
			if d := st.Dropped(); d != uint64(len(frames)-len(want)) {
				t.Errorf("%d drops, want %d: %s", d, len(frames)-len(want), st.nonZero())
			}
			if c.name == "headers" && st.Counters[DoSAllowed] != 1 {
				t.Errorf("dos-allowed = %d, want 1", st.Counters[DoSAllowed])
			}
			if n := r.pool.InUse(); n != inUse {
				t.Errorf("mempool: %d mbufs in use, %d before", n, inUse)
			}
			t.Logf("%s", st.nonZero())
		})
	}
}

// TestDoSStageOff: a port whose table does not enable dos_filter passes
// what the filter would drop; enabled at run time (port config), the next
// burst is judged.
func TestDoSStageOff(t *testing.T) {
	r, _ := dosRig(t, 1024, dosTestConfig())
	p, rx, tx := ringPort(t, "dosoff", r.pool)
	r.publish(p, offload.Change{})
	f := r.start(&IOEngine, [2]*pmd.EthPort{p, p})
	null := dosPkt{src: "10.0.0.1", dst: "10.0.0.2", sport: 2, dport: 80}.frame(t)
	inject(t, rx, r.pool, [][]byte{null})
	if got := drain(tx, 1, 5*time.Second); len(got) != 1 {
		t.Fatal("a null scan did not pass a port without dos_filter")
	}
	if u, ok := f.Streams()[0].DoSUsage(); ok {
		t.Errorf("a filter was made for a port without dos_filter: %+v", u)
	}
	r.publish(p, offload.Change{EnableRx: offload.RxDoSFilter})
	inject(t, rx, r.pool, [][]byte{null})
	if !waitFor(5*time.Second, func() bool { return total(f).Counters[DoSDropped(dos.ReasonTCPNull)] == 1 }) {
		t.Fatalf("enabled at run time, the filter did not drop a null scan: %s", total(f).nonZero())
	}
	if u, ok := f.Streams()[0].DoSUsage(); !ok || u.SourcesCap < 1024 || u.FlowsCap < 1024 {
		t.Errorf("usage %+v, %v: want the configured tables", u, ok)
	}
}

// TestDoSReturnPath: with the return path required, a client is
// established only by an ACK for the server's SYN-ACK, which the engine
// shows the client side's filter as it sends it (the two streams on one
// lcore). Established, its SYNs pass an empty budget; another source's
// do not.
func TestDoSReturnPath(t *testing.T) {
	cfg := dosTestConfig()
	cfg.SYNBudget = dos.Rate{Rate: 1, Burst: 1}
	cfg.RequireReturnPath = true
	r, _ := dosRig(t, 2048, cfg)
	cli, cliRx, cliTx := ringPort(t, "doscli", r.pool)
	srv, srvRx, srvTx := ringPort(t, "dossrv", r.pool)
	r.publish(cli, offload.Change{EnableRx: offload.RxDoSFilter})
	r.publish(srv, offload.Change{})
	f := r.start(&IOEngine, [2]*pmd.EthPort{cli, srv}, [2]*pmd.EthPort{srv, cli})
	const cISN, sISN = 1000, 50000
	c := dosPkt{src: "10.0.9.1", dst: "10.0.9.2", sport: 40000, dport: 80}
	s := dosPkt{src: "10.0.9.2", dst: "10.0.9.1", sport: 80, dport: 40000}
	step := func(in *pmd.Ring, out *pmd.Ring, p dosPkt, pass bool) {
		t.Helper()
		inject(t, in, r.pool, [][]byte{p.frame(t)})
		n := 0
		if pass {
			n = 1
		}
		if got := drain(out, 1, map[bool]time.Duration{true: 5 * time.Second, false: 200 * time.Millisecond}[pass]); len(got) != n {
			t.Fatalf("%+v: %d out, want %d: %s", p, len(got), n, total(f).nonZero())
		}
	}
	syn := c
	syn.flags, syn.seq = tSYN, cISN
	step(cliRx, srvTx, syn, true) // the budget's one token
	synAck := s
	synAck.flags, synAck.seq, synAck.ack = tSYN|tACK, sISN, cISN+1
	step(srvRx, cliTx, synAck, true) // observed on its way out
	ack := c
	ack.flags, ack.seq, ack.ack = tACK, cISN+1, sISN+1
	step(cliRx, srvTx, ack, true)
	if !waitFor(time.Second, func() bool { return total(f).Counters[DoSEstablished] == 1 }) {
		t.Fatalf("the handshake did not establish the client: %s", total(f).nonZero())
	}
	again := c
	again.sport, again.flags, again.seq = 40001, tSYN, 7000
	step(cliRx, srvTx, again, true) // established: no budget needed
	other := dosPkt{src: "10.0.9.3", dst: "10.0.9.2", sport: 40000, dport: 80, flags: tSYN, seq: 1}
	step(cliRx, srvTx, other, false)
	if n := total(f).Counters[DoSDropped(dos.ReasonSYNBudget)]; n != 1 {
		t.Errorf("dos-syn-budget = %d, want 1", n)
	}
}

// dosFlood interleaves frames with n SYNs from distinct random sources
// (a spoofed-source flood).
func dosFlood(t *testing.T, frames [][]byte, n int) [][]byte {
	t.Helper()
	rnd := rand.New(rand.NewPCG(8, 8))
	var out [][]byte
	for i := range n {
		a := rnd.Uint32()
		src := netip.AddrFrom4([4]byte{byte(a>>24) | 1, byte(a >> 16), byte(a >> 8), byte(a)})
		out = append(out, dosPkt{src: src.String(), dst: "10.0.0.2", sport: uint16(rnd.Uint32()), dport: 80, flags: tSYN, seq: rnd.Uint32()}.frame(t))
		if len(frames) > 0 {
			out = append(out, frames[i%len(frames)])
		}
	}
	return out
}

// TestDoSCounters: every reason the filter gives is a named drop counter.
func TestDoSCounters(t *testing.T) {
	for _, r := range dos.Reasons() {
		c := DoSDropped(r)
		if c.String() != "dos-"+r.String() || !c.IsDrop() {
			t.Errorf("reason %v: counter %q, drop %v", r, c, c.IsDrop())
		}
	}
	for _, c := range []Counter{DoSAllowed, DoSEstablished, DoSSourceEvictions, DoSFlowEvictions, DoSFlowsExpired, DoSFragmentEvictions} {
		if c.IsDrop() || c.String() == "unused" {
			t.Errorf("counter %d %q: drop %v", c, c, c.IsDrop())
		}
	}
	if n := DoSDropped(dos.Reasons()[len(dos.Reasons())-1]); int(n) >= numCounters {
		t.Errorf("the last reason's counter %d is past the counters (%d)", n, numCounters)
	}
}

// TestDoSPipelined: in pipeline mode the RX half judges (the TX half has
// no filter) and the stream reports the drops.
func TestDoSPipelined(t *testing.T) {
	c := dosCases(t)[0] // the header rules and lists
	cfg := dosTestConfig()
	c.cfg(&cfg)
	r, _ := dosRig(t, 2048, cfg)
	a, aRx, _ := ringPort(t, "dospa", r.pool)
	b, _, bTx := ringPort(t, "dospb", r.pool)
	r.publish(a, offload.Change{EnableRx: offload.RxDoSFilter})
	r.publish(b, offload.Change{})
	f := r.pipelined(&IOEngine, a, b)
	var frames [][]byte
	pass := 0
	for _, e := range c.pkts {
		frames = append(frames, e.frame)
		if e.want == dos.ReasonNone {
			pass++
		}
	}
	inject(t, aRx, r.pool, frames)
	if got := drain(bTx, pass, 5*time.Second); len(got) != pass {
		t.Fatalf("%d out, want %d: %s", len(got), pass, total(f).nonZero())
	}
	if !waitFor(5*time.Second, func() bool { return total(f).Dropped() == uint64(len(frames)-pass) }) {
		t.Fatalf("drops: %s", total(f).nonZero())
	}
	for _, l := range f.Lcores() {
		for _, s := range l.Streams {
			if _, ok := s.DoSUsage(); ok != (s.Role() != RoleTx) {
				t.Errorf("%v half: filter %v", s.Role(), ok)
			}
		}
	}
}
