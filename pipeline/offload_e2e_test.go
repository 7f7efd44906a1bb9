package pipeline

// End-to-end tests of the offload data path: packets enter through real
// ports (net_pcap, net_ring, net_tap), pass the offload stages and an
// engine on a worker lcore, and what leaves is judged by an independent
// decoder (gopacket, tshark) or a real receiver (the Linux kernel in a
// network namespace).

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/assembly"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// Addresses of the test traffic. The destination is the kernel's side in
// the tap test.
var (
	e2eSrcMAC = net.HardwareAddr{0x02, 0, 0, 0, 0xe2, 0x02}
	e2eDstMAC = net.HardwareAddr{0x02, 0, 0, 0, 0xe2, 0x01}
	e2eSrc4   = net.IP{10, 202, 0, 2}
	e2eDst4   = net.IP{10, 202, 0, 1}
	e2eSrc6   = net.ParseIP("fd00:202::2")
	e2eDst6   = net.ParseIP("fd00:202::1")
)

// e2eDstPort is every flow's destination port: nothing listens there.
const e2eDstPort = 47000

// allCsums and allSegs are the TX capabilities the tests enable.
const (
	allCsums = offload.TxIPv4Cksum | offload.TxTCPCksum | offload.TxUDPCksum
	allSegs  = offload.TxTCPTSO | offload.TxTCPTSO6 | offload.TxUDPTSO | offload.TxUDPTSO6
)

// e2eFlow is one flow of test traffic: TCP or UDP over IPv4 or IPv6 from
// source port 40000+id (unique within a test) to e2eDstPort.
type e2eFlow struct {
	id    int
	v6    bool
	udp   bool
	tsopt bool // TCP timestamps option: a 32-byte TCP header
	mss   int  // the segment size its TSO/USO requests ask for
}

func (f e2eFlow) String() string {
	s := "tcp"
	if f.udp {
		s = "udp"
	}
	if f.v6 {
		s += "6"
	} else {
		s += "4"
	}
	if f.tsopt {
		s += "+ts"
	}
	return fmt.Sprintf("%s(port %d)", s, f.srcPort())
}

func (f e2eFlow) srcPort() uint16 { return uint16(40000 + f.id) }

// isn is the flow's first sequence number: close enough to 2^32 that a
// flow of a few hundred KB wraps around.
func (f e2eFlow) isn() uint32 { return 0xfffe0000 + uint32(f.id)*7919 }

// hdrLens are the flow's IP and L4 header lengths.
func (f e2eFlow) hdrLens() (l3, l4 int) {
	l3, l4 = 20, 20
	if f.v6 {
		l3 = 40
	}
	switch {
	case f.udp:
		l4 = 8
	case f.tsopt:
		l4 = 32
	}
	return l3, l4
}

// frame builds the flow's packet carrying payload at offset off of the
// flow's byte stream, with valid checksums (gopacket computes them).
func (f e2eFlow) frame(t testing.TB, off int, payload []byte, ipID uint16, psh bool) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: e2eSrcMAC, DstMAC: e2eDstMAC}
	proto := layers.IPProtocolTCP
	if f.udp {
		proto = layers.IPProtocolUDP
	}
	var l3 gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	if f.v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: e2eSrc6, DstIP: e2eDst6}
		l3, nl = ip, ip
	} else {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, Id: ipID, SrcIP: e2eSrc4, DstIP: e2eDst4}
		if !f.udp {
			ip.Flags = layers.IPv4DontFragment
		}
		l3, nl = ip, ip
	}
	var l4 gopacket.SerializableLayer
	if f.udp {
		u := &layers.UDP{SrcPort: layers.UDPPort(f.srcPort()), DstPort: e2eDstPort}
		if err := u.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		l4 = u
	} else {
		tcp := &layers.TCP{SrcPort: layers.TCPPort(f.srcPort()), DstPort: e2eDstPort,
			Seq: f.isn() + uint32(off), Ack: 1, ACK: true, PSH: psh, Window: 502}
		if f.tsopt {
			tcp.Options = []layers.TCPOption{
				{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
				{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 1, 0, 0, 0, 2, 0}},
			}
		}
		if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		l4 = tcp
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, l3, l4, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	fr := buf.Bytes()
	// gopacket pads a short frame to Ethernet's 60 bytes.
	if l3len, l4len := f.hdrLens(); len(fr) != max(60, 14+l3len+l4len+len(payload)) {
		t.Fatalf("%v: built a %d-byte frame, want %d", f, len(fr), max(60, 14+l3len+l4len+len(payload)))
	}
	return fr
}

// spoil overwrites the frame's IPv4 header checksum and its TCP or UDP
// checksum with garbage, as a sender that leaves them to the NIC may: only
// a checksum task can make them right again.
func (f e2eFlow) spoil(fr []byte) {
	l3, _ := f.hdrLens()
	if !f.v6 {
		binary.BigEndian.PutUint16(fr[14+10:], 0xdead)
	}
	field := 16
	if f.udp {
		field = 6
	}
	binary.BigEndian.PutUint16(fr[14+l3+field:], 0xbeef)
}

// request sets m's TX request as an OS handing the packet to a NIC does:
// the IP and L4 checksums, and TSO or USO at the flow's MSS when the
// payload exceeds it.
func (f e2eFlow) request(m *pmd.Mbuf, payload int) {
	l3, l4 := f.hdrLens()
	fl := offload.OlTxIPv4 | offload.OlTxIPCksum
	if f.v6 {
		fl = offload.OlTxIPv6
	}
	if f.udp {
		fl |= offload.OlTxUDPCksum
	} else {
		fl |= offload.OlTxTCPCksum
	}
	segsz := 0
	if payload > f.mss {
		segsz = f.mss
		if f.udp {
			fl |= offload.OlTxUDPSeg
		} else {
			fl |= offload.OlTxTCPSeg
		}
	}
	m.SetOlFlags(fl)
	m.SetTxLengths(pmd.TxLengths{L2: 14, L3: uint16(l3), L4: uint16(l4), TSOSegsz: uint16(segsz)})
}

// e2ePkt is one packet of test traffic.
type e2ePkt struct {
	flow  e2eFlow
	off   int // where its payload starts in the flow's byte stream
	n     int // payload bytes
	ipID  uint16
	psh   bool
	frame []byte
}

// e2eTraffic is what a test sends: for each size in turn, one packet of
// every flow (so flows interleave), and what each flow's receiver must
// get.
type e2eTraffic struct {
	flows []e2eFlow
	pkts  []e2ePkt
	data  map[uint16][]byte   // each flow's byte stream, by source port
	byOff map[uint16][]e2ePkt // each flow's packets in stream order
}

func newTraffic(t testing.TB, flows []e2eFlow, sizes []int, psh bool) *e2eTraffic {
	t.Helper()
	total := 0
	for _, n := range sizes {
		total += n
	}
	tr := &e2eTraffic{flows: flows, data: map[uint16][]byte{}, byOff: map[uint16][]e2ePkt{}}
	for _, f := range flows {
		if _, dup := tr.data[f.srcPort()]; dup {
			t.Fatalf("two flows with id %d", f.id)
		}
		d := make([]byte, total+8)
		rng := rand.New(rand.NewPCG(uint64(f.id), 0x0ff10ad))
		for i := 0; i < total; i += 8 {
			binary.LittleEndian.PutUint64(d[i:], rng.Uint64())
		}
		tr.data[f.srcPort()] = d[:total]
	}
	// IPv4 IDs count the packets each flow puts on the wire, as Linux
	// numbers them: a packet to be cut into k segments takes k IDs.
	off := 0
	ids := map[uint16]uint16{}
	for _, n := range sizes {
		for _, f := range flows {
			id := ids[f.srcPort()] + uint16(f.id*4096)
			p := e2ePkt{flow: f, off: off, n: n, ipID: id, psh: psh}
			p.frame = f.frame(t, off, tr.data[f.srcPort()][off:off+n], p.ipID, psh)
			tr.pkts = append(tr.pkts, p)
			tr.byOff[f.srcPort()] = append(tr.byOff[f.srcPort()], p)
			ids[f.srcPort()] += uint16(segsOf(p, f.mss))
		}
		off += n
	}
	return tr
}

// frames are the packets' frames in send order.
func (tr *e2eTraffic) frames() [][]byte {
	var out [][]byte
	for _, p := range tr.pkts {
		out = append(out, p.frame)
	}
	return out
}

// segsOf is how many packets p leaves as when its flow's requests ask
// for segments of mss payload bytes.
func segsOf(p e2ePkt, mss int) int {
	if p.n <= mss {
		return 1
	}
	return (p.n + mss - 1) / mss
}

// wantOutputs counts the packets the traffic leaves as with TSO/USO at
// each flow's MSS; tcp and udp4/udp6 split the count.
func (tr *e2eTraffic) wantOutputs() (all, tcp, udp4, udp6 int) {
	for _, p := range tr.pkts {
		n := segsOf(p, p.flow.mss)
		all += n
		switch {
		case !p.flow.udp:
			tcp += n
		case p.flow.v6:
			udp6 += n
		default:
			udp4 += n
		}
	}
	return all, tcp, udp4, udp6
}

// supers counts the packets that need segmenting.
func (tr *e2eTraffic) supers() int {
	n := 0
	for _, p := range tr.pkts {
		if p.n > p.flow.mss {
			n++
		}
	}
	return n
}

