package segment

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

func TestReasonNames(t *testing.T) {
	seen := map[string]Reason{}
	for _, r := range Reasons() {
		n := r.String()
		if !strings.HasPrefix(n, "seg-") || strings.ToLower(n) != n || strings.ContainsAny(n, " _") {
			t.Errorf("reason %d: name %q is not seg- kebab-case", r, n)
		}
		if o, dup := seen[n]; dup {
			t.Errorf("reasons %d and %d share the name %q", o, r, n)
		}
		seen[n] = r
	}
	if len(seen) != int(numReasons)-1 || OK.String() != "ok" || Reason(200).String() != "seg-unknown" {
		t.Errorf("%d names for %d reasons", len(seen), numReasons-1)
	}
}

// scramble overwrites the input's checksums, so that outputs that verify
// prove the engine computed theirs.
func scramble(flat []byte) {
	l, _ := header.Parse(flat)
	if l.L3 == header.L3IPv4 {
		header.IPv4(flat[l.L3Off():]).SetChecksum(0xbeef)
	}
	switch l.L4Proto {
	case header.ProtoTCP:
		header.TCP(flat[l.L4Off():]).SetChecksum(0xdead)
	case header.ProtoUDP:
		header.UDP(flat[l.L4Off():]).SetChecksum(0xdead)
	}
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	for _, b := range []struct {
		on  bool
		bit uint8
	}{{t.FIN, header.TCPFlagFIN}, {t.SYN, header.TCPFlagSYN}, {t.RST, header.TCPFlagRST}, {t.PSH, header.TCPFlagPSH},
		{t.ACK, header.TCPFlagACK}, {t.URG, header.TCPFlagURG}, {t.ECE, header.TCPFlagECE}, {t.CWR, header.TCPFlagCWR}} {
		if b.on {
			f |= b.bit
		}
	}
	return f
}

// maxPayload is the largest payload s's headers leave in one IP packet.
func maxPayload(t *testing.T, s spec) int {
	s.payload = 1
	l, _ := header.Parse(build(t, s))
	if s.v6 {
		return 0xffff - (l.PayloadOff() - l.L3Off() - header.IPv6Len)
	}
	return 0xffff - (l.PayloadOff() - l.L3Off())
}

var l4Variants = []struct {
	name string
	s    spec
}{
	{"ipv4", spec{}},
	{"ipv4-opts-vlan-df", spec{vlan: true, ipOpts: testIPv4Opts(), tcpOpts: true, df: true}},
	{"ipv6", spec{v6: true, tcpOpts: true}},
	{"ipv6-ext", spec{v6: true, exts: []ext{extHBH, extDst, extRt, extDst}, tcpOpts: true}},
	{"ipv6-dst-vlan", spec{v6: true, vlan: true, exts: []ext{extDst16}}},
}

// checkIP checks what every TSO/USO output's IP header must be: the
// input's, with its own length, the expected ID and a checksum per mode.
func checkIP(t *testing.T, flat, f []byte, l *header.Layout, d decoded, req Request, i int) {
	t.Helper()
	if !bytes.Equal(f[:l.L2Len], flat[:l.L2Len]) {
		t.Fatalf("output %d: L2 header changed", i)
	}
	in := decode(t, flat)
	if l.L3 == header.L3IPv4 {
		wantID := in.ip4.Id + uint16(i)
		if req.FixedID {
			wantID = in.ip4.Id
		}
		switch {
		case int(d.ip4.Length) != len(f)-l.L2Len:
			t.Fatalf("output %d: IPv4 length %d of %d", i, d.ip4.Length, len(f)-l.L2Len)
		case d.ip4.Id != wantID:
			t.Fatalf("output %d: IPv4 ID %d, want %d", i, d.ip4.Id, wantID)
		case d.ip4.Flags != in.ip4.Flags || d.ip4.FragOffset != 0 || d.ip4.TTL != in.ip4.TTL || d.ip4.TOS != in.ip4.TOS:
			t.Fatalf("output %d: IPv4 flags/offset/TTL/TOS changed", i)
		case !bytes.Equal(f[l.L3Off()+20:l.L4Off()], flat[l.L3Off()+20:l.L4Off()]):
			t.Fatalf("output %d: IPv4 options changed", i)
		}
		ipHdr := f[l.L3Off():l.L4Off()]
		if req.IPv4Csum == Software && naiveSum(ipHdr) != 0xffff {
			t.Fatalf("output %d: IPv4 header checksum does not verify", i)
		}
		if req.IPv4Csum == Offload && d.ip4.Checksum != 0 {
			t.Fatalf("output %d: offloaded IPv4 checksum is %#x, not 0", i, d.ip4.Checksum)
		}
		return
	}
	switch {
	case int(d.ip6.Length) != len(f)-l.L2Len-header.IPv6Len:
		t.Fatalf("output %d: IPv6 payload length %d", i, d.ip6.Length)
	case d.ip6.NextHeader != in.ip6.NextHeader || d.ip6.FlowLabel != in.ip6.FlowLabel || d.ip6.TrafficClass != in.ip6.TrafficClass:
		t.Fatalf("output %d: IPv6 fixed header changed", i)
	case !bytes.Equal(f[l.L3Off()+header.IPv6Len:l.L4Off()], flat[l.L3Off()+header.IPv6Len:l.L4Off()]):
		t.Fatalf("output %d: IPv6 extension headers changed", i)
	}
}

