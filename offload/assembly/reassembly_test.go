package assembly

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

// dgram is a datagram to fragment, and the test's own fragmenter.
type dgram struct {
	frame []byte // the whole datagram
	l2    int
	v6    bool
	hdr   int // what every fragment repeats: IPv4 header; IPv6 header and unfragmentable extension headers
	nh    int // IPv6: offset in the IP header of the next-header byte that will name the Fragment header
	id    uint32
	data  []byte // the fragmentable part
}

// dgSpec describes a datagram to build with gopacket.
type dgSpec struct {
	v6     bool
	size   int // UDP payload
	id     uint32
	vlan   bool
	ipopt  bool // IPv4 options
	hbh    bool // IPv6: a hop-by-hop header (unfragmentable)
	dstopt bool // IPv6: a destination options header (fragmentable)
	tcp    bool
}

func makeDgram(t testing.TB, s dgSpec) *dgram {
	t.Helper()
	var ls []gopacket.SerializableLayer
	et := layers.EthernetTypeIPv4
	if s.v6 {
		et = layers.EthernetTypeIPv6
	}
	l2 := 14
	if s.vlan {
		ls = append(ls, &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeDot1Q}, &layers.Dot1Q{VLANIdentifier: 9, Type: et})
		l2 += 4
	} else {
		ls = append(ls, &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: et})
	}
	proto := layers.IPProtocolUDP
	if s.tcp {
		proto = layers.IPProtocolTCP
	}
	d := &dgram{l2: l2, v6: s.v6, id: s.id}
	var nl gopacket.NetworkLayer
	if !s.v6 {
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: uint16(s.id), Protocol: proto, SrcIP: net.IP{10, 1, 0, 1}, DstIP: net.IP{10, 1, 0, 2}}
		d.hdr = 20
		if s.ipopt {
			ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}}
			d.hdr = 24
		}
		ls, nl = append(ls, ip), ip
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.ParseIP("2001:db8:1::1"), DstIP: net.ParseIP("2001:db8:1::2")}
		ls, nl = append(ls, ip), ip
		d.hdr, d.nh = 40, refV6NextHdr
		last := &ip.NextHeader
		if s.hbh {
			hbh := &layers.IPv6HopByHop{}
			hbh.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
			hbh.NextHeader, *last = *last, layers.IPProtocolIPv6HopByHop
			last = &hbh.NextHeader
			ls = append(ls, hbh)
			d.hdr, d.nh = 48, 40
		}
		if s.dstopt {
			dst := &layers.IPv6Destination{}
			dst.Options = []*layers.IPv6DestinationOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
			dst.NextHeader, *last = *last, layers.IPProtocolIPv6Destination
			ls = append(ls, dst)
		}
	}
	payload := make([]byte, s.size)
	for i := range payload {
		payload[i] = byte(i*13 + int(s.id))
	}
	if s.tcp {
		tc := &layers.TCP{SrcPort: 5, DstPort: 6, Seq: 1, ACK: true, Window: 100}
		_ = tc.SetNetworkLayerForChecksum(nl)
		ls = append(ls, tc)
	} else {
		u := &layers.UDP{SrcPort: 40001, DstPort: 50001}
		_ = u.SetNetworkLayerForChecksum(nl)
		ls = append(ls, u)
	}
	ls = append(ls, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	sh := decode(t, buf.Bytes())
	d.frame = append([]byte(nil), buf.Bytes()[:l2+sh.ipLen]...)
	d.data = d.frame[l2+d.hdr:]
	return d
}

// src is byte i of the fragmentable data, with filler past its end (for
// fragments that claim more than there is).
func (d *dgram) src(from, to int) []byte {
	b := make([]byte, to-from)
	for i := range b {
		if from+i < len(d.data) {
			b[i] = d.data[from+i]
		} else {
			b[i] = byte(0xe0 + (from+i)%16)
		}
	}
	return b
}