// e2eDecoded is what the tests read back from an output frame.
type e2eDecoded struct {
	v6, udp  bool
	srcPort  uint16
	seq      uint32
	ack, psh bool
	ipID     uint16
	ipLen    int // IP header to the end of the packet
	payload  []byte
}

// sum16 adds b to s as big-endian 16-bit words (RFC 1071), an odd last
// byte padded with zero.
func sum16(b []byte, s uint32) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// decodeE2E decodes an output frame with gopacket and checks, with its own
// arithmetic rather than the code under test, that the IPv4 header
// checksum and the TCP or UDP checksum are valid and the IP length is the
// frame's (a minimum-size frame may carry padding after it).
func decodeE2E(fr []byte) (e2eDecoded, error) {
	var d e2eDecoded
	p := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		return d, fmt.Errorf("gopacket cannot decode it: %v", el.Error())
	}
	var pseudo []byte
	var l4 []byte
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		if int(ip.Length) != len(fr)-14 && !(len(fr) == 60 && int(ip.Length) < 46) {
			return d, fmt.Errorf("IPv4 total length %d, the frame carries %d", ip.Length, len(fr)-14)
		}
		if c := fold(sum16(ip.Contents, 0)); c != 0xffff {
			return d, fmt.Errorf("bad IPv4 header checksum %#04x", ip.Checksum)
		}
		d.ipID, d.ipLen = ip.Id, int(ip.Length)
		l4 = fr[14+len(ip.Contents) : 14+int(ip.Length)]
		pseudo = append(append(append([]byte{}, ip.SrcIP.To4()...), ip.DstIP.To4()...), 0, byte(ip.Protocol), byte(len(l4)>>8), byte(len(l4)))
	case *layers.IPv6:
		if 40+int(ip.Length) != len(fr)-14 && !(len(fr) == 60 && 40+int(ip.Length) < 46) {
			return d, fmt.Errorf("IPv6 payload length %d, the frame carries %d", ip.Length, len(fr)-14-40)
		}
		d.v6, d.ipLen = true, 40+int(ip.Length)
		l4 = fr[14+40 : 14+40+int(ip.Length)]
		pseudo = append(append(append([]byte{}, ip.SrcIP.To16()...), ip.DstIP.To16()...),
			byte(len(l4)>>24), byte(len(l4)>>16), byte(len(l4)>>8), byte(len(l4)), 0, 0, 0, byte(ip.NextHeader))
	default:
		return d, fmt.Errorf("not IP: %v", p)
	}
	switch l := p.TransportLayer().(type) {
	case *layers.TCP:
		d.srcPort, d.seq, d.ack, d.psh, d.payload = uint16(l.SrcPort), l.Seq, l.ACK, l.PSH, l.Payload
		if l.SYN || l.RST || l.FIN || l.URG {
			return d, fmt.Errorf("unexpected TCP flags in %v", l)
		}
	case *layers.UDP:
		d.udp, d.srcPort, d.payload = true, uint16(l.SrcPort), l.Payload
		if int(l.Length) != len(l4) {
			return d, fmt.Errorf("UDP length %d, the datagram is %d", l.Length, len(l4))
		}
		if l.Checksum == 0 {
			return d, fmt.Errorf("UDP checksum not computed (0)")
		}
	default:
		return d, fmt.Errorf("neither TCP nor UDP: %v", p)
	}
	if c := fold(sum16(l4, sum16(pseudo, 0))); c != 0xffff {
		proto := "TCP"
		if d.udp {
			proto = "UDP"
		}
		return d, fmt.Errorf("bad %s checksum %#04x", proto, binary.BigEndian.Uint16(l4[map[bool]int{false: 16, true: 6}[d.udp]:]))
	}
	return d, nil
}

// e2eExpect is what the outputs must show beyond valid checksums and every
// flow's bytes arriving once, in order.
type e2eExpect struct {
	// mtu bounds every output's IP length; 0: not checked.
	mtu int
	// segmented: each input leaves whole when its payload fits the MSS,
	// and otherwise as segments of exactly the MSS (the last shorter),
	// the IPv4 ID counting up from the input's, PSH on the last segment
	// only, and nothing else leaves. The MSS is the flow's, or, if sizes
	// is set, one of sizes, the same for all of one input's segments.
	segmented bool
	sizes     []int
}

// verify decodes every output and checks it against the traffic.
func (tr *e2eTraffic) verify(t *testing.T, out [][]byte, x e2eExpect) {
	t.Helper()
	flows := map[uint16]e2eFlow{}
	for _, f := range tr.flows {
		flows[f.srcPort()] = f
	}
	type seg struct {
		rel     int
		payload []byte
	}
	got := map[uint16][]seg{} // by source port, in arrival order
	next := map[uint16]int{}  // the stream offset expected next
	late := map[uint16]int{}  // segments that arrived out of order
	mssOf := map[[2]int]int{} // by (source port, input offset): the MSS an input was cut at
	bad := 0
	report := func(format string, args ...any) { // per output: the first few
		t.Helper()
		if bad++; bad <= 8 {
			t.Errorf(format, args...)
		}
	}
	for i, fr := range out {
		d, err := decodeE2E(fr)
		if err != nil {
			report("output %d (%d bytes): %v", i, len(fr), err)
			continue
		}
		f, ok := flows[d.srcPort]
		if !ok || f.v6 != d.v6 || f.udp != d.udp {
			report("output %d: from source port %d (v6 %v, udp %v), not a flow of the test", i, d.srcPort, d.v6, d.udp)
			continue
		}
		if x.mtu > 0 && d.ipLen > x.mtu {
			report("output %d (%v): IP length %d exceeds the MTU %d", i, f, d.ipLen, x.mtu)
		}
		// UDP has no sequence number: a datagram's place is its arrival
		// (a reordered one shows as different bytes).
		rel := next[d.srcPort]
		if !f.udp {
			if !d.ack {
				report("output %d (%v): ACK flag lost", i, f)
			}
			if rel = int(d.seq - f.isn()); rel != next[d.srcPort] {
				if late[d.srcPort]++; late[d.srcPort] == 1 {
					report("output %d (%v): segment at stream offset %d arrived when %d was due", i, f, rel, next[d.srcPort])
				}
			}
		}
		if x.segmented {
			tr.checkSegment(i, f, rel, d, x.sizes, mssOf, report)
		}
		got[d.srcPort] = append(got[d.srcPort], seg{rel, d.payload})
		next[d.srcPort] = rel + len(d.payload)
	}
	for _, f := range tr.flows {
		port := f.srcPort()
		if late[port] > 0 {
			t.Errorf("%v: %d segments arrived out of order", f, late[port])
		}
		segs := got[port]
		sort.SliceStable(segs, func(i, j int) bool { return segs[i].rel < segs[j].rel })
		var have []byte
		for _, sg := range segs {
			switch {
			case sg.rel < len(have):
				t.Errorf("%v: bytes [%d,%d) received twice", f, sg.rel, min(len(have), sg.rel+len(sg.payload)))
			case sg.rel > len(have):
				t.Errorf("%v: bytes [%d,%d) never received", f, len(have), sg.rel)
			}
			if sg.rel <= len(have) {
				have = append(have[:sg.rel], sg.payload...)
			}
		}
		want := tr.data[port]
		if bytes.Equal(want, have) {
			continue
		}
		at := 0
		for at < min(len(want), len(have)) && want[at] == have[at] {
			at++
		}
		t.Errorf("%v: reassembled %d payload bytes, sent %d; first difference at byte %d", f, len(have), len(want), at)
	}
	if x.segmented {
		wantN := 0
		for _, p := range tr.pkts {
			mss := p.flow.mss
			if m, ok := mssOf[[2]int{int(p.flow.srcPort()), p.off}]; ok {
				mss = m
			}
			wantN += segsOf(p, mss)
		}
		if len(out) != wantN {
			t.Errorf("%d packets out, want %d", len(out), wantN)
		}
	}
}

// checkSegment checks output i, at offset off of flow f, against the input
// it came from.
func (tr *e2eTraffic) checkSegment(i int, f e2eFlow, off int, d e2eDecoded, sizes []int, mssOf map[[2]int]int, report func(string, ...any)) {
	var p *e2ePkt
	for k := range tr.byOff[f.srcPort()] {
		q := &tr.byOff[f.srcPort()][k]
		if off >= q.off && off < q.off+q.n {
			p = q
			break
		}
	}
	if p == nil {
		report("output %d (%v): offset %d is beyond what was sent", i, f, off)
		return
	}
	key := [2]int{int(f.srcPort()), p.off}
	mss, known := mssOf[key]
	if !known {
		if off != p.off {
			report("output %d (%v): starts inside input [%d,+%d) at %d", i, f, p.off, p.n, off)
			return
		}
		switch {
		case len(sizes) == 0:
			mss = f.mss
		case len(d.payload) == p.n:
			mss = p.n // whole: fits any size offered
			for _, s := range sizes {
				if p.n > s {
					report("output %d (%v): a %d-byte payload left whole; segment sizes %v", i, f, p.n, sizes)
				}
			}
		default:
			mss = len(d.payload)
			ok := false
			for _, s := range sizes {
				ok = ok || s == mss
			}
			if !ok {
				report("output %d (%v): cut at %d bytes, want one of %v", i, f, mss, sizes)
			}
		}
		mssOf[key] = mss
	}
	k := (off - p.off) / max(mss, 1)
	want := min(mss, p.off+p.n-off)
	if p.n <= mss {
		want = p.n
	}
	if len(d.payload) != want || (off-p.off)%max(mss, 1) != 0 {
		report("output %d (%v): payload %d bytes at offset %d of a %d-byte input cut at %d: want %d", i, f, len(d.payload), off-p.off, p.n, mss, want)
	}
	if !f.v6 && d.ipID != p.ipID+uint16(k) {
		report("output %d (%v): IPv4 ID %d, want %d (input's %d + segment %d)", i, f, d.ipID, p.ipID+uint16(k), p.ipID, k)
	}
	last := off+len(d.payload) == p.off+p.n
	if !f.udp && d.psh != (p.psh && last) {
		report("output %d (%v): PSH %v on segment %d of an input with PSH %v (last %v)", i, f, d.psh, k, p.psh, last)
	}
}