// checkL4Csum checks an output's TCP or UDP checksum per mode, with the
// naive reference.
func checkL4Csum(t *testing.T, d decoded, proto uint8, field uint16, mode Csum, i int) {
	t.Helper()
	switch mode {
	case Software:
		if !d.l4Verify(proto) {
			t.Fatalf("output %d: L4 checksum does not verify", i)
		}
	case Offload:
		src, dst := d.addrs()
		if want := naiveSum(naivePseudo(src, dst, proto, len(d.l4))); field != want {
			t.Fatalf("output %d: L4 field %#04x, pseudo-header sum %#04x", i, field, want)
		}
	}
}

func TestTSO(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, v := range l4Variants {
		max := maxPayload(t, v.s)
		for _, payload := range []int{1, 3, 535, 536, 537, 1447, 1448, 1449, 2896, 9001, max} {
			for _, segsz := range []int{1448, 536, 999} {
				for _, mode := range []Csum{Software, Offload} {
					for _, fixed := range []bool{false, true} {
						if v.s.v6 && fixed {
							continue
						}
						name := fmt.Sprintf("%s/%d/%d/%v/fixed=%v", v.name, payload, segsz, mode, fixed)
						s := v.s
						s.payload, s.seq, s.id = payload, 0xffffff00-uint32(payload), 0xfff0
						s.flags = header.TCPFlagACK | header.TCPFlagPSH | header.TCPFlagFIN | header.TCPFlagCWR | header.TCPFlagECE
						req := Request{Kind: TSO, SegSize: segsz, MTU: 9000, FixedID: fixed, IPv4Csum: mode, L4Csum: mode}
						t.Run(name, func(t *testing.T) { checkTSO(t, r, s, req) })
					}
				}
			}
		}
	}
}

func checkTSO(t *testing.T, r *rand.Rand, s spec, req Request) {
	flat := build(t, s)
	scramble(flat)
	fs, l := run(t, r, flat, req)
	payload := flat[l.PayloadOff():l.PktLen]
	in := decode(t, flat)
	if want := (len(payload) + req.SegSize - 1) / req.SegSize; len(fs) != want {
		t.Fatalf("%d outputs, want %d", len(fs), want)
	}
	var joined []byte
	for i, f := range fs {
		d := decode(t, f)
		if d.tcp == nil {
			t.Fatalf("output %d: no TCP", i)
		}
		checkIP(t, flat, f, &l, d, req, i)
		want := payload[i*req.SegSize : min((i+1)*req.SegSize, len(payload))]
		if !bytes.Equal(d.tcp.Payload, want) {
			t.Fatalf("output %d: payload differs", i)
		}
		joined = append(joined, d.tcp.Payload...)
		wantFlags := tcpFlags(in.tcp)
		if i > 0 {
			wantFlags &^= header.TCPFlagCWR
		}
		if i < len(fs)-1 {
			wantFlags &^= header.TCPFlagFIN | header.TCPFlagPSH
		}
		switch {
		case d.tcp.Seq != in.tcp.Seq+uint32(i*req.SegSize):
			t.Fatalf("output %d: seq %d, want %d", i, d.tcp.Seq, in.tcp.Seq+uint32(i*req.SegSize))
		case tcpFlags(d.tcp) != wantFlags:
			t.Fatalf("output %d: flags %#02x, want %#02x", i, tcpFlags(d.tcp), wantFlags)
		case d.tcp.Ack != in.tcp.Ack || d.tcp.Window != in.tcp.Window || d.tcp.SrcPort != in.tcp.SrcPort || d.tcp.DstPort != in.tcp.DstPort:
			t.Fatalf("output %d: TCP fields changed", i)
		case !bytes.Equal(d.tcp.Contents[20:], in.tcp.Contents[20:]):
			t.Fatalf("output %d: TCP options changed", i)
		case req.MTU != 0 && len(f)-l.L2Len > req.MTU:
			t.Fatalf("output %d: %d bytes exceed the MTU", i, len(f)-l.L2Len)
		}
		checkL4Csum(t, d, header.ProtoTCP, d.tcp.Checksum, req.L4Csum, i)
	}
	if !bytes.Equal(joined, payload) {
		t.Fatal("joined payloads differ from the input's")
	}
}