// frag is the fragment of data [off, end), as RFC 791 §3.2 and RFC 8200
// §4.5 describe them, built with the test's reference code.
func (d *dgram) frag(off, end int, more bool) []byte {
	f := append([]byte(nil), d.frame[:d.l2+d.hdr]...)
	ip := f[d.l2:]
	if !d.v6 {
		binary.BigEndian.PutUint16(ip[refV4TotalLen:], uint16(d.hdr+end-off))
		fl := uint16(off / 8)
		if more {
			fl |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[refV4Flags:], fl)
		binary.BigEndian.PutUint16(ip[refV4Checksum:], 0)
		binary.BigEndian.PutUint16(ip[refV4Checksum:], ^refSum(ip[:d.hdr]))
		return append(f, d.src(off, end)...)
	}
	next := ip[d.nh]
	ip[d.nh] = 44
	binary.BigEndian.PutUint16(ip[refV6PayLen:], uint16(d.hdr-40+8+end-off))
	fh := make([]byte, 8)
	fh[0] = next
	m := uint16(off) &^ 7
	if more {
		m |= 1
	}
	binary.BigEndian.PutUint16(fh[2:], m)
	binary.BigEndian.PutUint32(fh[4:], d.id)
	return append(append(f, fh...), d.src(off, end)...)
}

// whole is the datagram the reference expects from data [0, end).
func (d *dgram) whole(end int) []byte {
	f := append(append([]byte(nil), d.frame[:d.l2+d.hdr]...), d.src(0, end)...)
	ip := f[d.l2:]
	if !d.v6 {
		binary.BigEndian.PutUint16(ip[refV4TotalLen:], uint16(d.hdr+end))
		binary.BigEndian.PutUint16(ip[refV4Flags:], 0)
		binary.BigEndian.PutUint16(ip[refV4Checksum:], 0)
		binary.BigEndian.PutUint16(ip[refV4Checksum:], ^refSum(ip[:d.hdr]))
	} else {
		binary.BigEndian.PutUint16(ip[refV6PayLen:], uint16(d.hdr-40+end))
	}
	return f
}

// fp is a fragment in a test: of datagram dg, data [off, end), last or
// not (auto: last when end is the datagram's end), arriving at at, with
// pad bytes of Ethernet padding.
type fp struct {
	dg       int
	off, end int
	last     int // 0 auto, 1 more fragments, 2 last
	at       int64
	pad      int
	frame    []byte // instead of a fragment
}

// pieces splits n bytes of data into fragments of size bytes.
func pieces(dg, n, size int) []fp {
	var r []fp
	for off := 0; off < n; off += size {
		r = append(r, fp{dg: dg, off: off, end: min(off+size, n)})
	}
	return r
}

// order picks fragments by index.
func order(fs []fp, idx ...int) []fp {
	r := make([]fp, len(idx))
	for k, i := range idx {
		r[k] = fs[i]
	}
	return r
}

// reasmRunner feeds fragments and checks outputs: a reassembled datagram
// must equal the reference one, a packet passed through must be unchanged.
type reasmRunner struct {
	t       testing.TB
	store   testStore
	r       *Reassembler
	dgs     []*dgram
	v       []Verdict
	inputs  [][]byte
	done    []int // per datagram: outputs
	outs    int
	in      []Input
	vs      []Verdict
	out     []Output
	wantEnd func(dg int) int // the data length of a datagram that comes out; nil: any
}