// e2eRig is the offload configuration of one test's forwarder.
type e2eRig struct {
	t    *testing.T
	eal  *pmd.EAL
	pool *pmd.Mempool
	reg  *offload.Registry
	off  *Offload
}

func newRig(t *testing.T, mbufs uint) *e2eRig {
	t.Helper()
	eal := pmdtest.Need(t)
	r := &e2eRig{t: t, eal: eal, pool: pmdtest.Pool(t, mbufs, 0), reg: &offload.Registry{}}
	r.off = DefaultOffload(r.reg)
	if err := r.off.RegisterDynflags(); err != nil {
		t.Fatal(err)
	}
	return r
}

// publish gives port p its capability table: what the device advertises,
// with c applied, and the port's MTU.
func (r *e2eRig) publish(p *pmd.EthPort, c offload.Change) *offload.Table {
	r.t.Helper()
	info := p.Info()
	tab, err := offload.NewTable(p.ID(), info.Driver, offload.RxCaps(info.RxOffloadCapa), offload.TxCaps(info.TxOffloadCapa)).Apply(c)
	if err != nil {
		r.t.Fatal(err)
	}
	tab.MTU = 1500
	if m, err := p.MTU(); err == nil && m > 0 {
		tab.MTU = m
	}
	if err := r.reg.Publish(tab); err != nil {
		r.t.Fatal(err)
	}
	return tab
}

// startWith configures p with the table's device offloads and starts it;
// it is closed at cleanup.
func (r *e2eRig) startWith(p *pmd.EthPort, tab *offload.Table) {
	r.t.Helper()
	if err := p.Configure(pmd.PortConfig{RxQueues: 1, TxQueues: 1, Pool: r.pool,
		RxOffloads: pmd.RxOffload(tab.DeviceRx()), TxOffloads: pmd.TxOffload(tab.DeviceTx())}); err != nil {
		r.t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		if err := p.Close(); err != nil {
			r.t.Errorf("close port %s: %v", p.Name(), err)
		}
	})
}

