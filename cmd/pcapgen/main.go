// Command pcapgen writes the pcap files offloadpmd's benchmarks and tests
// replay: valid Ethernet/IPv4/UDP and TCP frames built with gopacket.
//
//	pcapgen -kind udp64 -flows 1024 -o udp64.pcap
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	kind := flag.String("kind", "udp64", "udp64: 64-byte UDP frames; tcp1514: full-size TCP segments")
	flows := flag.Int("flows", 1024, "distinct 5-tuples (one packet each)")
	out := flag.String("o", "", "output pcap file")
	flag.Parse()
	if *out == "" || *flows < 1 || *flows > 65535 {
		fmt.Fprintln(os.Stderr, "pcapgen: need -o FILE and 1 <= -flows <= 65535")
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
	for i := 0; i < flows; i++ {
		frame, err := Frame(kind, i)
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

// Frame builds frame i of a kind: flow i has source 10.0.<i/256>.<i%256>
// and source port 1024+i.
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