func newReasmRunner(t testing.TB, cfg ReassemblyConfig, dgs []*dgram, st testStore) *reasmRunner {
	if st == nil {
		st = &pkt.SliceStore{}
	}
	r, err := NewReassembler(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &reasmRunner{t: t, store: st, r: r, dgs: dgs, done: make([]int, len(dgs)),
		wantEnd: func(dg int) int { return len(dgs[dg].data) }}
}

func (rr *reasmRunner) frame(f fp) []byte {
	if f.frame != nil {
		return f.frame
	}
	d := rr.dgs[f.dg]
	more := f.end < len(d.data)
	if f.last != 0 {
		more = f.last == 1
	}
	return append(d.frag(f.off, f.end, more), make([]byte, f.pad)...)
}

func (rr *reasmRunner) burst(now int64, fs []fp) {
	rr.t.Helper()
	rr.in = rr.in[:0]
	for _, f := range fs {
		b := rr.frame(f)
		rr.inputs = append(rr.inputs, b)
		rr.in = append(rr.in, Input{Pkt: rr.store.Put(append([]byte(nil), b...)), L4Csum: checksum.Unknown})
	}
	rr.vs = append(rr.vs[:0], make([]Verdict, len(fs))...)
	rr.out = append(rr.out[:0], make([]Output, len(fs))...)
	n := rr.r.Receive(now, rr.in, rr.vs, rr.out)
	rr.v = append(rr.v, rr.vs...)
	merged := 0
	for k, v := range rr.vs {
		if v.Fate == Dropped && v.Reason == ReasonNone || v.Fate == Passed && v.Reason == ReasonNone {
			rr.t.Fatalf("input %d: %v without a reason", k, v.Fate)
		}
		if v.Fate == Merged {
			merged++
		}
	}
	passed := 0
	for _, o := range rr.out[:n] {
		got := rr.store.Bytes(o.Pkt)
		switch o.Kind {
		case KindNone:
			k := 0
			for ; k < len(rr.in) && rr.in[k].Pkt != o.Pkt; k++ {
			}
			if k == len(rr.in) || rr.vs[k].Fate != Passed || o.Segs != 1 || !bytes.Equal(got, rr.inputs[len(rr.inputs)-len(fs)+k]) {
				rr.t.Fatalf("output %v is not an input passed through unchanged", o)
			}
			passed++
		case KindIPv4Reassembled, KindIPv6Reassembled:
			dg := -1
			for i, d := range rr.dgs {
				end := len(got) - d.l2 - d.hdr
				if rr.wantEnd != nil {
					end = rr.wantEnd(i)
				}
				if end > 0 && (o.Kind == KindIPv6Reassembled) == d.v6 && bytes.Equal(got, d.whole(end)) {
					dg = i
				}
			}
			if dg < 0 {
				rr.t.Fatalf("reassembled %v is no datagram sent: %x", o, got[:min(len(got), 100)])
			}
			if (o.Kind == KindIPv6Reassembled) != rr.dgs[dg].v6 || o.Segs < 2 || o.L4Csum != checksum.Unknown {
				rr.t.Fatalf("output %v", o)
			}
			if bytes.Equal(got, rr.dgs[dg].frame) {
				refVerify(rr.t, got) // the datagram as sent: its L4 checksum verifies
			}
			rr.done[dg]++
		default:
			rr.t.Fatalf("output kind %v", o.Kind)
		}
		rr.store.Free(o.Pkt)
	}
	if n != merged+passed {
		rr.t.Fatalf("%d outputs for %d merged and %d passed", n, merged, passed)
	}
	rr.outs += n
	rr.r.Flush(now)
	rr.check()
}

// check: every input is passed, dropped, joined or held.
func (rr *reasmRunner) check() {
	rr.t.Helper()
	st := rr.r.Stats()
	var passed, dropped uint64
	for _, n := range st.Passed {
		passed += n
	}
	for _, n := range st.Dropped {
		dropped += n
	}
	held := uint64(rr.r.HeldFragments())
	if st.In != uint64(len(rr.inputs)) || st.In != passed+dropped+st.Joined+held {
		rr.t.Fatalf("counters: in %d = passed %d + dropped %d + joined %d + held %d? %+v", st.In, passed, dropped, st.Joined, held, st)
	}
	if rr.store.Live() != int(held) {
		rr.t.Fatalf("store holds %d packets, engine %d", rr.store.Live(), held)
	}
	b := 0
	for i := rr.r.slots.oldest; i != none; i = rr.r.slots.newer[i] {
		for _, f := range rr.r.held(i) {
			b += rr.store.Len(f.h)
		}
	}
	if b != rr.r.HeldBytes() || b > rr.r.cfg.MaxBytes {
		rr.t.Fatalf("held bytes %d, counted %d, limit %d", b, rr.r.HeldBytes(), rr.r.cfg.MaxBytes)
	}
}

func (rr *reasmRunner) stop() {
	rr.t.Helper()
	rr.r.FlushAll()
	rr.check()
	if rr.store.Live() != 0 || rr.r.Datagrams() != 0 || rr.r.HeldBytes() != 0 {
		rr.t.Fatalf("after FlushAll: %d packets, %d datagrams, %d bytes", rr.store.Live(), rr.r.Datagrams(), rr.r.HeldBytes())
	}
}

type reasmCase struct {
	store    testStore
	name     string
	dgs      []dgSpec
	frags    []fp
	cfg      func(*ReassemblyConfig)
	idle     int64
	verdicts string   // a letter per input: P H M D
	reasons  string   // the reasons of the P and D inputs, in order, space-separated
	done     []int    // outputs per datagram
	after    []Reason // reasons counted in Dropped after idle and FlushAll, with counts below
	afterN   []uint64
}

func TestReassembly(t *testing.T) {
	v4 := dgSpec{size: 3000, id: 0x1234}               // data 3008
	v6 := dgSpec{v6: true, size: 3000, id: 0x89abcdef} // data 3008
	v6x := dgSpec{v6: true, size: 2992, id: 77, hbh: true, dstopt: true}
	p4 := pieces(0, 3008, 1480)
	p8 := pieces(0, 3008, 400)
	sec := int64(time.Second)
	cases := []reasmCase{
		{name: "IPv4 in order", dgs: []dgSpec{v4}, frags: p4, verdicts: "HHM", done: []int{1}},
		{name: "IPv4 reversed", dgs: []dgSpec{v4}, frags: order(p4, 2, 1, 0), verdicts: "HHM", done: []int{1}},
		{name: "IPv4 shuffled", dgs: []dgSpec{v4}, frags: order(p8, 3, 7, 0, 5, 1, 6, 2, 4), verdicts: "HHHHHHHM", done: []int{1}},
		{name: "IPv4 options, VLAN, TCP", dgs: []dgSpec{{size: 3000, id: 5, ipopt: true, vlan: true, tcp: true}}, frags: pieces(0, 3020, 1000), verdicts: "HHHM", done: []int{1}},
		{name: "IPv6 in order", dgs: []dgSpec{v6}, frags: p4, verdicts: "HHM", done: []int{1}},
		{name: "IPv6 reversed", dgs: []dgSpec{v6}, frags: order(p4, 2, 1, 0), verdicts: "HHM", done: []int{1}},
		{name: "IPv6 extension headers, shuffled", dgs: []dgSpec{v6x}, frags: order(p8, 7, 3, 1, 0, 6, 2, 5, 4), verdicts: "HHHHHHHM", done: []int{1}},
		{name: "IPv6 VLAN TCP", dgs: []dgSpec{{v6: true, size: 2000, id: 3, vlan: true, tcp: true, hbh: true}}, frags: pieces(0, 2020, 1232), verdicts: "HM", done: []int{1}},
		{name: "interleaved datagrams", dgs: []dgSpec{v4, v6, with4(v4, 99)}, verdicts: "HHHHHHMMM", done: []int{1, 1, 1},
			frags: []fp{{dg: 0, off: 1480, end: 2960}, {dg: 1, off: 0, end: 1480}, {dg: 2, off: 2960, end: 3008}, {dg: 2, off: 0, end: 1480},
				{dg: 0, off: 0, end: 1480}, {dg: 1, off: 2960, end: 3008}, {dg: 0, off: 2960, end: 3008}, {dg: 1, off: 1480, end: 2960}, {dg: 2, off: 1480, end: 2960}}},
		{name: "padded tiny fragments", dgs: []dgSpec{{size: 16, id: 4}}, frags: pieces(0, 24, 8), verdicts: "HHM", done: []int{1}},
		{name: "exact duplicate dropped alone", dgs: []dgSpec{v4}, frags: order(p4, 0, 0, 1, 2), verdicts: "HDHM", reasons: "duplicate", done: []int{1}},
		{name: "duplicate last", dgs: []dgSpec{v6}, frags: order(p4, 2, 2, 0, 1), verdicts: "HDHM", reasons: "duplicate", done: []int{1}},
		{name: "overlap drops the datagram and its later fragments", dgs: []dgSpec{v4},
			frags: []fp{p4[0], {off: 1472, end: 2960}, p4[1], p4[2]}, verdicts: "HDDD", reasons: "overlap datagram-aborted datagram-aborted",
			after: []Reason{ReasonOverlap, ReasonAborted}, afterN: []uint64{2, 2}},
		{name: "overlap inside (RFC 5722) IPv6", dgs: []dgSpec{v6}, frags: []fp{p4[0], p4[1], {off: 8, end: 16, last: 1}}, verdicts: "HHD", reasons: "overlap",
			after: []Reason{ReasonOverlap}, afterN: []uint64{3}},
		{name: "same offset, other length, overlaps", dgs: []dgSpec{v4}, frags: []fp{p4[0], {off: 0, end: 1000, last: 1}}, verdicts: "HD", reasons: "overlap"},
		{name: "missing fragment times out", dgs: []dgSpec{v4}, frags: order(p4, 0, 2), idle: 30 * sec, verdicts: "HH",
			after: []Reason{ReasonTimeout, ReasonStopped}, afterN: []uint64{2, 0}},
		{name: "not yet timed out", dgs: []dgSpec{v4}, frags: order(p4, 0, 2), idle: 30*sec - 1, verdicts: "HH",
			after: []Reason{ReasonTimeout, ReasonStopped}, afterN: []uint64{0, 2}},
		{name: "late fragment after timeout starts anew", dgs: []dgSpec{v4}, verdicts: "HHH",
			frags: []fp{p4[0], p4[2], {off: 1480, end: 2960, at: 31 * sec}}, after: []Reason{ReasonTimeout, ReasonStopped}, afterN: []uint64{2, 1}},
		{name: "an aborted datagram is forgotten at its timeout", dgs: []dgSpec{v4}, verdicts: "HDHHM", reasons: "overlap",
			frags: []fp{p4[0], {off: 8, end: 16, last: 1}, {off: 0, end: 1480, at: 30 * sec}, {off: 1480, end: 2960, at: 30 * sec}, {off: 2960, end: 3008, at: 30 * sec}}, done: []int{1}},
		{name: "too many fragments", dgs: []dgSpec{v4}, frags: p8, cfg: func(c *ReassemblyConfig) { c.FragmentsPerDatagram = 4 },
			verdicts: "HHHHDDDD", reasons: "too-many-fragments datagram-aborted datagram-aborted datagram-aborted",
			after: []Reason{ReasonTooManyFragments, ReasonAborted}, afterN: []uint64{5, 3}},
		{name: "memory limit", dgs: []dgSpec{v4, with4(v4, 2)}, cfg: func(c *ReassemblyConfig) { c.MaxBytes = 3200 },
			frags:    []fp{{dg: 1, off: 0, end: 1480}, p4[0], p4[1], {dg: 1, off: 1480, end: 2960}, {dg: 1, off: 2960, end: 3008}},
			verdicts: "HHDHM", reasons: "memory-limit", done: []int{0, 1}, after: []Reason{ReasonMemoryLimit}, afterN: []uint64{2}},
		{name: "table full", dgs: []dgSpec{v4, with4(v4, 2)}, cfg: func(c *ReassemblyConfig) { c.Datagrams = 1 },
			frags: []fp{p4[0], {dg: 1, off: 0, end: 1480}, p4[1], p4[2], {dg: 1, off: 1480, end: 2960}}, verdicts: "HDHMH", reasons: "table-full", done: []int{1, 0}},
		{name: "fragment not a multiple of 8", dgs: []dgSpec{v4}, frags: []fp{{off: 0, end: 1001, last: 1}, p4[0], p4[1], p4[2]}, verdicts: "DHHM", reasons: "bad-fragment-length", done: []int{1}},
		{name: "empty fragment", dgs: []dgSpec{v6}, frags: []fp{{off: 8, end: 8, last: 1}}, verdicts: "D", reasons: "bad-fragment-length"},
		{name: "too big", dgs: []dgSpec{v4}, frags: []fp{p4[0], {off: 65000, end: 65520, last: 1}, p4[1]}, verdicts: "HDD", reasons: "too-big datagram-aborted"},
		{name: "IPv6 too big", dgs: []dgSpec{v6}, frags: []fp{{off: 65528, end: 65536, last: 2}}, verdicts: "D", reasons: "too-big"},
		{name: "two ends", dgs: []dgSpec{v4}, frags: []fp{p4[2], {off: 1480, end: 2000, last: 2}, p4[0]}, verdicts: "HDD", reasons: "inconsistent-length datagram-aborted"},
		{name: "an earlier end completes a shorter datagram", dgs: []dgSpec{v4}, frags: []fp{p4[0], {off: 1480, end: 2000, last: 2}}, verdicts: "HM", done: []int{1}},
		{name: "data past the end", dgs: []dgSpec{v4}, frags: []fp{p4[2], {off: 3008, end: 3200, last: 1}}, verdicts: "HD", reasons: "inconsistent-length"},
		{name: "end before data held", dgs: []dgSpec{v6}, frags: []fp{p4[2], {off: 8, end: 1000, last: 2}}, verdicts: "HD", reasons: "inconsistent-length"},
		{name: "duplicate that is last only once", dgs: []dgSpec{v4}, frags: []fp{p4[1], {off: 1480, end: 2960, last: 2}}, verdicts: "HD", reasons: "inconsistent-length"},
		{name: "IPv4 reassembly off", dgs: []dgSpec{v4}, frags: p4, cfg: func(c *ReassemblyConfig) { c.IPv4 = false },
			verdicts: "PPP", reasons: "disabled disabled disabled"},
		{name: "IPv6 reassembly off", dgs: []dgSpec{v6, v4}, frags: []fp{p4[0], {dg: 1, off: 0, end: 1480}, {dg: 1, off: 1480, end: 2960}, {dg: 1, off: 2960, end: 3008}},
			cfg: func(c *ReassemblyConfig) { c.IPv6 = false }, verdicts: "PHHM", reasons: "disabled", done: []int{0, 1}},
		{name: "a shorter datagram by its last fragment", dgs: []dgSpec{v4}, frags: []fp{p4[0], {off: 1480, end: 1488, last: 2}}, verdicts: "HM", done: []int{1}},
	}
	for _, c := range append(cases, chained(cases)...) {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultReassemblyConfig()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			var dgs []*dgram
			for _, s := range c.dgs {
				dgs = append(dgs, makeDgram(t, s))
			}
			rr := newReasmRunner(t, cfg, dgs, c.store)
			switch strings.TrimSuffix(c.name, " chained") {
			case "a shorter datagram by its last fragment":
				rr.wantEnd = func(int) int { return 1488 }
			case "an earlier end completes a shorter datagram":
				rr.wantEnd = func(int) int { return 2000 }
			}
			frags := c.frags
			// The tiny fragments need padding to 60 bytes.
			if strings.HasPrefix(c.name, "padded") {
				for k := range frags {
					frags[k].pad = 60 - len(rr.frame(frags[k]))
				}
			}
			for i := 0; i < len(frags); {
				j := i
				for j < len(frags) && frags[j].at == frags[i].at {
					j++
				}
				rr.burst(frags[i].at, frags[i:j])
				i = j
			}
			if c.idle != 0 {
				rr.r.Flush(c.idle)
				rr.check()
			}
			rr.stop()
			var b strings.Builder
			for _, v := range rr.v {
				b.WriteByte("PHMD"[v.Fate])
			}
			if b.String() != c.verdicts {
				t.Errorf("verdicts %s, want %s", b.String(), c.verdicts)
			}
			var rs []string
			for _, v := range rr.v {
				if v.Fate == Passed || v.Fate == Dropped {
					rs = append(rs, v.Reason.String())
				}
			}
			if strings.Join(rs, " ") != c.reasons {
				t.Errorf("reasons %q, want %q", strings.Join(rs, " "), c.reasons)
			}
			done := c.done
			if done == nil {
				done = make([]int, len(dgs))
			}
			if fmt.Sprint(rr.done) != fmt.Sprint(done) {
				t.Errorf("datagrams out %v, want %v", rr.done, done)
			}
			st := rr.r.Stats()
			for k, r := range c.after {
				if st.Dropped[r] != c.afterN[k] {
					t.Errorf("dropped %v: %d, want %d", r, st.Dropped[r], c.afterN[k])
				}
			}
		})
	}
}