// TestTSOUrgent: URG stays on the outputs before the urgent point, with
// the pointer rebased to each.
func TestTSOUrgent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, urg := range []uint16{1, 999, 1000, 1001, 2500, 4000} {
		s := spec{payload: 4000, urg: urg, seq: 1000, flags: header.TCPFlagACK | header.TCPFlagURG}
		flat := build(t, s)
		fs, _ := run(t, r, flat, Request{Kind: TSO, SegSize: 1000})
		for i, f := range fs {
			d := decode(t, f)
			up := int(urg) - i*1000
			if i == 0 {
				up = int(urg)
			}
			wantURG := up > 0
			if !wantURG {
				up = 0
			}
			if d.tcp.URG != wantURG || int(d.tcp.Urgent) != up {
				t.Fatalf("urg %d, output %d: URG=%v pointer %d, want %v %d", urg, i, d.tcp.URG, d.tcp.Urgent, wantURG, up)
			}
			if !d.l4Verify(header.ProtoTCP) {
				t.Fatalf("output %d: checksum", i)
			}
		}
	}
}

func TestUSO(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, v := range l4Variants {
		s := v.s
		s.udp = true
		max := maxPayload(t, s)
		for _, payload := range []int{1, 7, 1447, 1448, 1449, 4344, max} {
			for _, segsz := range []int{1448, 1001} {
				for _, mode := range []Csum{Software, Offload} {
					s.payload, s.id = payload, 7
					req := Request{Kind: USO, SegSize: segsz, IPv4Csum: mode, L4Csum: mode, FixedID: payload == 7}
					t.Run(fmt.Sprintf("%s/%d/%d/%v", v.name, payload, segsz, mode), func(t *testing.T) { checkUSO(t, r, s, req) })
				}
			}
		}
	}
}

func checkUSO(t *testing.T, r *rand.Rand, s spec, req Request) {
	flat := build(t, s)
	scramble(flat)
	fs, l := run(t, r, flat, req)
	payload := flat[l.PayloadOff():l.PktLen]
	in := decode(t, flat)
	var joined []byte
	for i, f := range fs {
		d := decode(t, f)
		if d.udp == nil {
			t.Fatalf("output %d: no UDP", i)
		}
		checkIP(t, flat, f, &l, d, req, i)
		want := payload[i*req.SegSize : min((i+1)*req.SegSize, len(payload))]
		switch {
		case !bytes.Equal(d.udp.Payload, want):
			t.Fatalf("output %d: payload differs", i)
		case int(d.udp.Length) != header.UDPLen+len(want):
			t.Fatalf("output %d: UDP length %d", i, d.udp.Length)
		case d.udp.SrcPort != in.udp.SrcPort || d.udp.DstPort != in.udp.DstPort:
			t.Fatalf("output %d: ports changed", i)
		}
		joined = append(joined, d.udp.Payload...)
		checkL4Csum(t, d, header.ProtoUDP, d.udp.Checksum, req.L4Csum, i)
	}
	if len(fs) != (len(payload)+req.SegSize-1)/req.SegSize || !bytes.Equal(joined, payload) {
		t.Fatal("outputs do not carry the input's payload")
	}
}

var ufoVariants = []struct {
	name string
	s    spec
}{
	{"ipv4", spec{udp: true}},
	{"ipv4-opts-vlan", spec{udp: true, vlan: true, ipOpts: testIPv4Opts()}},
	{"ipv6", spec{udp: true, v6: true}},
	{"ipv6-hbh", spec{udp: true, v6: true, exts: []ext{extHBH}}},
	{"ipv6-dst", spec{udp: true, v6: true, exts: []ext{extDst}}},
	{"ipv6-hbh-dst-rt-dst", spec{udp: true, v6: true, exts: []ext{extHBH, extDst, extRt, extDst16}}},
}

func TestUFO(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, v := range ufoVariants {
		max := maxPayload(t, v.s)
		for _, payload := range []int{1, 9, 1471, 1472, 1473, 8000, max} {
			for _, segsz := range []int{1480, 1237, 64} {
				for _, mode := range []Csum{Software, Keep} {
					s := v.s
					s.payload, s.id = payload, 0x4242
					req := Request{Kind: UFO, SegSize: segsz, L4Csum: mode, FragID: 0xcafe0001, FixedID: segsz == 64}
					if segsz == 64 && payload > 8000 {
						continue // more than MaxSegments
					}
					t.Run(fmt.Sprintf("%s/%d/%d/%v", v.name, payload, segsz, mode), func(t *testing.T) { checkUFO(t, r, s, req) })
				}
			}
		}
	}
}