// start builds engine e with the rig's offload stages over streams (each
// an RX port and a TX port) on the first worker lcore and starts it. The
// forwarder is closed at cleanup.
func (r *e2eRig) start(e *Engine, streams ...[2]*pmd.EthPort) *Forwarder {
	r.t.Helper()
	plan := Plan{Lcores: []LcorePlan{{Lcore: r.eal.Workers()[0]}}}
	seen := map[uint16]bool{}
	for i, s := range streams {
		for _, p := range s {
			if !seen[p.ID()] {
				seen[p.ID()] = true
				plan.Ports = append(plan.Ports, p.ID())
			}
		}
		plan.Streams = append(plan.Streams, StreamPlan{RxPort: s[0].ID(), TxPort: s[1].ID()})
		plan.Lcores[0].Streams = append(plan.Lcores[0].Streams, i)
	}
	f, err := Build(r.eal, plan, e, r.pool, r.off, func(sp StreamPlan) StreamSpec {
		return StreamSpec{
			PeerMAC: e2eDstMAC, TxMAC: e2eSrcMAC, Burst: 32,
			TxOnly: TxOnlySpec{SrcIP: net.IPv4(198, 18, 0, 1), DstIP: net.IPv4(198, 18, 0, 2), SrcPort: 9, DstPort: 9},
		}
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

// stopTotal stops the forwarder and returns (and logs) its streams'
// summed statistics.
func stopTotal(t *testing.T, f *Forwarder) Stats {
	t.Helper()
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	st := total(f)
	t.Logf("%s", st.nonZero())
	return st
}

// total sums the forwarder's stream statistics.
func total(f *Forwarder) Stats {
	var t Stats
	t.Counters = make([]uint64, numCounters)
	for _, s := range f.Streams() {
		st := s.Stats()
		t.RxPackets += st.RxPackets
		t.TxPackets += st.TxPackets
		t.TxDropped += st.TxDropped
		t.TxPrepareFailed += st.TxPrepareFailed
		t.SpareNoMbuf += st.SpareNoMbuf
		for i, v := range st.Counters {
			t.Counters[i] += v
		}
	}
	return t
}

// nonZero lists the non-zero counters, for failure messages.
// toHardware sums the tasks left to the egress device, of every kind.
func (st Stats) toHardware() uint64 {
	var n uint64
	for t := offload.Task(1); int(t) < offload.NumTasks; t++ {
		n += st.Counters[HardwareTask(t)]
	}
	return n
}

func (st Stats) nonZero() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rx %d tx %d tx-dropped %d tx-prepare-failed %d", st.RxPackets, st.TxPackets, st.TxDropped, st.TxPrepareFailed)
	for i, v := range st.Counters {
		if v != 0 {
			fmt.Fprintf(&b, ", %s %d", Counter(i), v)
		}
	}
	return b.String()
}

// chainOf builds a packet holding frame as a chain of mbufs: pieces of
// the given sizes in turn (the first must hold the headers), so that
// segment boundaries fall at odd and even offsets of the payload.
func chainOf(t testing.TB, pool *pmd.Mempool, frame []byte, pieces ...int) *pmd.Mbuf {
	t.Helper()
	var head *pmd.Mbuf
	for off, i := 0, 0; off < len(frame); i++ {
		n := min(pieces[i%len(pieces)], len(frame)-off)
		m := pool.Alloc()
		if m == nil || !m.SetData(frame[off:off+n]) {
			t.Fatalf("cannot build a %d-byte mbuf", n)
		}
		if head == nil {
			head = m
		} else if !head.Chain(m) {
			t.Fatal("cannot chain")
		}
		off += n
	}
	return head
}

// ringPortTx makes a net_ring port whose TX ring holds txSize-1 packets;
// it returns the port and the TX ring.
func ringPortTx(t *testing.T, name string, pool *pmd.Mempool, txSize uint) (*pmd.EthPort, *pmd.Ring) {
	t.Helper()
	rx, err := pmd.NewRing(name+"_rx", 64, -1, pmd.RingSPSC)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := pmd.NewRing(name+"_tx", txSize, -1, pmd.RingSPSC)
	if err != nil {
		rx.Free()
		t.Fatal(err)
	}
	t.Cleanup(func() { rx.Free(); tx.Free() })
	p, err := pmd.NewRingPort("net_ring_"+name, []*pmd.Ring{rx}, []*pmd.Ring{tx}, -1)
	if err != nil {
		t.Fatal(err)
	}
	startPort(t, p, pool)
	return p, tx
}

// enqueue puts packets into ring r, waiting while it is full.
func enqueue(t testing.TB, r *pmd.Ring, ms []*pmd.Mbuf) {
	t.Helper()
	b := pmd.NewBurst(max(len(ms), 1))
	defer b.Close()
	for _, m := range ms {
		b.Push(m)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Len() > 0 {
		if r.Enqueue(b) == 0 {
			if time.Now().After(deadline) {
				pmd.FreeBulk(b)
				t.Fatalf("ring %s stayed full", r.Name())
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// e2eSink takes every packet a ring port sends, copies its bytes and
// frees it, until closed.
type e2eSink struct {
	mu      sync.Mutex
	frames  [][]byte
	payload int // TCP/UDP payload bytes seen
	stop    chan struct{}
	done    chan struct{}
}

func newSink(t *testing.T, r *pmd.Ring) *e2eSink {
	s := &e2eSink{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		b := pmd.NewBurst(512)
		defer b.Close()
		for {
			if r.Dequeue(b) > 0 {
				s.mu.Lock()
				for _, m := range b.Pkts() {
					fr := m.Bytes()
					s.frames = append(s.frames, fr)
					s.payload += payloadLen(fr)
				}
				s.mu.Unlock()
				pmd.FreeBulk(b)
				continue
			}
			select {
			case <-s.stop:
				return
			default:
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()
	t.Cleanup(func() { s.close() })
	return s
}

// seen returns the packets and payload bytes taken so far.
func (s *e2eSink) seen() (packets, payload int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.frames), s.payload
}

// close stops the sink once the ring is empty and returns what it took.
func (s *e2eSink) close() [][]byte {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.frames
}

// payloadLen is the TCP or UDP payload length of an Ethernet frame, read
// without the parser under test; 0 if it is neither.
func payloadLen(fr []byte) int {
	if len(fr) < 14 {
		return 0
	}
	var l4off, end int
	var proto byte
	switch binary.BigEndian.Uint16(fr[12:]) {
	case 0x0800:
		if len(fr) < 34 {
			return 0
		}
		l4off, proto, end = 14+int(fr[14]&0xf)*4, fr[23], 14+int(binary.BigEndian.Uint16(fr[16:]))
	case 0x86dd:
		if len(fr) < 54 {
			return 0
		}
		l4off, proto, end = 54, fr[20], 54+int(binary.BigEndian.Uint16(fr[18:]))
	default:
		return 0
	}
	end = min(end, len(fr))
	switch {
	case proto == 6 && l4off+20 <= end:
		return end - l4off - int(fr[l4off+12]>>4)*4
	case proto == 17 && l4off+8 <= end:
		return end - l4off - 8
	}
	return 0
}

// pcapOffloadRun replays frames from a pcap through the csum engine on a
// net_pcap port looped to itself, with the TX settings cs, until the port
// has sent want packets; it returns the output pcap and the forwarder's
// statistics.
func pcapOffloadRun(t *testing.T, name string, frames [][]byte, want int, cs CsumSettings) (string, Stats) {
	t.Helper()
	return pcapOffloadRunWith(t, name, frames, want, cs, allCsums|allSegs)
}

// pcapOffloadRunWith is pcapOffloadRun with only the TX capabilities
// enabled enabled (in software).
func pcapOffloadRunWith(t *testing.T, name string, frames [][]byte, want int, cs CsumSettings, enabled offload.TxCaps) (string, Stats) {
	t.Helper()
	r := newRig(t, 8192)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	writePcap(t, in, frames)
	p, err := pmd.ProbeVdev("net_pcap_" + name + ",rx_pcap=" + in + ",tx_pcap=" + out)
	if err != nil {
		t.Fatal(err)
	}
	tab := r.publish(p, offload.Change{EnableTx: enabled, SoftwareTx: enabled})
	if err := p.Configure(pmd.PortConfig{RxQueues: 1, TxQueues: 1, Pool: r.pool, TxOffloads: pmd.TxOffload(tab.DeviceTx())}); err != nil {
		t.Fatal(err)
	}
	closed := false
	closePort := func() error {
		if closed {
			return nil
		}
		closed = true
		return p.Close()
	}
	t.Cleanup(func() { _ = closePort() })
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	r.off.SetCsum(p.ID(), cs)
	f := r.start(&CsumEngine, [2]*pmd.EthPort{p, p})
	ok := waitFor(15*time.Second, func() bool {
		st, err := p.Stats()
		return err == nil && st.OPackets >= uint64(want)
	})
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	st := total(f)
	// Closing the port flushes and closes the output pcap.
	if err := closePort(); err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("the port did not send %d packets in time: %s", want, st.nonZero())
	}
	return out, st
}

// tsharkChecksums has tshark verify every checksum of a pcap and checks
// that it holds want packets, each IPv4 header checksum and each TCP or
// UDP checksum good.
func tsharkChecksums(t *testing.T, path string, want int) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed (scripts/install-deps.sh installs it): checked with gopacket only")
	}
	cmd := exec.Command("tshark", "-r", path, "-n",
		"-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=,",
		"-e", "frame.number", "-e", "ip.version", "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "udp.checksum.status")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	n, bad := 0, 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		n++
		f := strings.Split(sc.Text(), ",")
		if len(f) != 5 {
			t.Fatalf("tshark line %q", sc.Text())
		}
		// Status 1 is Good (0 Bad, 2 Unverified). IPv6 has no header
		// checksum; exactly one of TCP and UDP is present.
		ipOK := f[1] == "6" && f[2] == "" || f[1] == "4" && f[2] == "1"
		l4OK := f[3] == "1" && f[4] == "" || f[3] == "" && f[4] == "1"
		if !ipOK || !l4OK {
			if bad++; bad <= 10 {
				t.Errorf("tshark: frame %s: ip version %s checksum status %q, tcp %q, udp %q (1 is good)", f[0], f[1], f[2], f[3], f[4])
			}
		}
	}
	if n != want {
		t.Errorf("tshark read %d packets, want %d", n, want)
	}
	if bad > 0 {
		t.Errorf("tshark: %d of %d packets with a checksum not good", bad, n)
	}
}

// TestOffloadE2EPcapSuperPackets replays ~64 KiB TCP and UDP super-packets
// (and smaller ones) over IPv4 and IPv6 from a pcap, with their checksums
// spoiled, through the csum engine with TSO and USO set on a net_pcap port
// whose default-size mbufs make every large packet an mbuf chain. Every
// output must decode (gopacket) with valid checksums (our arithmetic and
// tshark's), fit the MTU (the segment sizes put some exactly at it), carry
// at most the MSS, and each flow's payload must come out whole, in order
// and byte for byte.
func TestOffloadE2EPcapSuperPackets(t *testing.T) {
	cases := []struct {
		name     string
		flows    []e2eFlow
		tso, uso uint16
	}{
		// 20+32+1448 and 20+8+1472: exactly the 1500-byte MTU.
		{"ipv4", []e2eFlow{{id: 1, mss: 1448}, {id: 2, tsopt: true, mss: 1448}, {id: 3, udp: true, mss: 1472}, {id: 4, udp: true, mss: 1472}}, 1448, 1472},
		// 40+32+1428 and 40+8+1452: exactly the MTU.
		{"ipv6", []e2eFlow{{id: 5, v6: true, mss: 1428}, {id: 6, v6: true, tsopt: true, mss: 1428}, {id: 7, v6: true, udp: true, mss: 1452}}, 1428, 1452},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTraffic(t, c.flows, []int{64000, 64000, 4097, 300}, true)
			for _, p := range tr.pkts {
				p.flow.spoil(p.frame)
			}
			want, _, _, _ := tr.wantOutputs()
			out, st := pcapOffloadRun(t, "e2e_"+c.name, tr.frames(), want, CsumSettings{TSOSegsz: c.tso, USOSegsz: c.uso})
			frames := readPcap(t, out)
			tr.verify(t, frames, e2eExpect{mtu: 1500, segmented: true})
			if st.Dropped() != 0 || st.Counters[SegInputs] != uint64(tr.supers()) || st.Counters[SegOutputs] != uint64(want-(len(tr.pkts)-tr.supers())) {
				t.Errorf("want %d packets segmented into %d, no drops; counted %s", tr.supers(), want-(len(tr.pkts)-tr.supers()), st.nonZero())
			}
			t.Run("tshark", func(t *testing.T) { tsharkChecksums(t, out, want) })
		})
	}
}

// kernelCounters reads the SNMP counters of namespace ns (nstat, absolute
// values, history untouched).
func kernelCounters(t *testing.T, ns string) map[string]uint64 {
	t.Helper()
	out, err := pmdtest.InNetns(ns, "nstat", "-asz")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c := map[string]uint64{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			c[f[0]] = v
		}
	}
	return c
}

// TestOffloadE2ETapKernelCounts sends TCP and UDP super-packets over IPv4
// and IPv6, carrying TSO/USO and checksum requests as an OS hands them to
// a NIC, into a net_ring port; io forwarding sends them to a net_tap port
// whose kernel interface lives in a network namespace with the packets'
// destination addresses. The kernel, the real receiver, must count every
// segment and datagram and no checksum error: TCP segments to a port
// nobody listens on still count in TcpInSegs (bad ones also in
// TcpInCsumErrors), UDP datagrams in UdpNoPorts / Udp6NoPorts once their
// checksum verified (UdpInCsumErrors otherwise).
//
// "software": the tap's table moves every task to offloadpmd's software.
// "tap-hardware": the tap port is configured with the TX offloads net_tap
// advertises (IPv4/TCP/UDP checksums, TCP_TSO), so TCPv4 TSO and the
// checksums of what software segments (TCPv6 TSO, USO) are left to the
// PMD. The super-packets are mbuf chains; "odd" chains have pieces of odd
// length (as a guest's or a socket's fragments may be), "even" ones do
// not. net_tap's TSO refuses a segment whose frame, Ethernet header
// included, exceeds the MTU, so "tap-hardware/...-chains" use segment
// sizes that fit it (1446 and 1434 for TCPv4), while
// "tap-hardware/ip-mtu-segments" uses sizes whose IP packets fit the
// 1500-byte MTU, which the port's table says is what counts (1448, and
// 20+32+1448 = 1500). Where net_tap would get TSO wrong (odd chains) or
// refuse it (frames over the MTU), its quirks move TCPv4 TSO to
// software: "quirk" modes want every TSO there, counted as such.
func TestOffloadE2ETapKernelCounts(t *testing.T) {
	pmdtest.Need(t)
	pmdtest.Tun(t)
	if _, err := exec.LookPath("nstat"); err != nil {
		t.Skip("nstat (iproute2) not installed")
	}
	odd, even := []int{1001, 2048, 1999, 2000, 513}, []int{1000, 2048, 1998, 2000, 512}
	modes := []struct {
		name         string
		hw           bool
		tcp4, tcp4ts int // TCPv4 segment sizes, without and with options
		pieces       []int
		quirk        bool // net_tap's quirks take TCPv4 TSO back
	}{
		{"software/odd-chains", false, 1448, 1448, odd, false},
		{"tap-hardware/even-chains", true, 1446, 1434, even, false},
		{"tap-hardware/odd-chains", true, 1446, 1434, odd, true},
		{"tap-hardware/ip-mtu-segments", true, 1448, 1448, even, true},
	}
	for i, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			r := newRig(t, 8192)
			ns := pmdtest.Netns(t, fmt.Sprintf("opmd-e2e-tap%d", i))
			iface := fmt.Sprintf("opmde2etap%d", i)
			in, inRx, _ := ringPort(t, fmt.Sprintf("e2etap%d", i), r.pool)
			tap := tapPort(t, fmt.Sprintf("net_tap_e2e%d", i), iface)
			want := offload.Change{EnableTx: allCsums | offload.TxTCPTSO, SoftwareTx: allCsums | offload.TxTCPTSO}
			if m.hw {
				hw := offload.TxCaps(tap.Info().TxOffloadCapa)
				if !hw.Has(allCsums | offload.TxTCPTSO) {
					_ = tap.Close()
					t.Skipf("net_tap advertises TX [%v] here, not the checksums and TCP_TSO", hw)
				}
				want = offload.Change{EnableTx: allCsums | offload.TxTCPTSO}
			}
			tab := r.publish(tap, want)
			r.startWith(tap, tab)
			if m.hw && tab.DeviceTx() != allCsums|offload.TxTCPTSO {
				t.Fatalf("tap table device offloads [%v]", tab.DeviceTx())
			}
			r.publish(in, offload.Change{EnableTx: allCsums | allSegs})
			r.off.Requests[in.ID()] = true
			pmdtest.Run(t, "ip", "link", "set", iface, "netns", ns)
			for _, args := range [][]string{
				{"ip", "link", "set", iface, "address", e2eDstMAC.String()},
				{"ip", "addr", "add", e2eDst4.String() + "/24", "dev", iface},
				{"ip", "-6", "addr", "add", e2eDst6.String() + "/64", "dev", iface, "nodad"},
				{"ip", "link", "set", iface, "up"},
				{"ip", "link", "set", "lo", "up"},
			} {
				if out, err := pmdtest.InNetns(ns, args[0], args[1:]...); err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
			}
			flows := []e2eFlow{
				{id: 1, mss: m.tcp4}, {id: 2, tsopt: true, mss: m.tcp4ts},
				{id: 3, v6: true, mss: 1440}, {id: 4, v6: true, tsopt: true, mss: 1428},
				{id: 5, udp: true, mss: 1472}, {id: 6, v6: true, udp: true, mss: 1452},
			}
			tr := newTraffic(t, flows, []int{64000, 20001, 300}, true)
			_, wantTCP, wantUDP4, wantUDP6 := tr.wantOutputs()
			f := r.start(&IOEngine, [2]*pmd.EthPort{in, tap})
			before := kernelCounters(t, ns)
			var ms []*pmd.Mbuf
			for _, p := range tr.pkts {
				p.flow.spoil(p.frame)
				mb := chainOf(t, r.pool, p.frame, m.pieces...)
				p.flow.request(mb, p.n)
				ms = append(ms, mb)
			}
			enqueue(t, inRx, ms)
			waitFor(5*time.Second, func() bool {
				after := kernelCounters(t, ns)
				return int(after["TcpInSegs"]-before["TcpInSegs"]) >= wantTCP &&
					int(after["UdpNoPorts"]+after["UdpInCsumErrors"]-before["UdpNoPorts"]-before["UdpInCsumErrors"]) >= wantUDP4 &&
					int(after["Udp6NoPorts"]+after["Udp6InCsumErrors"]-before["Udp6NoPorts"]-before["Udp6InCsumErrors"]) >= wantUDP6
			})
			time.Sleep(100 * time.Millisecond) // anything extra would show now
			if err := f.Stop(); err != nil {
				t.Error(err)
			}
			st := total(f)
			after := kernelCounters(t, ns)
			for _, c := range []struct {
				name string
				want int
			}{
				{"TcpInSegs", wantTCP}, {"TcpInCsumErrors", 0}, {"TcpInErrs", 0},
				{"UdpNoPorts", wantUDP4}, {"UdpInCsumErrors", 0}, {"UdpInErrors", 0},
				{"Udp6NoPorts", wantUDP6}, {"Udp6InCsumErrors", 0}, {"Udp6InErrors", 0},
				{"IpInHdrErrors", 0}, {"IpExtInCsumErrors", 0}, {"Ip6InHdrErrors", 0}, {"Ip6InTruncatedPkts", 0},
			} {
				if got := int(after[c.name] - before[c.name]); got != c.want {
					t.Errorf("kernel counted %s %d, want %d", c.name, got, c.want)
				}
			}
			ps, err := tap.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if ps.OErrors != 0 || st.Dropped() != 0 || st.RxPackets != uint64(len(tr.pkts)) {
				t.Errorf("tap oerrors %d; streams: %s", ps.OErrors, st.nonZero())
			}
			// The path the mode is about was the one taken.
			sw, hw := st.Counters[SoftwareTask(offload.TaskTSO)], st.toHardware()
			tcpSupers := 0
			for _, p := range tr.pkts {
				if !p.flow.udp && p.n > p.flow.mss {
					tcpSupers++
				}
			}
			if !m.hw && (sw != uint64(tcpSupers) || hw != 0) {
				t.Errorf("software mode: %d TSO in software (want %d), %d tasks to hardware (want 0)", sw, tcpSupers, hw)
			}
			quirks := st.Counters[TasksQuirk]
			if m.hw && !m.quirk && (sw != uint64(tcpSupers/2) || hw == 0 || quirks != 0) {
				t.Errorf("tap-hardware mode: %d TSO in software (want the %d TCPv6 ones), %d tasks to hardware (want some), %d by quirk (want 0)", sw, tcpSupers/2, hw, quirks)
			}
			if m.quirk && (sw != uint64(tcpSupers) || quirks != uint64(tcpSupers/2) || hw == 0) {
				t.Errorf("tap quirk mode: %d TSO in software (want all %d), %d by quirk (want the %d TCPv4 ones), %d tasks to hardware (want some)", sw, tcpSupers, quirks, tcpSupers/2, hw)
			}
		})
	}
}