func with4(s dgSpec, id uint32) dgSpec { s.id = id; return s }

// chained is the cases again with fragments in two segments, the second
// starting 100 bytes in (after the headers): the IPv6 Fragment header's
// removal then moves bytes across segments.
func chained(cases []reasmCase) []reasmCase {
	r := make([]reasmCase, len(cases))
	for i, c := range cases {
		c.name += " chained"
		c.store = &chainStore{split: 100}
		r[i] = c
	}
	return r
}

// TestReassemblyPass: what is not a fragment passes through unchanged.
func TestReassemblyPass(t *testing.T) {
	d := makeDgram(t, dgSpec{size: 100, id: 1})
	badSum := d.frag(0, 64, true)
	badSum[14+refV4Checksum] ^= 1
	d6 := makeDgram(t, dgSpec{v6: true, size: 100, id: 1, hbh: true})
	atomic := d6.frag(0, len(d6.data), false)
	arp := make([]byte, 60)
	arp[12], arp[13] = 0x08, 0x06
	cases := []struct {
		name  string
		frame []byte
		want  Reason
	}{
		{"IPv4 datagram", d.frame, ReasonNotFragment},
		{"IPv6 packet", d6.frame, ReasonNotFragment},
		{"IPv6 atomic fragment", atomic, ReasonNotFragment},
		{"bad IPv4 header checksum", badSum, ReasonBadIPChecksum},
		{"ARP", arp, ReasonNotIP},
		{"runt", []byte{1, 2, 3}, ReasonMalformed},
		{"truncated IPv6", d6.frame[:50], ReasonMalformed},
		{"fragment header past the payload", func() []byte {
			f := d6.frag(0, 16, true)
			binary.BigEndian.PutUint16(f[14+refV6PayLen:], 10)
			return f[:14+50]
		}(), ReasonMalformed},
	}
	for _, c := range cases {
		st := &pkt.SliceStore{}
		r, _ := NewReassembler(st, DefaultReassemblyConfig())
		in := []Input{{Pkt: st.Put(append([]byte(nil), c.frame...)), L4Csum: checksum.Good}}
		v, out := make([]Verdict, 1), make([]Output, 1)
		n := r.Receive(0, in, v, out)
		if n != 1 || v[0] != (Verdict{Passed, c.want}) || out[0] != (Output{Pkt: in[0].Pkt, Segs: 1, L4Csum: checksum.Good}) ||
			!bytes.Equal(st.Bytes(out[0].Pkt), c.frame) || r.Stats().Passed[c.want] != 1 {
			t.Errorf("%s: %v %v, want passed %v", c.name, v[0], out[:n], c.want)
		}
	}
}

