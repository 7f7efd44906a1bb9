package main

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pipeline"
)

// obsFrame serializes layers into a frame with lengths and checksums
// filled in.
func obsFrame(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// obsRecord is a record of frame as the lcores write it.
func obsRecord(kind pipeline.RecordKind, frame []byte, pktLen int) *pipeline.Record {
	r := &pipeline.Record{Kind: kind, PktLen: uint32(pktLen), DataLen: uint16(len(frame)), NbSegs: 1, Burst: 1}
	r.Captured = uint16(copy(r.Data[:], frame))
	return r
}

var (
	obsSrc = net.HardwareAddr{0x02, 0, 0, 0, 0x0a, 0x01}
	obsDst = net.HardwareAddr{0x02, 0, 0, 0, 0x0b, 0x01}
)

// udp64 is the frame pcapgen's udp64 kind makes: 64 bytes of UDP over
// IPv4 between the addresses above.
func udp64(t *testing.T) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{198, 18, 0, 1}, DstIP: net.IP{198, 18, 0, 2}}
	udp := &layers.UDP{SrcPort: 9, DstPort: 9}
	_ = udp.SetNetworkLayerForChecksum(ip)
	return obsFrame(t, &layers.Ethernet{SrcMAC: obsSrc, DstMAC: obsDst, EthernetType: layers.EthernetTypeIPv4}, ip, udp,
		gopacket.Payload(make([]byte, 64-42)))
}

// TestWriteRecordMatchesTestpmd: a received and a sent 64-byte UDP packet
// print testpmd's two lines as dpdk-testpmd 22.11 printed them for the
// same frame through net_pcap (verbose 3), less what offloadpmd does not
// know (the pool's name, net_pcap's timestamp), followed by the decode.
func TestWriteRecordMatchesTestpmd(t *testing.T) {
	fr := udp64(t)
	var b bytes.Buffer
	writeRecord(&b, obsRecord(pipeline.RecordReceived, fr, len(fr)))
	sent := obsRecord(pipeline.RecordSent, fr, len(fr))
	writeRecord(&b, sent)
	want := []string{
		"port 0/queue 0: received 1 packets",
		"  src=02:00:00:00:0A:01 - dst=02:00:00:00:0B:01 - type=0x0800 - length=64 - nb_segs=1 - sw ptype: L2_ETHER L3_IPV4 L4_UDP  - l2_len=14 - l3_len=20 - l4_len=8 - Receive queue=0x0",
		"  ol_flags: RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN RTE_MBUF_F_RX_OUTER_L4_CKSUM_UNKNOWN ",
		"  decode: IPv4 198.18.0.1 > 198.18.0.2 len 50 id 0 ttl 64 cksum 0x",
		"port 0/queue 0: sent 1 packets",
		"  src=02:00:00:00:0A:01 - dst=02:00:00:00:0B:01 - type=0x0800 - length=64 - nb_segs=1 - sw ptype: L2_ETHER L3_IPV4 L4_UDP  - l2_len=14 - l3_len=20 - l4_len=8 - Send queue=0x0",
		"  ol_flags: RTE_MBUF_F_TX_L4_NO_CKSUM ",
		"  decode: IPv4 198.18.0.1 > 198.18.0.2 len 50 id 0 ttl 64 cksum 0x",
	}
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(want), b.String())
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	if !strings.Contains(got[3], " | UDP 9 > 9 len 30 cksum 0x") || !strings.HasSuffix(got[3], " | payload 22 bytes") {
		t.Errorf("decode line %q", got[3])
	}
}

// TestRecordWriterBursts: records of one burst share one header line;
// the next burst, or another kind, starts a new one.
func TestRecordWriterBursts(t *testing.T) {
	fr := udp64(t)
	var b bytes.Buffer
	rw := recordWriter{w: &b}
	for i, seq := range []uint32{1, 1, 1, 2} {
		r := obsRecord(pipeline.RecordReceived, fr, len(fr))
		r.Port, r.Queue, r.Burst, r.BurstSeq = 1, 2, 3, seq
		if i == 3 {
			r.Burst = 1
		}
		rw.write(r)
	}
	s := b.String()
	if strings.Count(s, "port 1/queue 2: received 3 packets\n") != 1 || strings.Count(s, "port 1/queue 2: received 1 packets\n") != 1 ||
		strings.Count(s, "Receive queue=0x2") != 4 {
		t.Errorf("bursts printed as:\n%s", s)
	}
}