// TestOffloadE2EToggleDuringTraffic changes offload settings while
// traffic flows through net_ring ports: no byte may be lost, repeated or
// reordered across the switch, and every checksum stays valid.
func TestOffloadE2EToggleDuringTraffic(t *testing.T) {
	t.Run("gro", testToggleGRO)
	t.Run("tso-segsz", testToggleTSOSegsz)
}

// testToggleGRO streams in-order MSS-sized TCP segments of eight flows
// (IPv4 and IPv6) through io forwarding and turns GRO on and off on the
// RX port (registry.Update) while the lcore is working through a batch, so
// that segments of every flow are on both sides of each switch.
func testToggleGRO(t *testing.T) {
	r := newRig(t, 24576)
	a, aRx, _ := ringPort(t, "e2egro_a", r.pool)
	// The TX ring holds everything: the sink shares the CPUs with the
	// test and the lcore, and a TX drop would hide a lost packet.
	b, bTx := ringPortTx(t, "e2egro_b", r.pool, 32768)
	r.publish(a, offload.Change{})
	r.publish(b, offload.Change{})
	var flows []e2eFlow
	for i := range 8 {
		flows = append(flows, e2eFlow{id: 10 + i, v6: i%2 == 1, tsopt: i%4 >= 2, mss: 1448})
	}
	sizes := make([]int, 2000)
	for i := range sizes {
		sizes[i] = 1400 // within every flow's MTU; GRO merges equal sizes
	}
	tr := newTraffic(t, flows, sizes, false)
	sink := newSink(t, bTx)
	// The traffic is paced (chunks of 64 packets, 8 per flow) and GRO
	// holds a packet up to 20 ms (`set gro flush 2000`), so that at every
	// switch packets are held and the next segments of their flows come
	// before the timeout would let the held ones go: the order must not
	// depend on the timeout.
	r.off.GRO.Timeout = 20 * time.Millisecond
	var ms []*pmd.Mbuf
	for _, p := range tr.pkts {
		ms = append(ms, chainOf(t, r.pool, p.frame, 2048))
	}
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		b := pmd.NewBurst(64)
		defer b.Close()
		for i := 0; i < len(ms); i += 64 {
			for _, m := range ms[i:min(i+64, len(ms))] {
				b.Push(m)
			}
			for deadline := time.Now().Add(5 * time.Second); b.Len() > 0 && time.Now().Before(deadline); {
				if aRx.Enqueue(b) == 0 {
					time.Sleep(20 * time.Microsecond)
				}
			}
			pmd.FreeBulk(b) // none, unless the lcore stalled
			time.Sleep(200 * time.Microsecond)
		}
	}()
	gro := offload.Change{EnableRx: offload.RxTCPLRO, SoftwareRx: offload.RxTCPLRO}
	on, switches := false, 0
	for done := false; !done; {
		select {
		case <-produced:
			done = true
		case <-time.After(4 * time.Millisecond):
			ch := gro
			if on {
				ch = offload.Change{DisableRx: offload.RxTCPLRO}
			}
			if _, err := r.reg.Update(a.ID(), ch); err != nil {
				t.Fatal(err)
			}
			on = !on
			switches++
		}
	}
	wantBytes := 0
	for _, p := range tr.pkts {
		wantBytes += p.n
	}
	waitFor(10*time.Second, func() bool { _, n := sink.seen(); return n >= wantBytes })
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	st := total(f)
	out := sink.close()
	tr.verify(t, out, e2eExpect{})
	merged := 0
	for _, fr := range out {
		if payloadLen(fr) > 1400 {
			merged++
		}
	}
	if st.Counters[GROMerged] == 0 || merged == 0 || len(out) == len(tr.pkts) {
		t.Errorf("GRO never merged (%d packets out of %d in): the test did not exercise it; %s", len(out), len(tr.pkts), st.nonZero())
	}
	if switches < 4 {
		t.Errorf("GRO switched %d times during the traffic, want at least 4", switches)
	}
	if st.Dropped() != 0 {
		t.Errorf("drops: %s", st.nonZero())
	}
}