// TestReassemblyStoreRefuses: a Store that cannot chain drops the datagram,
// counted, without a leak.
func TestReassemblyStoreRefuses(t *testing.T) {
	d := makeDgram(t, dgSpec{size: 3000, id: 8})
	st := &pkt.SliceStore{Limit: 2000}
	r, _ := NewReassembler(st, DefaultReassemblyConfig())
	var in []Input
	for _, p := range pieces(0, 3008, 1480) {
		in = append(in, Input{Pkt: st.Put(d.frag(p.off, p.end, p.end < 3008))})
	}
	v, out := make([]Verdict, 3), make([]Output, 3)
	if n := r.Receive(0, in, v, out); n != 0 || v[2] != (Verdict{Dropped, ReasonStoreRefused}) ||
		r.Stats().Dropped[ReasonStoreRefused] != 3 || st.Live() != 0 || r.HeldBytes() != 0 || r.Datagrams() != 0 {
		t.Fatalf("%v %+v live %d", v, r.Stats(), st.Live())
	}
}

// TestReassemblyMaxSize: a datagram of 65535 bytes, the largest.
func TestReassemblyMaxSize(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		size := 65535 - 20 - 8
		if v6 {
			size = 65535 - 8
		}
		d := makeDgram(t, dgSpec{v6: v6, size: size, id: 1})
		rr := newReasmRunner(t, DefaultReassemblyConfig(), []*dgram{d}, &chainStore{split: 100})
		rr.burst(0, order(pieces(0, len(d.data), 1480), 44, 3, 2, 1, 0, 43, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
			23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 4))
		rr.stop()
		if rr.done[0] != 1 {
			t.Errorf("v6 %v: not reassembled", v6)
		}
	}
}

