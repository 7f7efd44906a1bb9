package dos

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Test packets are built with gopacket, an implementation independent of
// the header package the filter reads them with.

var (
	mac1 = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	mac2 = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
	fURG = 0x20
)

// pk describes a test packet.
type pk struct {
	src, dst     string // addresses; IPv6 if they contain ':'
	proto        layers.IPProtocol
	sport, dport uint16
	flags        uint8
	seq, ack     uint32
	payload      int
	// Fragments: a fragment with frag set, offset in bytes, more for MF;
	// raw is the fragment's data after the IP (and IPv6 Fragment) header,
	// used as is instead of an L4 header.
	frag  bool
	off   int
	more  bool
	id    uint32
	raw   []byte
	vlan  bool
	ether layers.EthernetType // non-IP frame when set
}

func (p pk) build(t testing.TB) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	eth := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2}
	ls := []gopacket.SerializableLayer{eth}
	if p.ether != 0 {
		eth.EthernetType = p.ether
		ls = append(ls, gopacket.Payload(make([]byte, 46)))
		if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	v6 := netip.MustParseAddr(p.src).Is6()
	et := layers.EthernetTypeIPv4
	if v6 {
		et = layers.EthernetTypeIPv6
	}
	if p.vlan {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: 7, Type: et})
	} else {
		eth.EthernetType = et
	}
	proto := p.proto
	if proto == 0 {
		proto = layers.IPProtocolTCP
	}
	var nl gopacket.NetworkLayer
	if v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto,
			SrcIP: net.ParseIP(p.src), DstIP: net.ParseIP(p.dst)}
		nl = ip
		ls = append(ls, ip)
		if p.frag {
			ip.NextHeader = layers.IPProtocolIPv6Fragment
			ls = append(ls, &layers.IPv6Fragment{NextHeader: proto, FragmentOffset: uint16(p.off / 8),
				MoreFragments: p.more, Identification: p.id})
		}
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, Id: uint16(p.id),
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
	if p.raw != nil {
		ls = append(ls, gopacket.Payload(p.raw))
	} else {
		switch proto {
		case layers.IPProtocolTCP:
			tcp := &layers.TCP{SrcPort: layers.TCPPort(p.sport), DstPort: layers.TCPPort(p.dport),
				Seq: p.seq, Ack: p.ack, Window: 65535,
				FIN: p.flags&fFIN != 0, SYN: p.flags&fSYN != 0, RST: p.flags&fRST != 0,
				PSH: p.flags&fPSH != 0, ACK: p.flags&fACK != 0, URG: p.flags&fURG != 0}
			if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
				t.Fatal(err)
			}
			ls = append(ls, tcp)
		case layers.IPProtocolUDP:
			udp := &layers.UDP{SrcPort: layers.UDPPort(p.sport), DstPort: layers.UDPPort(p.dport)}
			if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
				t.Fatal(err)
			}
			ls = append(ls, udp)
		case layers.IPProtocolICMPv4:
			ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1})
		case layers.IPProtocolICMPv6:
			icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
			if err := icmp.SetNetworkLayerForChecksum(nl); err != nil {
				t.Fatal(err)
			}
			ls = append(ls, icmp)
		}
		if p.payload > 0 {
			ls = append(ls, gopacket.Payload(make([]byte, p.payload)))
		}
	}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// testConfig is DefaultConfig with a fixed seed and small tables.
func testConfig() Config {
	c := DefaultConfig()
	c.Seed = 0x5eed
	c.Sources, c.Flows, c.Fragments = 1024, 1024, 64
	return c
}

func newTestFilter(t testing.TB, c Config) (*Control, *Filter) {
	t.Helper()
	ctl, err := NewControl(c)
	if err != nil {
		t.Fatal(err)
	}
	return ctl, NewFilter(ctl)
}

// judge judges a packet and checks the verdict.
func judge(t testing.TB, f *Filter, b []byte, now int64, want Reason) {
	t.Helper()
	if got := f.Judge(b, len(b), now); got != want {
		t.Fatalf("verdict %v, want %v", got, want)
	}
}

// ms is a time in milliseconds, as the filter's nanoseconds.
func ms(n int) int64 { return int64(n) * int64(time.Millisecond) }

// checkSum checks In = Passed + ΣDropped.
func checkSum(t testing.TB, st Stats) {
	t.Helper()
	var d uint64
	for _, n := range st.Dropped {
		d += n
	}
	if st.In != st.Passed+d {
		t.Fatalf("in %d != passed %d + dropped %d", st.In, st.Passed, d)
	}
}
