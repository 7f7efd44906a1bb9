// Command pcapgen writes the pcap files offloadpmd's benchmarks and tests
// replay: valid Ethernet/IPv4/UDP and TCP frames built with gopacket.
//
//	pcapgen -kind udp64 -flows 1024 -o udp64.pcap
//	pcapgen -kind gro -flows 64 -segs 64 -run 32 -o gro_run32.pcap
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	kind := flag.String("kind", "udp64", "udp64: 64-byte UDP frames; tcp1514: full-size TCP segments; tcp, udp: -payload bytes of TCP or UDP payload; "+
		"gro, udpgro: -segs consecutive 1448-byte TCP segments (timestamp option) or 1472-byte UDP datagrams per flow, 1514-byte frames, for GRO")
	flows := flag.Int("flows", 1024, "distinct 5-tuples (one packet each, or -segs each for gro and udpgro)")
	out := flag.String("o", "", "output pcap file")
	flag.IntVar(&payloadLen, "payload", 32768, "payload bytes for -kind tcp and udp")
	flag.BoolVar(&ipv6, "6", false, "IPv6 instead of IPv4")
	flag.IntVar(&groSegs, "segs", 64, "gro, udpgro: in-order segments per flow")
	flag.IntVar(&groRun, "run", 1, "gro, udpgro: consecutive segments of one flow before the next flow's (1: interleaved per packet)")
	flag.Parse()
	if *out == "" || *flows < 1 || *flows > 65535 {
		fmt.Fprintln(os.Stderr, "pcapgen: need -o FILE and 1 <= -flows <= 65535")
		os.Exit(2)
	}
	if groSegs < 1 || groSegs > 65535 || groRun < 1 {
		fmt.Fprintln(os.Stderr, "pcapgen: need 1 <= -segs <= 65535 and -run >= 1")
		os.Exit(2)
	}
	if err := write(*out, *kind, *flows); err != nil {
		fmt.Fprintf(os.Stderr, "pcapgen: %v\n", err)
		os.Exit(1)
	}
}

func write(name, kind string, flows int) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	n := flows
	if kind == "gro" || kind == "udpgro" {
		n = flows * groSegs
	}
	for i := 0; i < n; i++ {
		var frame []byte
		var err error
		if kind == "gro" || kind == "udpgro" {
			f, s := GROOrder(i, flows, groSegs, groRun)
			frame, err = GROSegment(kind == "udpgro", f, s)
		} else {
			frame, err = Frame(kind, i)
		}
		if err != nil {
			return err
		}
		ci := gopacket.CaptureInfo{CaptureLength: len(frame), Length: len(frame)}
		if err := w.WritePacket(ci, frame); err != nil {
			return err
		}
	}
	return f.Close()
}

var (
	payloadLen int
	ipv6       bool
	groSegs    int
	groRun     int
)

// Frame builds frame i of a kind: flow i has source 10.0.<i/256>.<i%256>
// (2001:db8::<i> in IPv6) and source port 1024+i.
func Frame(kind string, i int) ([]byte, error) {
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr{0x02, 0, 0, 0, 0xa, 1},
		DstMAC:       net.HardwareAddr{0x02, 0, 0, 0, 0xb, 1},
		EthernetType: layers.EthernetTypeIPv4,
	}
	ip := &layers.IPv4{
		Version: 4, TTL: 64, Id: uint16(i),
		SrcIP: net.IPv4(10, 0, byte(i>>8), byte(i)).To4(), DstIP: net.IPv4(10, 1, 0, 1).To4(),
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	buf := gopacket.NewSerializeBuffer()
	if kind == "tcp" || kind == "udp" {
		return large(kind, i, eth, ip)
	}
	switch kind {
	case "udp64":
		ip.Protocol = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: layers.UDPPort(1024 + i), DstPort: 9}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		// 64 bytes without FCS: 14 + 20 + 8 + 22.
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(make([]byte, 22))); err != nil {
			return nil, err
		}
	case "tcp1514":
		ip.Protocol = layers.IPProtocolTCP
		tcp := &layers.TCP{SrcPort: layers.TCPPort(1024 + i), DstPort: 5201, Seq: 1, ACK: true, Ack: 1, Window: 512}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		payload := make([]byte, 1514-14-20-20)
		for j := range payload {
			payload[j] = byte(i + j)
		}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	return buf.Bytes(), nil
}