func TestReassemblyConfig(t *testing.T) {
	st := &pkt.SliceStore{}
	for _, f := range []func(*ReassemblyConfig){
		func(c *ReassemblyConfig) { c.Datagrams = 0 },
		func(c *ReassemblyConfig) { c.FragmentsPerDatagram = 1 },
		func(c *ReassemblyConfig) { c.MaxBytes = 0 },
		func(c *ReassemblyConfig) { c.Timeout = -time.Second },
		func(c *ReassemblyConfig) { c.Datagrams, c.FragmentsPerDatagram = 1<<20, 8000 },
	} {
		c := DefaultReassemblyConfig()
		f(&c)
		if _, err := NewReassembler(st, c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestShiftDown moves bytes across segments at every split.
func TestShiftDown(t *testing.T) {
	whole := []byte("0123456789abcdefghijklmnopqrstuv")
	for a := 0; a <= len(whole); a++ {
		for b := a; b <= len(whole); b++ {
			for from := 3; from < len(whole); from++ {
				buf := append([]byte(nil), whole...)
				segs := [][]byte{buf[:a], buf[a:b], buf[b:]}
				shiftDown(segs, from, 3)
				want := append(append([]byte(nil), whole[:from-3]...), whole[from:]...)
				if !bytes.Equal(buf[:len(want)], want) {
					t.Fatalf("split %d,%d from %d: %q", a, b, from, buf)
				}
			}
		}
	}
}
