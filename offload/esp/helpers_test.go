package esp

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// unhex decodes hex written with spaces or line breaks.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyOf returns n bytes of distinct key material.
func keyOf(n int, seed byte) Key {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)*7
	}
	return NewKey(b)
}

var (
	addr4a = netip.MustParseAddr("192.0.2.1")
	addr4b = netip.MustParseAddr("192.0.2.2")
	addr6a = netip.MustParseAddr("2001:db8::1")
	addr6b = netip.MustParseAddr("2001:db8::2")
	mac1   = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	mac2   = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

// pairConfig is an outbound SA and its inbound twin (same SPI and keys),
// with outer addresses of family v6 or 4.
func pairConfig(alg Algorithm, mode Mode, outer6, esn bool) (out, in Config) {
	c := Config{SPI: 0x1234, Mode: mode, Alg: alg, ESN: esn, EncKey: keyOf(alg.EncKeyLen(), 1)}
	if !alg.AEAD() {
		c.AuthKey = keyOf(AuthKeyLen, 100)
	}
	if mode == Tunnel {
		c.Src, c.Dst = addr4a, addr4b
		if outer6 {
			c.Src, c.Dst = addr6a, addr6b
		}
	}
	out, in = c, c
	out.Dir, in.Dir = Outbound, Inbound
	return out, in
}

// pair adds both SAs of pairConfig to a new Registry.
func pair(t testing.TB, alg Algorithm, mode Mode, outer6, esn bool) (*Registry, *SA, *SA) {
	t.Helper()
	oc, ic := pairConfig(alg, mode, outer6, esn)
	var r Registry
	out, err := r.Add(oc)
	if err != nil {
		t.Fatal(err)
	}
	in, err := r.Add(ic)
	if err != nil {
		t.Fatal(err)
	}
	return &r, out, in
}

// frame builds an Ethernet frame: IPv4 or IPv6, then UDP (or TCP) with n
// payload bytes, checksums computed.
func frame(t testing.TB, v6, tcp bool, n int) []byte {
	t.Helper()
	payload := make([]byte, n)
	for i := range payload {
		payload[i] = byte(i*13 + 5)
	}
	eth := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeIPv4}
	var ip gopacket.NetworkLayer
	var ipl gopacket.SerializableLayer
	proto := layers.IPProtocolUDP
	if tcp {
		proto = layers.IPProtocolTCP
	}
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		l := &layers.IPv6{Version: 6, HopLimit: 64, TrafficClass: 0x28, NextHeader: proto,
			SrcIP: net.ParseIP("2001:db8:1::10"), DstIP: net.ParseIP("2001:db8:2::20")}
		ip, ipl = l, l
	} else {
		l := &layers.IPv4{Version: 4, TTL: 64, TOS: 0x28, Id: 77, Flags: layers.IPv4DontFragment, Protocol: proto,
			SrcIP: net.IP{10, 1, 0, 10}, DstIP: net.IP{10, 2, 0, 20}}
		ip, ipl = l, l
	}
	var l4 gopacket.SerializableLayer
	if tcp {
		l := &layers.TCP{SrcPort: 1000, DstPort: 2000, Seq: 1, Ack: 2, ACK: true, PSH: true, Window: 512}
		_ = l.SetNetworkLayerForChecksum(ip)
		l4 = l
	} else {
		l := &layers.UDP{SrcPort: 1000, DstPort: 2000}
		_ = l.SetNetworkLayerForChecksum(ip)
		l4 = l
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ipl, l4, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	// Without gopacket's padding to the 60-byte minimum.
	f := buf.Bytes()
	if v6 {
		return f[:14+header.IPv6Len+int(header.IPv6(f[14:]).PayloadLen())]
	}
	return f[:14+int(header.IPv4(f[14:]).TotalLen())]
}

// inBuffer places frame in a buffer with head bytes before and tail after.
func inBuffer(frame []byte, head, tail int) *Packet {
	b := make([]byte, head+len(frame)+tail)
	copy(b[head:], frame)
	return &Packet{Buf: b, Off: head, Len: len(frame)}
}

// encrypt runs the three TX phases on one packet.
func encrypt(t testing.TB, sa *SA, p *Packet, l2Len int) {
	t.Helper()
	var j [1]Job
	if r := sa.PrepareEncrypt(p, l2Len, &j[0]); r != OK {
		t.Fatalf("PrepareEncrypt: %v", r)
	}
	var e GoEngine
	e.Process(j[:], [][]byte{p.Bytes()})
	if r := FinishEncrypt(&j[0]); r != OK {
		t.Fatalf("FinishEncrypt: %v", r)
	}
}

// decrypt runs the three RX phases on one packet and returns the first
// refusal.
func decrypt(tab *Table, p *Packet, l2Len int, e *GoEngine) (Reason, *Job) {
	j := make([]Job, 1)
	if r := tab.PrepareDecrypt(p, l2Len, &j[0]); r != OK {
		return r, &j[0]
	}
	if e == nil {
		e = &GoEngine{}
	}
	e.Process(j, [][]byte{p.Bytes()})
	return FinishDecrypt(p, &j[0]), &j[0]
}

func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %x\nwant %x", what, got, want)
	}
}