func checkUFO(t *testing.T, r *rand.Rand, s spec, req Request) {
	flat := build(t, s)
	if req.L4Csum == Software {
		scramble(flat) // Keep needs the input's checksum right
	}
	fs, l := run(t, r, flat, req)
	in := decode(t, flat)
	fragSize := req.SegSize &^ 7
	if len(fs) == 1 {
		// Fits in one fragment: the datagram goes as it is.
		d := decode(t, fs[0])
		if d.frag != nil || d.udp == nil || !bytes.Equal(d.udp.Payload, flat[l.PayloadOff():l.PktLen]) {
			t.Fatal("a datagram that fits was changed")
		}
		checkL4Csum(t, d, header.ProtoUDP, d.udp.Checksum, req.L4Csum, 0)
		if req.L4Csum == Keep && d.udp.Checksum != in.udp.Checksum {
			t.Fatal("kept checksum changed")
		}
		return
	}
	for i, f := range fs {
		d := decode(t, f)
		if !bytes.Equal(f[:l.L2Len], flat[:l.L2Len]) {
			t.Fatalf("fragment %d: L2 changed", i)
		}
		ipLen := len(f) - l.L2Len
		if req.MTU != 0 && ipLen > req.MTU {
			t.Fatalf("fragment %d: %d bytes", i, ipLen)
		}
		more := i < len(fs)-1
		if d.ip4 != nil {
			ihl := int(d.ip4.IHL) * 4
			switch {
			case int(d.ip4.Length) != ipLen:
				t.Fatalf("fragment %d: length %d of %d", i, d.ip4.Length, ipLen)
			case d.ip4.Id != in.ip4.Id:
				t.Fatalf("fragment %d: ID %d, want the input's %d", i, d.ip4.Id, in.ip4.Id)
			case d.ip4.Flags&layers.IPv4MoreFragments != 0 != more || int(d.ip4.FragOffset)*8 != i*fragSize:
				t.Fatalf("fragment %d: MF %v offset %d", i, d.ip4.Flags, d.ip4.FragOffset)
			case more && (ipLen-ihl)%8 != 0 || ipLen-ihl > fragSize:
				t.Fatalf("fragment %d: %d data bytes", i, ipLen-ihl)
			case naiveSum(f[l.L3Off():l.L3Off()+ihl]) != 0xffff:
				t.Fatalf("fragment %d: header checksum", i)
			}
			wantOpts := flat[l.L3Off()+20 : l.L4Off()]
			if i > 0 && len(s.ipOpts) > 0 {
				// Record Route (not copied) becomes NOPs; Router Alert stays.
				wantOpts = append(bytes.Repeat([]byte{1}, 7), wantOpts[7:]...)
			}
			if !bytes.Equal(f[l.L3Off()+20:l.L3Off()+ihl], wantOpts) {
				t.Fatalf("fragment %d: options % x, want % x", i, f[l.L3Off()+20:l.L3Off()+ihl], wantOpts)
			}
		} else {
			switch {
			case d.frag == nil:
				t.Fatalf("fragment %d: no Fragment header", i)
			case d.frag.Identification != req.FragID || d.frag.MoreFragments != more || int(d.frag.FragmentOffset)*8 != i*fragSize:
				t.Fatalf("fragment %d: Fragment header %+v", i, d.frag)
			case int(d.ip6.Length) != ipLen-header.IPv6Len:
				t.Fatalf("fragment %d: payload length", i)
			}
		}
	}
	unfrag, data, err := reassemble(fs, l.L2Len)
	if err != nil {
		t.Fatal(err)
	}
	// The unfragmentable part is the input's up to the lengths; what
	// follows it in the input is the fragmentable part.
	inIP := flat[l.L3Off():l.PktLen]
	n := len(unfrag)
	wantUnfrag := append([]byte{}, inIP[:n]...)
	if s.v6 {
		// RFC 8200 §4.5: up to the Routing header, else Hop-by-Hop.
		want := header.IPv6Len
		off, next := header.IPv6Len, inIP[6]
		for off < l.L3Len {
			hl := (int(inIP[off+1]) + 1) * 8
			if next == header.ProtoHopByHop || next == header.ProtoRouting {
				want = off + hl
			}
			next, off = inIP[off], off+hl
		}
		if n != want {
			t.Fatalf("unfragmentable part %d bytes, want %d", n, want)
		}
		copy(unfrag[4:6], wantUnfrag[4:6])
	} else {
		copy(unfrag[2:4], wantUnfrag[2:4])     // total length
		copy(unfrag[6:8], wantUnfrag[6:8])     // flags, offset
		copy(unfrag[10:12], wantUnfrag[10:12]) // checksum
	}
	if !bytes.Equal(unfrag, wantUnfrag) {
		t.Fatalf("unfragmentable part differs:\n% x\n% x", unfrag, wantUnfrag)
	}
	udpAt := l.L4Off() - l.L3Off() - n
	wantData := append([]byte{}, inIP[n:]...)
	gotCsum := binary.BigEndian.Uint16(data[udpAt+header.UDPChecksumOff:])
	copy(data[udpAt+header.UDPChecksumOff:], wantData[udpAt+header.UDPChecksumOff:udpAt+header.UDPLen])
	if !bytes.Equal(data, wantData) {
		t.Fatal("reassembled data differs from the input")
	}
	if req.L4Csum == Keep && gotCsum != in.udp.Checksum {
		t.Fatalf("kept checksum %#04x, input's %#04x", gotCsum, in.udp.Checksum)
	}
	binary.BigEndian.PutUint16(data[udpAt+header.UDPChecksumOff:], gotCsum)
	src, dst := in.addrs()
	udp := data[udpAt:]
	if naiveSum(naivePseudo(src, dst, header.ProtoUDP, len(udp)), udp) != 0xffff {
		t.Fatal("reassembled datagram's UDP checksum does not verify")
	}
}

