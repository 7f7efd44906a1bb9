package segment

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// ext is an IPv6 extension header the test builder can put before the
// upper layer.
type ext uint8

const (
	extHBH    ext = iota // Hop-by-Hop Options, 8 bytes
	extDst               // Destination Options, 8 bytes
	extDst16             // Destination Options, 16 bytes
	extRt                // Routing type 0, one address, segments left 0
	extRtLeft            // Routing type 0, one address, segments left 1
	extFrag              // Fragment (atomic unless fragOff or more)
)

// spec describes a test packet.
type spec struct {
	v6, udp bool
	vlan    bool
	ipOpts  []layers.IPv4Option
	exts    []ext
	tcpOpts bool
	flags   uint8 // header.TCPFlag*; ACK when zero
	urg     uint16
	df, mf  bool
	seq     uint32
	id      uint16
	payload int
}

var (
	mac1, mac2 = net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	v4src      = net.IP{192, 0, 2, 1}
	v4dst      = net.IP{198, 51, 100, 7}
	v6src      = net.ParseIP("2001:db8::1")
	v6dst      = net.ParseIP("2001:db8:ffff::2")
)

// Options with the copied flag clear (Record Route) and set (Router Alert,
// RFC 2113), and a NOP: 7+4+1 = 12 bytes.
func testIPv4Opts() []layers.IPv4Option {
	return []layers.IPv4Option{
		{OptionType: 7, OptionLength: 7, OptionData: []byte{4, 0, 0, 0, 0}},
		{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}},
		{OptionType: 1},
	}
}

// loose source route (RFC 791) with one address; ptr 4 has a hop left,
// ptr 8 is used up.
func lsrr(ptr byte) layers.IPv4Option {
	return layers.IPv4Option{OptionType: 131, OptionLength: 7, OptionData: []byte{ptr, 203, 0, 113, 9}}
}

func payloadBytes(n int, salt byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7+i>>8) ^ salt
	}
	return p
}

// build serializes s with gopacket, lengths and checksums fixed by it.
func build(t testing.TB, s spec) []byte {
	t.Helper()
	b, err := buildErr(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func buildErr(s spec) ([]byte, error) {
	var ls []gopacket.SerializableLayer
	eth := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeIPv4}
	ls = append(ls, eth)
	et := layers.EthernetTypeIPv4
	if s.v6 {
		et = layers.EthernetTypeIPv6
	}
	if s.vlan {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 42, Priority: 3, Type: et})
	} else {
		eth.EthernetType = et
	}
	proto := layers.IPProtocolTCP
	if s.udp {
		proto = layers.IPProtocolUDP
	}
	var nl gopacket.NetworkLayer
	if s.v6 {
		ip := &layers.IPv6{Version: 6, TrafficClass: 0x2e, FlowLabel: 0x12345, HopLimit: 61, SrcIP: v6src, DstIP: v6dst, NextHeader: proto}
		nl = ip
		ls = append(ls, ip)
		setNext := func(p layers.IPProtocol) { ip.NextHeader = p }
		for _, e := range s.exts {
			var l gopacket.SerializableLayer
			var typ layers.IPProtocol
			var next *layers.IPProtocol
			switch e {
			case extHBH:
				h := &layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{{OptionType: 1, OptionData: []byte{0, 0, 0, 0}}}}
				l, typ, next = h, layers.IPProtocolIPv6HopByHop, &h.NextHeader
			case extDst, extDst16:
				d := &layers.IPv6Destination{Options: []*layers.IPv6DestinationOption{{OptionType: 1, OptionData: []byte{0, 0, 0, 0}}}}
				if e == extDst16 {
					d.Options[0].OptionData = make([]byte, 12)
				}
				l, typ, next = d, layers.IPProtocolIPv6Destination, &d.NextHeader
			case extRt, extRtLeft:
				r := &layers.IPv6Routing{RoutingType: 0, Reserved: []byte{0, 0, 0, 0}, SourceRoutingIPs: []net.IP{net.ParseIP("2001:db8:eeee::9")}}
				if e == extRtLeft {
					r.SegmentsLeft = 1
				}
				l, typ, next = r, layers.IPProtocolIPv6Routing, &r.NextHeader
			case extFrag:
				f := &layers.IPv6Fragment{Identification: 77, MoreFragments: s.mf}
				l, typ, next = f, layers.IPProtocolIPv6Fragment, &f.NextHeader
			}
			setNext(typ)
			*next = proto
			setNext = func(p layers.IPProtocol) { *next = p }
			ls = append(ls, l)
		}
	} else {
		ip := &layers.IPv4{Version: 4, TOS: 0xb8, Id: s.id, TTL: 64, SrcIP: v4src, DstIP: v4dst, Protocol: proto, Options: s.ipOpts}
		if s.df {
			ip.Flags |= layers.IPv4DontFragment
		}
		if s.mf {
			ip.Flags |= layers.IPv4MoreFragments
		}
		nl = ip
		ls = append(ls, ip)
	}
	if s.udp {
		u := &layers.UDP{SrcPort: 4321, DstPort: 40000}
		_ = u.SetNetworkLayerForChecksum(nl)
		ls = append(ls, u)
	} else {
		f := s.flags
		if f == 0 {
			f = header.TCPFlagACK
		}
		tc := &layers.TCP{SrcPort: 43210, DstPort: 443, Seq: s.seq, Ack: 0x01020304, Window: 512, Urgent: s.urg,
			FIN: f&header.TCPFlagFIN != 0, SYN: f&header.TCPFlagSYN != 0, RST: f&header.TCPFlagRST != 0,
			PSH: f&header.TCPFlagPSH != 0, ACK: f&header.TCPFlagACK != 0, URG: f&header.TCPFlagURG != 0,
			ECE: f&header.TCPFlagECE != 0, CWR: f&header.TCPFlagCWR != 0}
		if s.tcpOpts {
			// MSS, SACK permitted, timestamps, window scale: 4+2+10+3 = 19, +1 NOP.
			tc.Options = []layers.TCPOption{
				{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xa8}},
				{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 1, 2, 0, 0, 3, 4}},
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
			}
		}
		_ = tc.SetNetworkLayerForChecksum(nl)
		ls = append(ls, tc)
	}
	ls = append(ls, gopacket.Payload(payloadBytes(s.payload, byte(s.seq))))
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...)
	return buf.Bytes(), err
}