// testToggleTSOSegsz streams 64000-byte TCP packets through the csum
// engine and switches the TX port's TSO segment size between 1400 and 536
// while they flow: each packet must be cut at one of the two sizes, all of
// its segments alike, both sizes must have been used, and nothing may be
// lost or reordered.
func testToggleTSOSegsz(t *testing.T) {
	r := newRig(t, 16384)
	a, aRx, _ := ringPort(t, "e2etso_a", r.pool)
	b, _, bTx := ringPort(t, "e2etso_b", r.pool)
	r.publish(a, offload.Change{})
	r.publish(b, offload.Change{EnableTx: allCsums | allSegs, SoftwareTx: allCsums | allSegs})
	flows := []e2eFlow{{id: 20, mss: 1400}, {id: 21, v6: true, mss: 1400}, {id: 22, tsopt: true, mss: 1400}, {id: 23, v6: true, tsopt: true, mss: 1400}}
	sizes := make([]int, 16)
	for i := range sizes {
		sizes[i] = 64000
	}
	tr := newTraffic(t, flows, sizes, true)
	sink := newSink(t, bTx)
	r.off.SetCsum(b.ID(), CsumSettings{TSOSegsz: 1400})
	f := r.start(&CsumEngine, [2]*pmd.EthPort{a, b})
	segsz := []uint16{536, 1400}
	const batch = 6
	for i := 0; i < len(tr.pkts); i += batch {
		var ms []*pmd.Mbuf
		for _, p := range tr.pkts[i:min(i+batch, len(tr.pkts))] {
			ms = append(ms, chainOf(t, r.pool, p.frame, 1500, 2048, 777))
		}
		enqueue(t, aRx, ms)
		// Switch once the lcore has taken the batch, while it may still
		// be segmenting its last packets.
		waitFor(5*time.Second, func() bool { return aRx.Count() == 0 })
		r.off.SetCsum(b.ID(), CsumSettings{TSOSegsz: segsz[(i/batch)%2]})
	}
	wantBytes := len(tr.pkts) * 64000
	waitFor(10*time.Second, func() bool { _, n := sink.seen(); return n >= wantBytes })
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	st := total(f)
	out := sink.close()
	tr.verify(t, out, e2eExpect{mtu: 1500, segmented: true, sizes: []int{536, 1400}})
	small := 0
	for _, fr := range out {
		if payloadLen(fr) == 536 {
			small++
		}
	}
	if small == 0 || small == len(out) {
		t.Errorf("%d of %d segments of 536 bytes: the switch did not take effect both ways", small, len(out))
	}
	if st.Dropped() != 0 {
		t.Errorf("drops: %s", st.nonZero())
	}
}

// leakTraffic is a mix that takes every offload stage's paths that hold or
// create mbufs: chained super-packets with TSO/USO and checksum requests,
// MSS segments GRO holds, an IPv4 first fragment reassembly holds, a
// request refused for a lying L4 length, a runt.
func leakTraffic(t *testing.T, pool *pmd.Mempool, base int) []*pmd.Mbuf {
	t.Helper()
	var ms []*pmd.Mbuf
	tr := newTraffic(t, []e2eFlow{
		{id: base + 1, mss: 1448}, {id: base + 2, v6: true, tsopt: true, mss: 1428},
		{id: base + 3, udp: true, mss: 1472}, {id: base + 4, v6: true, udp: true, mss: 1452},
	}, []int{64000, 3000, 200}, true)
	for _, p := range tr.pkts {
		m := chainOf(t, pool, p.frame, 1001, 2048, 1999)
		p.flow.request(m, p.n)
		ms = append(ms, m)
	}
	gro := newTraffic(t, []e2eFlow{{id: base + 5, mss: 1448}, {id: base + 6, v6: true, mss: 1448}}, []int{1448, 1448, 1448, 1448, 1448}, false)
	for _, p := range gro.pkts {
		ms = append(ms, chainOf(t, pool, p.frame, 2048))
	}
	// The first fragment of a UDP datagram whose rest never comes.
	eth := &layers.Ethernet{SrcMAC: e2eSrcMAC, DstMAC: e2eDstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, Id: 777, Flags: layers.IPv4MoreFragments, SrcIP: e2eSrc4, DstIP: e2eDst4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, gopacket.Payload(make([]byte, 1480))); err != nil {
		t.Fatal(err)
	}
	ms = append(ms, chainOf(t, pool, buf.Bytes(), 2048))
	// A lying L4 length, and a runt.
	liar := e2eFlow{id: base + 7, mss: 1448}
	bad := chainOf(t, pool, liar.frame(t, 0, make([]byte, 1000), 1, true), 2048)
	liar.request(bad, 1000)
	bad.SetL2L3L4(14, 20, 24)
	runt := pool.Alloc()
	if runt == nil || !runt.SetData(make([]byte, 10)) {
		t.Fatal("cannot build a runt")
	}
	return append(ms, bad, runt)
}

// TestOffloadE2ENoMbufLeak runs every engine with every offload stage on
// (RX checksum verification, GRO, reassembly, TSO/USO, checksums; held
// packets kept until stop by long timeouts) over a pair of net_ring ports
// with requests, and checks after stop that the mempool's in-use count is
// back at its baseline: every mbuf was sent or freed.
func TestOffloadE2ENoMbufLeak(t *testing.T) {
	for i, e := range Engines {
		t.Run(e.Name, func(t *testing.T) {
			r := newRig(t, 8192)
			r.off.GRO.Timeout = 30 * time.Second // held until stop
			r.off.Reassembly.Timeout = 30 * time.Second
			a, aRx, aTx := ringPort(t, fmt.Sprintf("e2eleak%d_a", i), r.pool)
			b, bRx, bTx := ringPort(t, fmt.Sprintf("e2eleak%d_b", i), r.pool)
			rx := offload.RxIPv4Cksum | offload.RxTCPCksum | offload.RxUDPCksum | offload.RxTCPLRO | offload.RxUDPGRO | offload.RxIPv4Reassembly | offload.RxIPv6Reassembly
			for _, p := range []*pmd.EthPort{a, b} {
				r.publish(p, offload.Change{EnableRx: rx, SoftwareRx: rx, EnableTx: allCsums | allSegs, SoftwareTx: allCsums | allSegs})
				r.off.Requests[p.ID()] = true
				r.off.SetCsum(p.ID(), CsumSettings{TSOSegsz: 1400, USOSegsz: 1400})
			}
			sinkA, sinkB := newSink(t, aTx), newSink(t, bTx)
			base := r.pool.InUse()
			var ms, ms2 []*pmd.Mbuf
			if e.RxMode != pmd.RxAlloc {
				ms, ms2 = leakTraffic(t, r.pool, 100), leakTraffic(t, r.pool, 200)
			}
			f := r.start(e, [2]*pmd.EthPort{a, b}, [2]*pmd.EthPort{b, a})
			enqueue(t, aRx, ms)
			enqueue(t, bRx, ms2)
			if e.RxMode == pmd.RxAlloc {
				waitFor(5*time.Second, func() bool { n, _ := sinkB.seen(); return n > 10000 })
			} else {
				waitFor(5*time.Second, func() bool {
					return aRx.Count() == 0 && bRx.Count() == 0 && total(f).RxPackets == uint64(len(ms)+len(ms2))
				})
				time.Sleep(20 * time.Millisecond)
			}
			if err := f.Stop(); err != nil {
				t.Fatal(err)
			}
			st := total(f)
			sinkA.close()
			sinkB.close()
			if got := r.pool.InUse(); got != base {
				t.Errorf("%s: mempool in use %d after stop, baseline %d: %d mbufs not returned; %s", e.Name, got, base, got-base, st.nonZero())
			}
			if e.RxMode != pmd.RxAlloc {
				if st.RxPackets != uint64(len(ms)+len(ms2)) {
					t.Errorf("received %d of %d", st.RxPackets, len(ms)+len(ms2))
				}
				// The paths that hold packets until stop were taken.
				if st.Counters[GROFlushed(assembly.FlushAll)] == 0 || st.Counters[ReassHeld] == 0 {
					t.Errorf("GRO or reassembly held nothing until stop: %s", st.nonZero())
				}
			}
		})
	}
}