// TestUFOFragmentHeaderPlace checks where the Fragment header goes and
// what it names (RFC 8200 §4.5).
func TestUFOFragmentHeaderPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range []struct {
		exts     []ext
		at       int   // offset of the Fragment header from the IPv6 header
		next     uint8 // its Next Header
		prevNext int   // the Next Header byte that names it
	}{
		{nil, 40, header.ProtoUDP, 6},
		{[]ext{extHBH}, 48, header.ProtoUDP, 40},
		{[]ext{extDst}, 40, header.ProtoDestOpts, 6},
		{[]ext{extHBH, extDst}, 48, header.ProtoDestOpts, 40},
		{[]ext{extHBH, extDst, extRt, extDst16}, 80, header.ProtoDestOpts, 56},
	} {
		flat := build(t, spec{v6: true, udp: true, exts: c.exts, payload: 3000})
		fs, l := run(t, r, flat, Request{Kind: UFO, SegSize: 1000, FragID: 5})
		for i, f := range fs {
			ip := f[l.L3Off():]
			if ip[c.prevNext] != header.ProtoFragment || ip[c.at] != c.next {
				t.Fatalf("%v fragment %d: Fragment header not at %d naming %d", c.exts, i, c.at, c.next)
			}
			if fh := header.IPv6Fragment(ip[c.at:]); fh.ID() != 5 || fh.Offset() != i*1000 || fh.More() != (i < len(fs)-1) {
				t.Fatalf("%v fragment %d: %x", c.exts, i, ip[c.at:c.at+8])
			}
		}
	}
}

// TestSingleOutput: a payload that fits one output gives back the input,
// with the checksums gopacket computed.
func TestSingleOutput(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		s    spec
		kind Kind
	}{
		{spec{payload: 1448, flags: header.TCPFlagACK | header.TCPFlagPSH | header.TCPFlagCWR | header.TCPFlagFIN, tcpOpts: true, id: 9}, TSO},
		{spec{payload: 100, v6: true, exts: []ext{extHBH, extRt}}, TSO},
		{spec{payload: 1000, udp: true, id: 3}, USO},
		{spec{payload: 1472, udp: true, df: true}, UFO}, // DF is fine when nothing is fragmented
		{spec{payload: 1000, udp: true, v6: true, exts: []ext{extDst}}, UFO},
	} {
		flat := build(t, c.s)
		fs, _ := run(t, r, flat, Request{Kind: c.kind, SegSize: 1480, MTU: 1540})
		if len(fs) != 1 || !bytes.Equal(fs[0], flat) {
			t.Fatalf("%v %+v: %d outputs\n% x\n% x", c.kind, c.s, len(fs), fs[0], flat)
		}
	}
}

