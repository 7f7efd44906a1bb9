package header

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func build(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	mac1 = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	mac2 = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

func TestParse(t *testing.T) {
	ip4 := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2},
		Options: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}}
	tcp := &layers.TCP{SrcPort: 1, DstPort: 2, Seq: 7, ACK: true, Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}}}}
	_ = tcp.SetNetworkLayerForChecksum(ip4)
	ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6HopByHop, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
	hbh := &layers.IPv6HopByHop{}
	hbh.NextHeader = layers.IPProtocolUDP
	hbh.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
	udp := &layers.UDP{SrcPort: 3, DstPort: 4}
	_ = udp.SetNetworkLayerForChecksum(ip6)
	eth4 := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeIPv4}
	eth6 := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeIPv6}
	vlan := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeDot1Q}
	tag := &layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeIPv4}

	cases := []struct {
		name  string
		frame []byte
		want  Layout
	}{
		{"ipv4 options tcp mss", build(t, eth4, ip4, tcp, gopacket.Payload(make([]byte, 100))),
			Layout{L2Len: 14, EtherType: EtherTypeIPv4, L3: L3IPv4, L3Len: 24, L4Proto: ProtoTCP, L4Len: 24, PktLen: 14 + 24 + 24 + 100}},
		{"ipv6 hop-by-hop udp", build(t, eth6, ip6, hbh, udp, gopacket.Payload(make([]byte, 33))),
			Layout{L2Len: 14, EtherType: EtherTypeIPv6, L3: L3IPv6, L3Len: 48, L4Proto: ProtoUDP, L4Len: 8, PktLen: 14 + 48 + 8 + 33}},
		{"vlan ipv4 tcp", build(t, vlan, tag, ip4, tcp),
			Layout{L2Len: 18, EtherType: EtherTypeIPv4, L3: L3IPv4, L3Len: 24, L4Proto: ProtoTCP, L4Len: 24, PktLen: 18 + 48}},
		{"arp", build(t, &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: 1, Protocol: 0x0800, HwAddressSize: 6, ProtAddressSize: 4, SourceHwAddress: mac1, SourceProtAddress: []byte{1, 2, 3, 4}, DstHwAddress: mac2, DstProtAddress: []byte{1, 2, 3, 5}}),
			Layout{L2Len: 14, EtherType: 0x0806, PktLen: 60}}, // gopacket pads to the 60-byte minimum
	}
	for _, c := range cases {
		got, m := Parse(c.frame)
		if m != OK || got != c.want {
			t.Errorf("%s: %+v %v\nwant %+v", c.name, got, m, c.want)
		}
	}
	// Ethernet padding after a short IPv4 packet is not part of it.
	f := append(build(t, eth4, ip4, tcp), make([]byte, 10)...)
	if l, m := Parse(f); m != OK || l.PktLen != len(f)-10 {
		t.Errorf("padded frame: PktLen %d of %d, %v", l.PktLen, len(f), m)
	}
}

// TestParseMalformed: each truncation or bad field is named, never read
// past.
func TestParseMalformed(t *testing.T) {
	eth := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	tcp := &layers.TCP{SrcPort: 1, DstPort: 2}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	good := build(t, eth, ip, tcp, gopacket.Payload(make([]byte, 20)))
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name  string
		frame []byte
		want  Malformed
	}{
		{"short ethernet", good[:13], ShortL2},
		{"short ipv4", good[:30], ShortIPv4},
		{"ipv4 version 5", mut(func(b []byte) []byte { b[14] = 0x55; return b }), BadIPv4Version},
		{"IHL < 5", mut(func(b []byte) []byte { b[14] = 0x44; return b }), BadIPv4IHL},
		{"IHL past the frame", mut(func(b []byte) []byte { b[14] = 0x4f; return b[:40] }), BadIPv4IHL},
		{"total length beyond the buffer", mut(func(b []byte) []byte { b[16], b[17] = 0x05, 0xdc; return b }), BadIPv4TotalLen},
		{"total length < IHL", mut(func(b []byte) []byte { b[16], b[17] = 0, 10; return b }), BadIPv4TotalLen},
		{"tcp data offset < 5", mut(func(b []byte) []byte { b[14+20+12] = 0x40; return b }), BadTCPDataOffset},
		{"tcp data offset past the packet", mut(func(b []byte) []byte { b[14+20+12] = 0xf0; return b }), BadTCPDataOffset},
		{"short tcp", mut(func(b []byte) []byte { b[16], b[17] = 0, 30; return b[:44] }), ShortTCP},
	}
	for _, c := range cases {
		if _, m := Parse(c.frame); m != c.want {
			t.Errorf("%s: %v, want %v", c.name, m, c.want)
		}
	}
}