// TestOffloadE2EHeldPacketsCountedAtStop: what the assembly engines hold
// when forwarding stops leaves with a named fate: GRO's held segments are
// sent and counted as flushed at stop, and a fragment whose datagram never
// completed is freed and counted as dropped (stopped), the mempool back at
// its baseline.
func TestOffloadE2EHeldPacketsCountedAtStop(t *testing.T) {
	r := newRig(t, 2048)
	r.off.GRO.Timeout = 30 * time.Second // held until stop
	r.off.Reassembly.Timeout = 30 * time.Second
	a, aRx, _ := ringPort(t, "e2eheld_a", r.pool)
	b, _, bTx := ringPort(t, "e2eheld_b", r.pool)
	rx := offload.RxTCPLRO | offload.RxUDPGRO | offload.RxIPv4Reassembly | offload.RxIPv6Reassembly
	r.publish(a, offload.Change{EnableRx: rx, SoftwareRx: rx})
	r.publish(b, offload.Change{})
	sink := newSink(t, bTx)
	base := r.pool.InUse()
	// One segment in each of three flows: each is held alone.
	tr := newTraffic(t, []e2eFlow{{id: 60, mss: 1448}, {id: 61, v6: true, mss: 1448}, {id: 62, tsopt: true, mss: 1448}}, []int{1448}, false)
	var ms []*pmd.Mbuf
	for _, p := range tr.pkts {
		ms = append(ms, chainOf(t, r.pool, p.frame, 2048))
	}
	// The first fragment of a datagram whose rest never comes.
	eth := &layers.Ethernet{SrcMAC: e2eSrcMAC, DstMAC: e2eDstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, Id: 999, Flags: layers.IPv4MoreFragments, SrcIP: e2eSrc4, DstIP: e2eDst4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, gopacket.Payload(make([]byte, 1480))); err != nil {
		t.Fatal(err)
	}
	ms = append(ms, chainOf(t, r.pool, buf.Bytes(), 2048))
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	enqueue(t, aRx, ms)
	if !waitFor(5*time.Second, func() bool {
		st := total(f)
		return st.RxPackets == 4 && st.Counters[GROHeld] == 3 && st.Counters[ReassHeld] == 1
	}) {
		t.Fatalf("the engines did not hold the packets: %s", total(f).nonZero())
	}
	if n, _ := sink.seen(); n != 0 {
		t.Fatalf("%d packets left before stop with 30 s timeouts", n)
	}
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	st := total(f)
	tr.verify(t, sink.close(), e2eExpect{})
	for _, c := range []struct {
		c    Counter
		want uint64
	}{
		{GROFlushed(assembly.FlushAll), 3},
		{ReassDropped(assembly.ReasonStopped), 1},
		{ReassAborted(assembly.ReasonStopped), 1},
	} {
		if got := st.Counters[c.c]; got != c.want {
			t.Errorf("%s = %d after stop, want %d", c.c, got, c.want)
		}
	}
	if st.Dropped() != 1 {
		t.Errorf("the stopped fragment is not among the drops: Dropped() = %d; %s", st.Dropped(), st.nonZero())
	}
	if got := r.pool.InUse(); got != base {
		t.Errorf("mempool in use %d after stop, baseline %d", got, base)
	}
}

// TestOffloadE2EBadInput sends crafted packets whose TX requests must be
// refused, each followed by a good one, through a net_ring port that
// takes requests, with io forwarding: each bad packet is dropped and
// counted under its own named counter, nothing else is dropped, and every
// good packet comes out right, including a last batch sent after all the
// bad ones.
func TestOffloadE2EBadInput(t *testing.T) {
	r := newRig(t, 8192)
	a, aRx, _ := ringPort(t, "e2ebad_a", r.pool)
	b, _, bTx := ringPort(t, "e2ebad_b", r.pool)
	// UDP segmentation over IPv4 and UFO are not enabled on the port the
	// requests come from.
	r.publish(a, offload.Change{EnableTx: allCsums | offload.TxTCPTSO | offload.TxTCPTSO6 | offload.TxUDPTSO6})
	r.publish(b, offload.Change{})
	r.off.Requests[a.ID()] = true
	tcp4, udp4, tcp6 := e2eFlow{id: 1, mss: 1448}, e2eFlow{id: 2, udp: true, mss: 1472}, e2eFlow{id: 3, v6: true, mss: 1440}
	t4 := tcp4.frame(t, 0, bytes.Repeat([]byte{0x5a}, 4000), 1, true)
	u4 := udp4.frame(t, 0, bytes.Repeat([]byte{0xa5}, 3000), 2, false)
	t6 := tcp6.frame(t, 0, bytes.Repeat([]byte{0x3c}, 4000), 0, true)
	tsoV4 := offload.OlTxIPv4 | offload.OlTxIPCksum | offload.OlTxTCPCksum | offload.OlTxTCPSeg
	type bad struct {
		name  string
		frame []byte
		split int    // first segment's length, 0: one segment
		flags uint64 // ol_flags
		lens  pmd.TxLengths
		ufo   bool
		edit  func([]byte) // applied to a copy of frame
		want  Counter
	}
	L := func(l2, l3, l4, segsz uint16) pmd.TxLengths {
		return pmd.TxLengths{L2: l2, L3: l3, L4: l4, TSOSegsz: segsz}
	}
	cases := []bad{
		{name: "truncated below the IPv4 header", frame: t4[:24], flags: tsoV4, lens: L(14, 20, 20, 1448), want: Malformed(header.ShortIPv4)},
		{name: "truncated: IPv4 total length beyond the frame", frame: t4[:1000], flags: tsoV4, lens: L(14, 20, 20, 500), want: Malformed(header.BadIPv4TotalLen)},
		{name: "truncated inside the TCP header", frame: t4, flags: tsoV4, lens: L(14, 20, 20, 1448),
			edit: func(f []byte) { binary.BigEndian.PutUint16(f[16:], 30) }, want: Malformed(header.ShortTCP)},
		{name: "truncated IPv6 payload", frame: t6[:3000], flags: offload.OlTxIPv6 | offload.OlTxTCPCksum, lens: L(14, 40, 20, 0), want: Malformed(header.BadIPv6PayloadLen)},
		{name: "UDP length beyond the datagram", frame: u4, flags: offload.OlTxIPv4 | offload.OlTxUDPCksum, lens: L(14, 20, 8, 0),
			edit: func(f []byte) { binary.BigEndian.PutUint16(f[14+20+4:], 4000) }, want: Malformed(header.BadUDPLength)},
		{name: "headers split across mbufs", frame: t4, split: 30, flags: tsoV4, lens: L(14, 20, 20, 1448), want: Malformed(header.ShortIPv4)},
		{name: "l2_len lies", frame: t4, flags: tsoV4, lens: L(18, 20, 20, 1448), want: Refused(offload.RefL2LenMismatch)},
		{name: "l3_len lies", frame: t4, flags: tsoV4, lens: L(14, 24, 20, 1448), want: Refused(offload.RefL3LenMismatch)},
		{name: "l4_len lies", frame: t4, flags: tsoV4, lens: L(14, 20, 32, 1448), want: Refused(offload.RefL4LenMismatch)},
		{name: "lengths beyond the packet", frame: t4[:54], flags: offload.OlTxIPv4 | offload.OlTxTCPCksum, lens: L(14, 20, 60, 0),
			edit: func(f []byte) { binary.BigEndian.PutUint16(f[16:], 40) }, want: Refused(offload.RefLengthsBeyondPacket)},
		{name: "tso_segsz 0", frame: t4, flags: tsoV4, lens: L(14, 20, 20, 0), want: Refused(offload.RefTSOSegszZero)},
		{name: "segment size beyond the MTU", frame: t4, flags: tsoV4, lens: L(14, 20, 20, 1461), want: Refused(offload.RefSegszExceedsMTU)},
		{name: "IP checksum asked of IPv6", frame: t6, flags: offload.OlTxIPv6 | offload.OlTxIPCksum | offload.OlTxTCPCksum, lens: L(14, 40, 20, 0), want: Refused(offload.RefIPCksumOnIPv6)},
		{name: "IPv4 flag on IPv6", frame: t6, flags: offload.OlTxIPv4 | offload.OlTxTCPCksum, lens: L(14, 40, 20, 0), want: Refused(offload.RefIPTypeMismatch)},
		{name: "L4 checksum without IP type", frame: t4, flags: offload.OlTxTCPCksum, lens: L(14, 20, 20, 0), want: Refused(offload.RefNoIPType)},
		{name: "TCP checksum asked of UDP", frame: u4, flags: offload.OlTxIPv4 | offload.OlTxTCPCksum, lens: L(14, 20, 8, 0), want: Refused(offload.RefL4TypeMismatch)},
		{name: "TSO of UDP", frame: u4, flags: offload.OlTxIPv4 | offload.OlTxIPCksum | offload.OlTxTCPSeg, lens: L(14, 20, 8, 1400), want: Refused(offload.RefSegNotTCP)},
		{name: "TSO of IPv4 without IP checksum", frame: t4, flags: offload.OlTxIPv4 | offload.OlTxTCPCksum | offload.OlTxTCPSeg, lens: L(14, 20, 20, 1448), want: Refused(offload.RefTSOIPv4NoIPCksum)},
		{name: "tunnel request", frame: t4, flags: offload.OlTxIPv4 | offload.OlTxTCPCksum | 1<<45, lens: L(14, 20, 20, 0), want: Refused(offload.RefTunnelUnsupported)},
		{name: "USO, disabled", frame: u4, flags: offload.OlTxIPv4 | offload.OlTxIPCksum | offload.OlTxUDPCksum | offload.OlTxUDPSeg, lens: L(14, 20, 8, 1000), want: Refused(offload.RefDisabled)},
		{name: "UFO, disabled", frame: u4, flags: offload.OlTxIPv4 | offload.OlTxIPCksum | offload.OlTxUDPCksum, lens: L(14, 20, 8, 1000), ufo: true, want: Refused(offload.RefDisabled)},
		{name: "TSO of a SYN", frame: t4, flags: tsoV4, lens: L(14, 20, 20, 1448),
			edit: func(f []byte) { f[14+20+13] |= 0x02 }, want: DropSegRefused},
	}
	good := []e2eFlow{{id: 30, mss: 1448}, {id: 31, v6: true, udp: true, mss: 1452}}
	goodTr := newTraffic(t, good, []int{3000, 200, 3000, 200, 3000, 200, 3000, 200, 3000, 200, 3000, 200, 3000, 200, 3000, 200, 3000, 200, 3000, 200, 3000, 200, 3000, 200}, true)
	if len(goodTr.pkts) < len(cases)+2 {
		t.Fatalf("%d good packets for %d cases", len(goodTr.pkts), len(cases))
	}
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	goodMbuf := func(p e2ePkt) *pmd.Mbuf {
		p.flow.spoil(p.frame)
		m := chainOf(t, r.pool, p.frame, 1000, 2048)
		p.flow.request(m, p.n)
		return m
	}
	wantCounts := map[Counter]uint64{}
	for i, c := range cases {
		fr := append([]byte(nil), c.frame...)
		if c.edit != nil {
			c.edit(fr)
		}
		var m *pmd.Mbuf
		if c.split > 0 {
			m = chainOf(t, r.pool, fr, c.split, 2048)
		} else {
			m = chainOf(t, r.pool, fr, 2048)
		}
		m.SetOlFlags(c.flags)
		m.SetTxLengths(c.lens)
		if c.ufo {
			r.off.UFO.Set(m)
		}
		enqueue(t, aRx, []*pmd.Mbuf{m, goodMbuf(goodTr.pkts[i])})
		wantCounts[c.want]++
		// Each bad packet is counted where it should be, before the next.
		if !waitFor(5*time.Second, func() bool { return total(f).Counters[c.want] == wantCounts[c.want] }) {
			t.Errorf("%s: counter %s is %d, want %d; %s", c.name, c.want, total(f).Counters[c.want], wantCounts[c.want], total(f).nonZero())
		}
	}
	// The lcore goes on: the rest of the good traffic comes through.
	var rest []*pmd.Mbuf
	for _, p := range goodTr.pkts[len(cases):] {
		rest = append(rest, goodMbuf(p))
	}
	enqueue(t, aRx, rest)
	want, _, _, _ := goodTr.wantOutputs()
	waitFor(5*time.Second, func() bool { n, _ := sink.seen(); return n >= want })
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	st := total(f)
	goodTr.verify(t, sink.close(), e2eExpect{mtu: 1500, segmented: true})
	for _, c := range AllCounters() {
		if c.IsDrop() && st.Counters[c] != wantCounts[c] {
			t.Errorf("drop counter %s = %d, want %d", c, st.Counters[c], wantCounts[c])
		}
	}
	if st.Dropped() != uint64(len(cases)) || st.RxPackets != uint64(len(cases)+len(goodTr.pkts)) {
		t.Errorf("want %d received and %d dropped: %s", len(cases)+len(goodTr.pkts), len(cases), st.nonZero())
	}
}