func TestSourceRoute(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, c := range []struct {
		s    spec
		kind Kind
		mode Csum
		want Reason
	}{
		{spec{ipOpts: []layers.IPv4Option{lsrr(4), {OptionType: 1}}, payload: 3000}, TSO, Software, SourceRoute},
		{spec{ipOpts: []layers.IPv4Option{lsrr(4), {OptionType: 1}}, payload: 3000}, TSO, Offload, SourceRoute},
		{spec{ipOpts: []layers.IPv4Option{lsrr(8), {OptionType: 1}}, payload: 3000}, TSO, Software, OK},
		{spec{v6: true, exts: []ext{extRtLeft}, payload: 3000}, TSO, Software, SourceRoute},
		{spec{v6: true, udp: true, exts: []ext{extRtLeft}, payload: 3000}, USO, Software, SourceRoute},
		{spec{v6: true, udp: true, exts: []ext{extRtLeft}, payload: 3000}, UFO, Keep, OK},
		{spec{udp: true, ipOpts: []layers.IPv4Option{lsrr(4), {OptionType: 1}}, payload: 3000}, UFO, Keep, OK},
	} {
		flat := build(t, c.s)
		l, _ := header.Parse(flat)
		req := Request{Kind: c.kind, SegSize: 1000, L4Csum: c.mode}
		if _, why := Count([][]byte{flat}, &l, &req); why != c.want {
			t.Fatalf("%+v: %v, want %v", c, why, c.want)
		}
		if c.want == OK {
			fs, _ := run(t, r, flat, req)
			if c.kind == UFO {
				if _, _, err := reassemble(fs, l.L2Len); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestRefusals: each bad request or input is refused with its reason, and
// nothing is written.
func TestRefusals(t *testing.T) {
	tcp := spec{payload: 3000}
	udp := spec{payload: 3000, udp: true}
	type input struct {
		segs [][]byte
		l    header.Layout
	}
	mk := func(s spec, edit func(f []byte, l *header.Layout) [][]byte) func(t *testing.T) input {
		return func(t *testing.T) input {
			f := build(t, s)
			l, m := header.Parse(f)
			if m != header.OK {
				t.Fatalf("input: %v", m)
			}
			segs := [][]byte{f}
			if edit != nil {
				segs = edit(f, &l)
			}
			return input{segs, l}
		}
	}
	tso := Request{Kind: TSO, SegSize: 1000}
	uso := Request{Kind: USO, SegSize: 1000}
	ufo := Request{Kind: UFO, SegSize: 1000}
	with := func(r Request, edit func(*Request)) Request { edit(&r); return r }
	cases := []struct {
		name string
		in   func(t *testing.T) input
		req  Request
		want Reason
	}{
		{"kind-zero", mk(tcp, nil), Request{SegSize: 1000}, KindUnknown},
		{"kind-big", mk(tcp, nil), Request{Kind: 9, SegSize: 1000}, KindUnknown},
		{"segsz-zero", mk(tcp, nil), with(tso, func(r *Request) { r.SegSize = 0 }), SizeZero},
		{"segsz-negative", mk(udp, nil), with(uso, func(r *Request) { r.SegSize = -8 }), SizeZero},
		{"ufo-segsz-7", mk(udp, nil), with(ufo, func(r *Request) { r.SegSize = 7 }), SizeTooSmall},
		{"ufo-first-fragment-too-small", mk(spec{udp: true, v6: true, exts: []ext{extDst16}, payload: 100}, nil),
			with(ufo, func(r *Request) { r.SegSize = 16 }), SizeTooSmall},
		{"tso-keep", mk(tcp, nil), with(tso, func(r *Request) { r.L4Csum = Keep }), CsumMode},
		{"ufo-offload", mk(udp, nil), with(ufo, func(r *Request) { r.L4Csum = Offload }), CsumMode},
		{"ipv4-keep", mk(udp, nil), with(ufo, func(r *Request) { r.IPv4Csum = Keep }), CsumMode},
		{"no-segments", func(t *testing.T) input { in := mk(tcp, nil)(t); in.segs = nil; return in }, tso, ShortHeaders},
		{"headers-truncated", mk(tcp, func(f []byte, l *header.Layout) [][]byte {
			return [][]byte{f[:l.PayloadOff()-1], f[l.PayloadOff()-1:]}
		}), tso, ShortHeaders},
		{"payload-truncated", mk(tcp, func(f []byte, l *header.Layout) [][]byte {
			return [][]byte{f[:100], f[100 : len(f)-1]}
		}), tso, Truncated},
		{"not-ip", mk(tcp, func(f []byte, l *header.Layout) [][]byte { l.L3 = header.L3None; return [][]byte{f} }), tso, NotIP},
		{"tso-of-udp", mk(udp, nil), tso, NotTCP},
		{"uso-of-tcp", mk(tcp, nil), uso, NotUDP},
		{"ufo-of-tcp", mk(spec{v6: true, payload: 3000}, nil), ufo, NotUDP},
		{"ipv4-fragment", mk(spec{payload: 3000, mf: true}, nil), tso, Fragmented},
		{"ipv4-fragment-hidden", mk(spec{udp: true, payload: 3000, mf: true}, func(f []byte, l *header.Layout) [][]byte {
			l.Fragment = false // the bytes still say MF
			return [][]byte{f}
		}), uso, Fragmented},
		{"ipv6-fragment", mk(spec{v6: true, exts: []ext{extFrag}, payload: 3000, udp: true, mf: true}, nil), ufo, Fragmented},
		{"ipv6-atomic-fragment", mk(spec{v6: true, exts: []ext{extFrag}, payload: 3000}, nil), tso, Fragmented},
		{"ipv6-ah", mk(spec{v6: true, exts: []ext{extDst}, payload: 3000}, func(f []byte, l *header.Layout) [][]byte {
			f[l.L3Off()+ipv6NextHeaderOff] = header.ProtoAH // same length as the 8-byte options header
			return [][]byte{f}
		}), tso, IPv6Ext},
		{"ipv6-hbh-not-first", mk(spec{v6: true, exts: []ext{extDst, extHBH}, payload: 3000}, nil), tso, IPv6Ext},
		{"ipv4-options-bad", mk(spec{payload: 3000, ipOpts: testIPv4Opts()}, func(f []byte, l *header.Layout) [][]byte {
			f[l.L3Off()+header.IPv4MinLen+1] = 40 // Record Route's length past the header
			return [][]byte{f}
		}), tso, IPv4Options},
		{"syn", mk(spec{payload: 3000, flags: header.TCPFlagSYN}, nil), tso, TCPFlags},
		{"rst", mk(spec{payload: 3000, flags: header.TCPFlagRST | header.TCPFlagACK}, nil), tso, TCPFlags},
		{"udp-length", mk(udp, func(f []byte, l *header.Layout) [][]byte {
			header.UDP(f[l.L4Off():]).SetLength(100)
			return [][]byte{f}
		}), uso, UDPLength},
		{"no-payload", mk(spec{payload: 0}, nil), tso, NoPayload},
		{"no-payload-udp", mk(spec{payload: 0, udp: true}, nil), ufo, NoPayload},
		{"too-many", mk(spec{payload: 3000}, nil), with(tso, func(r *Request) { r.SegSize = 11 }), TooMany},
		{"mtu-tso", mk(tcp, nil), with(tso, func(r *Request) { r.SegSize = 1460; r.MTU = 1400 }), ExceedsMTU},
		{"mtu-tso-exact", mk(tcp, nil), with(tso, func(r *Request) { r.SegSize = 1460; r.MTU = 1499 }), ExceedsMTU},
		{"mtu-ufo", mk(udp, nil), with(ufo, func(r *Request) { r.SegSize = 1480; r.MTU = 1499 }), ExceedsMTU},
		{"mtu-ufo-v6", mk(spec{udp: true, v6: true, payload: 3000}, nil), with(ufo, func(r *Request) { r.SegSize = 1456; r.MTU = 1503 }), ExceedsMTU},
		{"ufo-df", mk(spec{udp: true, df: true, payload: 3000}, nil), ufo, DontFragment},
		{"layout-l3len", mk(tcp, func(f []byte, l *header.Layout) [][]byte { l.L3Len += 4; return [][]byte{f} }), tso, BadLayout},
		{"layout-l4len", mk(tcp, func(f []byte, l *header.Layout) [][]byte { l.L4Len -= 4; return [][]byte{f} }), tso, BadLayout},
		{"layout-pktlen", mk(tcp, func(f []byte, l *header.Layout) [][]byte { l.PktLen--; return [][]byte{f} }), tso, BadLayout},
		{"layout-negative", mk(tcp, func(f []byte, l *header.Layout) [][]byte { l.L2Len = -14; return [][]byte{f} }), tso, BadLayout},
		{"layout-v6-as-v4", mk(spec{v6: true, payload: 3000}, func(f []byte, l *header.Layout) [][]byte {
			l.L3 = header.L3IPv4
			return [][]byte{f}
		}), tso, BadLayout},
		{"layout-ext-short", mk(spec{v6: true, exts: []ext{extDst}, payload: 3000}, func(f []byte, l *header.Layout) [][]byte {
			l.L3Len -= 8
			l.L4Len = 8 + 20 // still sums to the payload offset
			return [][]byte{f}
		}), tso, BadLayout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in(t)
			hdrs, out := outputs(MaxSegments+1, 256)
			n, why := Headers(in.segs, &in.l, &c.req, hdrs, out)
			if why != c.want || (why != OK) != (n == 0) {
				t.Fatalf("Headers: %d outputs, %v; want %v", n, why, c.want)
			}
			if _, why := Count(in.segs, &in.l, &c.req); why != c.want {
				t.Fatalf("Count: %v", why)
			}
			for i := range out {
				if out[i] != (Seg{}) || bytes.Count(hdrs[i], []byte{0}) != len(hdrs[i]) {
					t.Fatalf("output %d written on refusal", i)
				}
			}
		})
	}
}

func TestOutputShort(t *testing.T) {
	f := build(t, spec{payload: 3000, tcpOpts: true})
	l, _ := header.Parse(f)
	req := Request{Kind: TSO, SegSize: 1000}
	j, why := Prepare([][]byte{f}, &l, &req)
	if why != OK || j.Count() != 3 {
		t.Fatal(why, j.Count())
	}
	hdrs, out := outputs(3, l.PayloadOff())
	if j.Headers(hdrs[:2], out) != OutputShort || j.Headers(hdrs, out[:2]) != OutputShort || j.Frames(hdrs, out[:1]) != OutputShort {
		t.Fatal("too few outputs accepted")
	}
	hdrs[2] = hdrs[2][:l.PayloadOff()-1]
	if j.Headers(hdrs, out) != BufferShort {
		t.Fatal("short header buffer accepted")
	}
	hdrs[2] = make([]byte, l.PayloadOff())
	if j.Headers(hdrs, out) != OK {
		t.Fatal("exact header buffers refused")
	}
	bufs, out := outputs(3, l.PayloadOff()+1000)
	bufs[2] = bufs[2][:l.PayloadOff()+999]
	if j.Frames(bufs, out) != BufferShort || out[0] != (Seg{}) {
		t.Fatal("short frame buffer accepted")
	}
	bufs[2] = bufs[2][:l.PayloadOff()+1000]
	if j.Frames(bufs, out) != OK || out[2].Len() != l.PayloadOff()+1000 {
		t.Fatal("exact frame buffers refused")
	}
	// Seg(0) bounds every output's headers, UFO's first included.
	f6 := build(t, spec{v6: true, udp: true, exts: []ext{extHBH, extDst}, payload: 3000})
	l6, _ := header.Parse(f6)
	j, _ = Prepare([][]byte{f6}, &l6, &Request{Kind: UFO, SegSize: 1000})
	if j.Seg(0).HdrLen != l6.PayloadOff()+header.IPv6FragmentLen || j.Seg(1).HdrLen != l6.L3Off()+48+header.IPv6FragmentLen {
		t.Fatalf("UFO header lengths %d %d", j.Seg(0).HdrLen, j.Seg(1).HdrLen)
	}
}

// TestNoAllocations: segmenting a 64 KiB packet into reused outputs
// allocates nothing, in reference and in copy mode.
func TestNoAllocations(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, c := range []struct {
		s   spec
		req Request
	}{
		{spec{payload: 65000, tcpOpts: true}, Request{Kind: TSO, SegSize: 1448, MTU: 1508}},
		{spec{payload: 65000, v6: true, exts: []ext{extHBH}}, Request{Kind: TSO, SegSize: 1448, L4Csum: Offload}},
		{spec{payload: 65000, udp: true}, Request{Kind: USO, SegSize: 1448}},
		{spec{payload: 65000, udp: true, v6: true, exts: []ext{extDst}}, Request{Kind: UFO, SegSize: 1448}},
	} {
		f := build(t, c.s)
		l, _ := header.Parse(f)
		segs := split(r, f, l.PayloadOff()+100)
		n, _ := Count(segs, &l, &c.req)
		hdrs, out := outputs(n, 128)
		bufs, _ := outputs(n, 2048)
		var why Reason
		if a := testing.AllocsPerRun(50, func() { _, why = Headers(segs, &l, &c.req, hdrs, out) }); a != 0 || why != OK {
			t.Errorf("%v: Headers: %.1f allocations, %v", c.req.Kind, a, why)
		}
		if a := testing.AllocsPerRun(50, func() { _, why = Frames(segs, &l, &c.req, bufs, out) }); a != 0 || why != OK {
			t.Errorf("%v: Frames: %.1f allocations, %v", c.req.Kind, a, why)
		}
	}
}

// TestUDPChecksumZero: a UDP checksum that computes to 0 is sent as
// 0xffff (RFC 768), by USO and by UFO.
func TestUDPChecksumZero(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, v6 := range []bool{false, true} {
		flat := build(t, spec{udp: true, v6: v6, payload: 3000})
		l, _ := header.Parse(flat)
		// Choose the last payload word so that the datagram sums to 0xffff.
		u := flat[l.L4Off():l.PktLen]
		binary.BigEndian.PutUint16(u[header.UDPChecksumOff:], 0)
		binary.BigEndian.PutUint16(u[len(u)-2:], 0)
		in := decode(t, flat)
		src, dst := in.addrs()
		binary.BigEndian.PutUint16(u[len(u)-2:], ^naiveSum(naivePseudo(src, dst, header.ProtoUDP, len(u)), u))
		fs, _ := run(t, r, flat, Request{Kind: USO, SegSize: 3000})
		if d := decode(t, fs[0]); d.udp.Checksum != 0xffff || !d.l4Verify(header.ProtoUDP) {
			t.Fatalf("v6=%v USO: checksum %#04x, want 0xffff", v6, d.udp.Checksum)
		}
		fs, _ = run(t, r, flat, Request{Kind: UFO, SegSize: 1000, FragID: 1})
		if len(fs) != 4 {
			t.Fatalf("v6=%v UFO: %d fragments", v6, len(fs))
		}
		udpAt := l.L4Off() // after the Fragment header over IPv6
		if v6 {
			udpAt += header.IPv6FragmentLen
		}
		if c := binary.BigEndian.Uint16(fs[0][udpAt+header.UDPChecksumOff:]); c != 0xffff {
			t.Fatalf("v6=%v UFO: checksum %#04x, want 0xffff", v6, c)
		}
	}
}

// TestRawIP: without an L2 header (a tun device's packets) the outputs
// are the Ethernet case's without their first bytes.
func TestRawIP(t *testing.T) {
	for _, c := range []struct {
		s   spec
		req Request
	}{
		{spec{payload: 5000, tcpOpts: true}, Request{Kind: TSO, SegSize: 1448}},
		{spec{payload: 5000, udp: true, v6: true, exts: []ext{extHBH, extDst}}, Request{Kind: UFO, SegSize: 1448, FragID: 3}},
	} {
		flat := build(t, c.s)
		l, _ := header.Parse(flat)
		n, _ := Count([][]byte{flat}, &l, &c.req)
		hdrs, out := outputs(n, 2048)
		if _, why := Frames([][]byte{flat}, &l, &c.req, hdrs, out); why != OK {
			t.Fatal(why)
		}
		raw, rl := flat[l.L2Len:], l
		rl.L2Len, rl.PktLen = 0, l.PktLen-l.L2Len
		rawHdrs, rawOut := outputs(n, 2048)
		if got, why := Frames([][]byte{raw[:100], raw[100:]}, &rl, &c.req, rawHdrs, rawOut); why != OK || got != n {
			t.Fatal(got, why)
		}
		for i := range n {
			if !bytes.Equal(rawHdrs[i][:rawOut[i].Len()], hdrs[i][l.L2Len:out[i].Len()]) {
				t.Fatalf("%v output %d differs without L2", c.req.Kind, i)
			}
		}
	}
}