// large builds a TCP segment or UDP datagram of payloadLen bytes: the
// super-packets TSO, USO and GSO cut.
func large(kind string, i int, eth *layers.Ethernet, ip4 *layers.IPv4) ([]byte, error) {
	var nl gopacket.NetworkLayer = ip4
	var l3 gopacket.SerializableLayer = ip4
	proto := layers.IPProtocolTCP
	if kind == "udp" {
		proto = layers.IPProtocolUDP
	}
	ip4.Protocol = proto
	if ipv6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto,
			SrcIP: net.ParseIP(fmt.Sprintf("2001:db8::%x", i+1)), DstIP: net.ParseIP("2001:db8:1::1")}
		nl, l3 = ip, ip
	}
	payload := make([]byte, payloadLen)
	for j := range payload {
		payload[j] = byte(i*31 + j)
	}
	var l4 gopacket.SerializableLayer
	if kind == "udp" {
		u := &layers.UDP{SrcPort: layers.UDPPort(1024 + i), DstPort: 9000}
		if err := u.SetNetworkLayerForChecksum(nl); err != nil {
			return nil, err
		}
		l4 = u
	} else {
		t := &layers.TCP{SrcPort: layers.TCPPort(1024 + i), DstPort: 5201, Seq: uint32(i) * 100000, ACK: true, PSH: true, Ack: 1, Window: 1024}
		if err := t.SetNetworkLayerForChecksum(nl); err != nil {
			return nil, err
		}
		l4 = t
	}
	return serialize(eth, l3, l4, gopacket.Payload(payload))
}

// GRO traffic: each flow's segments are in order and mergeable (same
// headers but the sequence number, IPv4 ID +1 per segment with DF set,
// TCP: ACK only and the same timestamp option, as librte_gro requires).
const (
	GROTCPPayload = 1448 // 14 + 20 + 32 (20 + NOP NOP TS) + 1448 = 1514
	GROUDPPayload = 1472 // 14 + 20 + 8 + 1472 = 1514
)

// GROOrder is which flow and segment frame i of the file is: rounds of run
// consecutive segments of flow 0, then of flow 1, ..., then the next run
// of flow 0 (run 1: interleaved per packet).
func GROOrder(i, flows, segs, run int) (flow, seg int) {
	for s0 := 0; s0 < segs; s0 += run {
		r := min(run, segs-s0)
		if i < r*flows {
			return i / r, s0 + i%r
		}
		i -= r * flows
	}
	panic("pcapgen: GROOrder: frame index out of range")
}

// GROSegment builds segment s of flow f: a 1448-byte TCP segment with the
// timestamp option, or (udp) a 1472-byte UDP datagram.
func GROSegment(udp bool, f, s int) ([]byte, error) {
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr{0x02, 0, 0, 0, 0xa, 1},
		DstMAC:       net.HardwareAddr{0x02, 0, 0, 0, 0xb, 1},
		EthernetType: layers.EthernetTypeIPv4,
	}
	proto := layers.IPProtocolTCP
	n := GROTCPPayload
	if udp {
		proto, n = layers.IPProtocolUDP, GROUDPPayload
	}
	ip4 := &layers.IPv4{
		Version: 4, TTL: 64, Id: uint16(s), Flags: layers.IPv4DontFragment, Protocol: proto,
		SrcIP: net.IPv4(10, 0, byte(f>>8), byte(f)).To4(), DstIP: net.IPv4(10, 1, 0, 1).To4(),
	}
	var nl gopacket.NetworkLayer = ip4
	var l3 gopacket.SerializableLayer = ip4
	if ipv6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto,
			SrcIP: net.ParseIP(fmt.Sprintf("2001:db8::%x", f+1)), DstIP: net.ParseIP("2001:db8:1::1")}
		nl, l3 = ip, ip
	}
	payload := make([]byte, n)
	for j := range payload {
		payload[j] = byte(f*131 + s*n + j)
	}
	var l4 gopacket.SerializableLayer
	if udp {
		u := &layers.UDP{SrcPort: layers.UDPPort(1024 + f), DstPort: 9000}
		if err := u.SetNetworkLayerForChecksum(nl); err != nil {
			return nil, err
		}
		l4 = u
	} else {
		ts := make([]byte, 8)
		binary.BigEndian.PutUint32(ts[0:], uint32(0x1000+f))
		binary.BigEndian.PutUint32(ts[4:], 0x2000)
		t := &layers.TCP{SrcPort: layers.TCPPort(1024 + f), DstPort: 5201, Seq: uint32(1 + s*n), ACK: true, Ack: 1, Window: 1024,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: ts}}}
		if err := t.SetNetworkLayerForChecksum(nl); err != nil {
			return nil, err
		}
		l4 = t
	}
	return serialize(eth, l3, l4, gopacket.Payload(payload))
}

// serialize builds a frame from its layers with lengths and checksums
// filled in.
func serialize(ls ...gopacket.SerializableLayer) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