// TestOffloadE2ENoSpareMbufs gives segmentation a pool too small for one
// 64000-byte packet's segments: the packet is dropped and counted under
// drop-no-spare-mbuf, and the packets after it (checksum requests only)
// still come through.
func TestOffloadE2ENoSpareMbufs(t *testing.T) {
	r := newRig(t, 4096)
	r.off.SegPool = pmdtest.Pool(t, 32, 0)
	a, aRx, _ := ringPort(t, "e2espare_a", r.pool)
	b, _, bTx := ringPort(t, "e2espare_b", r.pool)
	r.publish(a, offload.Change{EnableTx: allCsums | allSegs})
	r.publish(b, offload.Change{})
	r.off.Requests[a.ID()] = true
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	big := newTraffic(t, []e2eFlow{{id: 40, mss: 1448}}, []int{64000}, true)
	small := newTraffic(t, []e2eFlow{{id: 41, mss: 1448}, {id: 42, v6: true, udp: true, mss: 1452}}, []int{1000, 1000, 1000}, true)
	var ms []*pmd.Mbuf
	for _, tr := range []*e2eTraffic{big, small} {
		for _, p := range tr.pkts {
			p.flow.spoil(p.frame)
			m := chainOf(t, r.pool, p.frame, 2048)
			p.flow.request(m, p.n)
			ms = append(ms, m)
		}
	}
	enqueue(t, aRx, ms)
	waitFor(5*time.Second, func() bool { n, _ := sink.seen(); return n >= len(small.pkts) })
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	st := total(f)
	small.verify(t, sink.close(), e2eExpect{mtu: 1500, segmented: true})
	if st.Counters[DropNoSpare] != 1 || st.Dropped() != 1 {
		t.Errorf("want the 64000-byte packet dropped for want of spare mbufs, nothing else: %s", st.nonZero())
	}
}

// TestOffloadE2ERingRoundTrip sends super-packets with TSO/USO and
// checksum requests both ways over paired net_ring ports on one lcore,
// laid out by NewPlan as the binary lays them out: each direction's
// traffic comes out of the other port segmented and whole.
func TestOffloadE2ERingRoundTrip(t *testing.T) {
	r := newRig(t, 8192)
	a, aRx, aTx := ringPort(t, "e2ert_a", r.pool)
	b, bRx, bTx := ringPort(t, "e2ert_b", r.pool)
	for _, p := range []*pmd.EthPort{a, b} {
		r.publish(p, offload.Change{EnableTx: allCsums | allSegs})
		r.off.Requests[p.ID()] = true
	}
	plan, err := NewPlan([]uint16{a.ID(), b.ID()}, 1, 1, config.TopologyPaired, r.eal.Workers()[:1], 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Build(r.eal, plan, &IOEngine, r.pool, r.off, func(StreamPlan) StreamSpec { return StreamSpec{Burst: 32} }, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sinkA, sinkB := newSink(t, aTx), newSink(t, bTx)
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	ab := newTraffic(t, []e2eFlow{{id: 50, mss: 1448}, {id: 51, v6: true, udp: true, mss: 1452}}, []int{64000, 777, 30000}, true)
	ba := newTraffic(t, []e2eFlow{{id: 52, v6: true, tsopt: true, mss: 1428}, {id: 53, udp: true, mss: 1472}}, []int{30000, 64000, 1}, true)
	for _, x := range []struct {
		tr *e2eTraffic
		r  *pmd.Ring
	}{{ab, aRx}, {ba, bRx}} {
		var ms []*pmd.Mbuf
		for _, p := range x.tr.pkts {
			p.flow.spoil(p.frame)
			m := chainOf(t, r.pool, p.frame, 1999, 2048)
			p.flow.request(m, p.n)
			ms = append(ms, m)
		}
		enqueue(t, x.r, ms)
	}
	wantAB, _, _, _ := ab.wantOutputs()
	wantBA, _, _, _ := ba.wantOutputs()
	waitFor(5*time.Second, func() bool {
		n, _ := sinkB.seen()
		m, _ := sinkA.seen()
		return n >= wantAB && m >= wantBA
	})
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	ab.verify(t, sinkB.close(), e2eExpect{mtu: 1500, segmented: true})
	ba.verify(t, sinkA.close(), e2eExpect{mtu: 1500, segmented: true})
}

// TestOffloadE2EGROTrustRx: with GROTrustRx (--gro-no-verify) GRO takes
// the segments' checksums on trust, the IPv4 header's as well as the
// L4's, as librte_gro does; without it, a segment whose IPv4 header
// checksum is wrong is never merged. The second of four segments carries
// a wrong IPv4 header checksum.
func TestOffloadE2EGROTrustRx(t *testing.T) {
	for _, trust := range []bool{false, true} {
		t.Run(fmt.Sprintf("trust=%v", trust), func(t *testing.T) {
			r := newRig(t, 2048)
			r.off.GRO.Timeout = 30 * time.Second // held until stop
			r.off.GROTrustRx = trust
			tag := "v"
			if trust {
				tag = "t"
			}
			a, aRx, _ := ringPort(t, "e2etr"+tag+"_a", r.pool)
			b, _, bTx := ringPort(t, "e2etr"+tag+"_b", r.pool)
			r.publish(a, offload.Change{EnableRx: offload.RxTCPLRO, SoftwareRx: offload.RxTCPLRO})
			r.publish(b, offload.Change{})
			sink := newSink(t, bTx)
			tr := newTraffic(t, []e2eFlow{{id: 70, mss: 1448}}, []int{1448, 1448, 1448, 1448}, false)
			var ms []*pmd.Mbuf
			for i, p := range tr.pkts {
				fr := append([]byte(nil), p.frame...)
				if i == 1 {
					fr[header.EthernetLen+10] ^= 0x5a // the IPv4 header checksum
				}
				ms = append(ms, chainOf(t, r.pool, fr, 2048))
			}
			f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
			enqueue(t, aRx, ms)
			if !waitFor(5*time.Second, func() bool { return total(f).RxPackets == 4 }) {
				t.Fatalf("the packets did not arrive: %s", total(f).nonZero())
			}
			if err := f.Stop(); err != nil {
				t.Fatal(err)
			}
			st := total(f)
			frames := sink.close()
			merged, badIP := st.Counters[GROMerged], st.Counters[GROPassed(assembly.ReasonBadIPChecksum)]
			if trust {
				if merged != 3 || badIP != 0 || len(frames) != 1 {
					t.Errorf("trusted: %d merged, %d refused for the IP checksum, %d out; want 3, 0, 1; %s", merged, badIP, len(frames), st.nonZero())
				}
				return
			}
			if badIP != 1 || merged != 1 || len(frames) != 3 {
				t.Errorf("verified: %d merged, %d refused for the IP checksum, %d out; want 1, 1, 3; %s", merged, badIP, len(frames), st.nonZero())
			}
		})
	}
}