func TestWalkIPv6Fragment(t *testing.T) {
	b := make([]byte, IPv6Len+IPv6FragmentLen+8)
	IPv6(b).Encode(&IPv6Fields{PayloadLen: IPv6FragmentLen + 8, NextHeader: ProtoFragment, HopLimit: 1})
	IPv6Fragment(b[IPv6Len:]).Encode(ProtoUDP, 1448, true, 42)
	e, ok := WalkIPv6(IPv6(b))
	if !ok || e.Proto != ProtoUDP || e.FragOff != IPv6Len || e.HeaderLen != IPv6Len+8 || e.LastNextHeader != IPv6Len {
		t.Fatalf("%+v %v", e, ok)
	}
	f := IPv6Fragment(b[IPv6Len:])
	if f.Offset() != 1448 || !f.More() || f.ID() != 42 {
		t.Fatalf("fragment %d %v %d", f.Offset(), f.More(), f.ID())
	}
	// In a first fragment the headers go on: a second Fragment header
	// there is refused.
	IPv6Fragment(b[IPv6Len:]).Encode(ProtoFragment, 0, true, 42)
	copy(b[IPv6Len+IPv6FragmentLen:], b[IPv6Len:IPv6Len+IPv6FragmentLen])
	if _, ok := WalkIPv6(IPv6(b)); ok {
		t.Fatal("two fragment headers accepted")
	}
}

func FuzzParse(f *testing.F) {
	ip6 := &layers.IPv6{Version: 6, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP("::1"), DstIP: net.ParseIP("::2")}
	tcp := &layers.TCP{SrcPort: 1, DstPort: 2}
	_ = tcp.SetNetworkLayerForChecksum(ip6)
	f.Add(build(f, &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeIPv6}, ip6, tcp))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, m := Parse(b)
		if m != OK {
			return
		}
		// A layout Parse accepts can be used without bounds checks.
		if l.PktLen > len(b) || l.PayloadOff() > l.PktLen {
			t.Fatalf("layout %+v out of a %d-byte frame", l, len(b))
		}
		switch l.L4Proto {
		case ProtoTCP:
			if l.L4Len > 0 {
				_ = TCP(b[l.L4Off():]).Flags()
			}
		case ProtoUDP:
			if l.L4Len > 0 {
				_ = UDP(b[l.L4Off():]).Length()
			}
		}
	})
}

// A later IPv6 fragment carries data after its Fragment header; the walk
// must stop there even when the next-header byte names an extension.
func TestWalkIPv6LaterFragment(t *testing.T) {
	b := make([]byte, IPv6Len+IPv6FragmentLen+16)
	IPv6(b).Encode(&IPv6Fields{PayloadLen: IPv6FragmentLen + 16, NextHeader: ProtoFragment, HopLimit: 1})
	IPv6Fragment(b[IPv6Len:]).Encode(ProtoDestOpts, 1448, false, 7)
	for i := IPv6Len + IPv6FragmentLen; i < len(b); i++ {
		b[i] = 0xff // data that would not parse as an extension header
	}
	e, ok := WalkIPv6(IPv6(b))
	if !ok || e.Proto != ProtoDestOpts || e.HeaderLen != IPv6Len+IPv6FragmentLen || e.FragOff != IPv6Len {
		t.Fatalf("%+v %v", e, ok)
	}
	fr := append(make([]byte, 14), b...)
	fr[12], fr[13] = 0x86, 0xdd
	if l, m := Parse(fr); m != OK || !l.Fragment || l.FragOffset != 1448 || l.L4Len != 0 {
		t.Fatalf("parse: %+v %v", l, m)
	}
}