// TestWriteTrace prints a TSO request traced through the stages, kept in
// part (256 of 4054 bytes): its flags by name, its lengths, the decode of
// the headers, and each decision.
func TestWriteTrace(t *testing.T) {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, Id: 7, Flags: layers.IPv4DontFragment,
		SrcIP: net.IP{10, 202, 0, 2}, DstIP: net.IP{10, 202, 0, 1}}
	tcp := &layers.TCP{SrcPort: 40001, DstPort: 47000, Seq: 1000, Ack: 1, ACK: true, PSH: true, Window: 512, DataOffset: 5}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	fr := obsFrame(t, &layers.Ethernet{SrcMAC: obsSrc, DstMAC: obsDst, EthernetType: layers.EthernetTypeIPv4}, ip, tcp,
		gopacket.Payload(bytes.Repeat([]byte{0x5a}, 4000)))
	r := obsRecord(pipeline.RecordTrace, fr, len(fr))
	r.Trace, r.NbSegs = 3, 2
	r.OlFlags = offload.OlTxIPv4 | offload.OlTxIPCksum | offload.OlTxTCPCksum | offload.OlTxTCPSeg
	r.L2Len, r.L3Len, r.L4Len, r.TSOSegsz = 14, 20, 20, 1448
	for _, e := range []pipeline.Event{
		{Stage: pipeline.StageValidate, Outcome: pipeline.OutAccepted, Value: 1<<offload.TaskTSO | 1<<offload.TaskL4Cksum},
		{Stage: pipeline.StageRxCksum, Outcome: pipeline.OutDevice},
		{Stage: pipeline.StageEngine, Outcome: pipeline.OutKept},
		{Stage: pipeline.StageTx, Outcome: pipeline.OutSoftware, Task: offload.TaskTSO},
		{Stage: pipeline.StageTx, Outcome: pipeline.OutHardware, Task: offload.TaskL4Cksum},
		{Stage: pipeline.StageSegment, Outcome: pipeline.OutSegmented, Value: 3},
		{Stage: pipeline.StageFate, Outcome: pipeline.OutQueued, Port: 1, Value: 3},
	} {
		r.Events[r.NEvents] = e
		r.NEvents++
	}
	var b bytes.Buffer
	writeRecord(&b, r)
	s := b.String()
	for _, want := range []string{
		"trace 3: port 0/queue 0: received 1 packet\n",
		" - length=4054 - nb_segs=2 - sw ptype: L2_ETHER L3_IPV4 L4_TCP  - l2_len=14 - l3_len=20 - l4_len=20 - Receive queue=0x0\n",
		"  tx request: RTE_MBUF_F_TX_IP_CKSUM RTE_MBUF_F_TX_TCP_CKSUM RTE_MBUF_F_TX_TCP_SEG RTE_MBUF_F_TX_IPV4\n",
		"  tx_offload: l2_len=14 l3_len=20 l4_len=20 tso_segsz=1448\n",
		"  decode: IPv4 10.202.0.2 > 10.202.0.1 len 4040 id 7 ttl 64 DF cksum 0x",
		" | TCP 40001 > 47000 seq 1000 ack 1 [PSH ACK] win 512 cksum 0x",
		" | payload 202 bytes (first 256 of 4054 bytes kept)\n",
		"  validate:  accepted: tso l4_cksum\n",
		"  rx-cksum:  as flagged on RX: ip unknown, l4 unknown\n",
		"  engine:    kept\n",
		"  tx:        tso software\n",
		"  tx:        l4_cksum hardware\n",
		"  segment:   3 segments\n",
		"  fate:      queued 3 packets for TX on port 1/queue 0\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in:\n%s", want, s)
		}
	}
}

// TestSoftwarePtype classifies frames as rte_net_get_ptype does.
func TestSoftwarePtype(t *testing.T) {
	eth := func(et layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: obsSrc, DstMAC: obsDst, EthernetType: et}
	}
	v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("fd00::2"), DstIP: net.ParseIP("fd00::1")}
	udp6 := &layers.UDP{SrcPort: 1, DstPort: 2}
	_ = udp6.SetNetworkLayerForChecksum(v6)
	v4opt := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2},
		Options: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}}
	tcpTS := &layers.TCP{SrcPort: 1, DstPort: 2, Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: make([]byte, 8)},
		{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop}}}
	_ = tcpTS.SetNetworkLayerForChecksum(v4opt)
	frag := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, Flags: layers.IPv4MoreFragments, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	vlanEth := eth(layers.EthernetTypeDot1Q)
	for _, c := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"ipv6 udp", obsFrame(t, eth(layers.EthernetTypeIPv6), v6, udp6, gopacket.Payload("hello")), "L2_ETHER L3_IPV6 L4_UDP  - l2_len=14 - l3_len=40 - l4_len=8"},
		{"ipv4 options, tcp timestamps", obsFrame(t, eth(layers.EthernetTypeIPv4), v4opt, tcpTS), "L2_ETHER L3_IPV4_EXT L4_TCP  - l2_len=14 - l3_len=24 - l4_len=32"},
		{"ipv4 fragment", obsFrame(t, eth(layers.EthernetTypeIPv4), frag, gopacket.Payload(make([]byte, 16))), "L2_ETHER L3_IPV4 L4_FRAG  - l2_len=14 - l3_len=20 - Receive"},
		{"vlan", obsFrame(t, vlanEth, &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv6}, v6, udp6), "L2_ETHER_VLAN L3_IPV6 L4_UDP  - l2_len=18 - l3_len=40 - l4_len=8"},
		{"arp", obsFrame(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, SourceHwAddress: obsSrc, SourceProtAddress: []byte{1, 2, 3, 4}, DstHwAddress: obsDst, DstProtAddress: []byte{1, 2, 3, 5}}),
			"L2_ETHER  - l2_len=14 - Receive"},
	} {
		var b bytes.Buffer
		writeRecord(&b, obsRecord(pipeline.RecordReceived, c.frame, len(c.frame)))
		if !strings.Contains(b.String(), " - sw ptype: "+c.want) {
			t.Errorf("%s: want sw ptype %q in:\n%s", c.name, c.want, b.String())
		}
	}
}