// split cuts b into a first segment holding at least the first bytes and
// random, often odd, further segments.
func split(r *rand.Rand, b []byte, first int) [][]byte {
	first = max(0, min(first, len(b)))
	segs := [][]byte{b[:first]}
	for rest := b[first:]; len(rest) > 0; {
		n := min(1+r.IntN(700), len(rest))
		segs = append(segs, rest[:n])
		rest = rest[n:]
	}
	return segs
}

// Naive RFC 1071, independent of package checksum: 16-bit big-endian
// words added into 32 bits, the carries folded at the end.
func naiveSum(bs ...[]byte) uint16 {
	var all []byte
	for _, b := range bs {
		all = append(all, b...)
	}
	var s uint32
	for i := 0; i+1 < len(all); i += 2 {
		s += uint32(all[i])<<8 | uint32(all[i+1])
	}
	if len(all)%2 == 1 {
		s += uint32(all[len(all)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// naivePseudo is the pseudo-header as bytes (RFC 9293 §3.1, RFC 8200 §8.1).
func naivePseudo(src, dst net.IP, proto uint8, l4len int) []byte {
	if s4 := src.To4(); s4 != nil {
		p := append(append([]byte{}, s4...), dst.To4()...)
		return append(p, 0, proto, byte(l4len>>8), byte(l4len))
	}
	p := append(append([]byte{}, src.To16()...), dst.To16()...)
	return append(p, byte(l4len>>24), byte(l4len>>16), byte(l4len>>8), byte(l4len), 0, 0, 0, proto)
}

// decoded is an output frame as gopacket sees it.
type decoded struct {
	p    gopacket.Packet
	ip4  *layers.IPv4
	ip6  *layers.IPv6
	tcp  *layers.TCP
	udp  *layers.UDP
	frag *layers.IPv6Fragment
	l4   []byte // TCP or UDP header and payload, as on the wire
}

func decode(t testing.TB, f []byte) decoded {
	t.Helper()
	var d decoded
	d.p = gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	if e := d.p.ErrorLayer(); e != nil {
		t.Fatalf("gopacket: %v", e.Error())
	}
	if l := d.p.Layer(layers.LayerTypeIPv4); l != nil {
		d.ip4 = l.(*layers.IPv4)
	}
	if l := d.p.Layer(layers.LayerTypeIPv6); l != nil {
		d.ip6 = l.(*layers.IPv6)
	}
	if l := d.p.Layer(layers.LayerTypeTCP); l != nil {
		d.tcp = l.(*layers.TCP)
		d.l4 = append(append([]byte{}, d.tcp.Contents...), d.tcp.Payload...)
	}
	if l := d.p.Layer(layers.LayerTypeUDP); l != nil {
		d.udp = l.(*layers.UDP)
		d.l4 = append(append([]byte{}, d.udp.Contents...), d.udp.Payload...)
	}
	if l := d.p.Layer(layers.LayerTypeIPv6Fragment); l != nil {
		d.frag = l.(*layers.IPv6Fragment)
	}
	return d
}

func (d *decoded) addrs() (src, dst net.IP) {
	if d.ip4 != nil {
		return d.ip4.SrcIP, d.ip4.DstIP
	}
	return d.ip6.SrcIP, d.ip6.DstIP
}

// l4Verify checks the TCP or UDP checksum with the naive reference.
func (d *decoded) l4Verify(proto uint8) bool {
	src, dst := d.addrs()
	return naiveSum(naivePseudo(src, dst, proto, len(d.l4)), d.l4) == 0xffff
}

// frames joins each output's headers and its payload span, copied from
// the flat input with plain slicing.
func frames(flat []byte, hdrs [][]byte, out []Seg) [][]byte {
	fs := make([][]byte, len(out))
	for i, s := range out {
		fs[i] = append(append([]byte{}, hdrs[i][:s.HdrLen]...), flat[s.Payload.Off:s.Payload.Off+s.Payload.Len]...)
	}
	return fs
}

// outputs allocates n header buffers of size hdr and n Segs.
func outputs(n, size int) ([][]byte, []Seg) {
	bufs := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	return bufs, make([]Seg, n)
}

// run segments flat (split into a random scatter list) in both modes and
// returns the frames; the modes must agree byte for byte.
func run(t testing.TB, r *rand.Rand, flat []byte, req Request) ([][]byte, header.Layout) {
	t.Helper()
	l, m := header.Parse(flat)
	if m != header.OK {
		t.Fatalf("input does not parse: %v", m)
	}
	segs := split(r, flat, l.PayloadOff()+r.IntN(64))
	n, why := Count(segs, &l, &req)
	if why != OK {
		t.Fatalf("Count: %v", why)
	}
	hdrs, out := outputs(n, l.PayloadOff()+header.IPv6FragmentLen)
	if got, why := Headers(segs, &l, &req, hdrs, out); why != OK || got != n {
		t.Fatalf("Headers: %d %v, Count %d", got, why, n)
	}
	fs := frames(flat, hdrs, out)
	bufs, out2 := outputs(n, 1<<17)
	if got, why := Frames(segs, &l, &req, bufs, out2); why != OK || got != n {
		t.Fatalf("Frames: %d %v", got, why)
	}
	for i := range fs {
		if out2[i] != out[i] || !bytes.Equal(bufs[i][:out2[i].Len()], fs[i]) {
			t.Fatalf("output %d: copy mode differs from reference mode", i)
		}
		if pl, m := header.Parse(fs[i]); m != header.OK || pl.PktLen != len(fs[i]) {
			t.Fatalf("output %d does not parse: %v (PktLen %d of %d)", i, m, pl.PktLen, len(fs[i]))
		}
	}
	return fs, l
}

// reassemble is a naive IP reassembler for one datagram's fragments (RFC
// 791 §3.2, RFC 8200 §4.5): it returns the fragmentable part rebuilt, and
// the unfragmentable headers (IP header and, for IPv6, the extension
// headers before the Fragment header) of the first fragment.
func reassemble(fs [][]byte, l2 int) (unfrag, data []byte, err error) {
	type piece struct {
		off  int
		more bool
		b    []byte
	}
	var ps []piece
	for i, f := range fs {
		ip := f[l2:]
		switch ip[0] >> 4 {
		case 4:
			ihl := int(ip[0]&0xf) * 4
			tl := int(binary.BigEndian.Uint16(ip[2:]))
			fo := binary.BigEndian.Uint16(ip[6:])
			ps = append(ps, piece{int(fo&0x1fff) * 8, fo&0x2000 != 0, ip[ihl:tl]})
			if i == 0 {
				unfrag = ip[:ihl]
			}
		case 6:
			end := 40 + int(binary.BigEndian.Uint16(ip[4:]))
			next, off, nextAt := ip[6], 40, 6
			for next != 44 {
				if next != 0 && next != 43 && next != 60 || off+8 > end {
					return nil, nil, fmt.Errorf("fragment %d: no Fragment header", i)
				}
				nextAt = off
				next, off = ip[off], off+(int(ip[off+1])+1)*8
			}
			fh := ip[off : off+8]
			fo := binary.BigEndian.Uint16(fh[2:])
			ps = append(ps, piece{int(fo &^ 7), fo&1 != 0, ip[off+8 : end]})
			if i == 0 {
				unfrag = append([]byte{}, ip[:off]...)
				unfrag[nextAt] = fh[0] // undo the insertion
			}
		default:
			return nil, nil, fmt.Errorf("fragment %d: not IP", i)
		}
	}
	for i, p := range ps {
		if p.off != len(data) {
			return nil, nil, fmt.Errorf("fragment %d at %d, expected %d", i, p.off, len(data))
		}
		if p.more != (i < len(ps)-1) {
			return nil, nil, fmt.Errorf("fragment %d: more=%v", i, p.more)
		}
		if p.more && len(p.b)%8 != 0 {
			return nil, nil, fmt.Errorf("fragment %d: %d bytes, not a multiple of 8", i, len(p.b))
		}
		data = append(data, p.b...)
	}
	return unfrag, data, nil
}
