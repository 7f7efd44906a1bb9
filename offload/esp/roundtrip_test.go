package esp

import (
	"fmt"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// TestRoundTrip encrypts and decrypts every algorithm, mode, IP version
// (inner, and outer for tunnels) and sequence number size, over TCP and
// UDP packets of several sizes. The ESP frame is decoded by gopacket, an
// independent decoder: SPI, sequence number, lengths and protocol must be
// what the SA says; decryption must give back the frame.
func TestRoundTrip(t *testing.T) {
	for _, alg := range Algorithms() {
		for _, mode := range []Mode{Tunnel, Transport} {
			for _, outer6 := range []bool{false, true} {
				if mode == Transport && outer6 {
					continue // a transport SA has no outer header
				}
				for _, esn := range []bool{false, true} {
					name := fmt.Sprintf("%v/%v/outer6=%v/esn=%v", alg, mode, outer6, esn)
					t.Run(name, func(t *testing.T) { roundTrip(t, alg, mode, outer6, esn) })
				}
			}
		}
	}
}

func roundTrip(t *testing.T, alg Algorithm, mode Mode, outer6, esn bool) {
	r, out, in := pair(t, alg, mode, outer6, esn)
	if esn {
		// Both ends as if 2^32-3 packets had gone: the low 32 bits wrap
		// on the way, and the high ones are not on the wire.
		out.seq.Store(1<<32 - 3)
		in.replay.top.Store(1<<32 - 3)
	}
	var e GoEngine
	seq := out.seq.Load()
	for _, v6 := range []bool{false, true} {
		for _, tcp := range []bool{false, true} {
			for _, n := range []int{0, 1, 2, 13, 14, 15, 16, 17, 100, 1400} {
				orig := frame(t, v6, tcp, n)
				p := inBuffer(orig, out.Headroom(), out.Tailroom())
				encrypt(t, out, p, header.EthernetLen)
				seq++
				checkESPFrame(t, p.Bytes(), out, seq, v6)
				if why, j := decrypt(r.Load(), p, header.EthernetLen, &e); why != OK {
					t.Fatalf("v6=%v tcp=%v n=%d: decrypt: %v", v6, tcp, n, why)
				} else if j.Seq != seq {
					t.Fatalf("decrypted seq %#x, sent %#x", j.Seq, seq)
				}
				mustEqual(t, fmt.Sprintf("v6=%v tcp=%v n=%d", v6, tcp, n), p.Bytes(), orig)
			}
		}
	}
}

// checkESPFrame decodes an ESP frame with gopacket and checks it against
// the SA.
func checkESPFrame(t *testing.T, f []byte, sa *SA, seq uint64, innerV6 bool) {
	t.Helper()
	pk := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	if el := pk.ErrorLayer(); el != nil {
		t.Fatalf("gopacket: %v", el.Error())
	}
	e, ok := pk.Layer(layers.LayerTypeIPSecESP).(*layers.IPSecESP)
	if !ok {
		t.Fatalf("gopacket finds no ESP in %x", f)
	}
	if e.SPI != sa.SPI() || e.Seq != uint32(seq) {
		t.Fatalf("ESP spi %#x seq %#x, want %#x %#x", e.SPI, e.Seq, sa.SPI(), uint32(seq))
	}
	if n := len(e.Encrypted) - sa.Alg().IVLen() - ICVLen; n < TrailerLen || n%sa.Alg().Align() != 0 {
		t.Fatalf("encrypted part of %d bytes", n)
	}
	outer6 := innerV6
	if sa.Mode() == Tunnel {
		outer6 = sa.cfg.Family() == 6
	}
	if v4, ok := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		if outer6 {
			t.Fatal("IPv4 outer header, want IPv6")
		}
		if int(v4.Length) != len(f)-header.EthernetLen || v4.Protocol != layers.IPProtocolESP ||
			checksum.VerifyIPv4(header.IPv4(f[header.EthernetLen:])) != checksum.Good {
			t.Fatalf("outer IPv4 length %d protocol %v in a %d-byte frame, checksum %v", v4.Length, v4.Protocol, len(f),
				checksum.VerifyIPv4(header.IPv4(f[header.EthernetLen:])))
		}
		if sa.Mode() == Tunnel && (v4.SrcIP.String() != sa.cfg.Src.String() || v4.TTL != DefaultTTL || v4.TOS != 0x28) {
			t.Fatalf("outer IPv4 %v -> %v ttl %d tos %#x", v4.SrcIP, v4.DstIP, v4.TTL, v4.TOS)
		}
	} else if v6, ok := pk.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
		if !outer6 {
			t.Fatal("IPv6 outer header, want IPv4")
		}
		if int(v6.Length) != len(f)-header.EthernetLen-header.IPv6Len || v6.NextHeader != layers.IPProtocolESP {
			t.Fatalf("outer IPv6 payload length %d next header %v in a %d-byte frame", v6.Length, v6.NextHeader, len(f))
		}
		if sa.Mode() == Tunnel && (v6.DstIP.String() != sa.cfg.Dst.String() || v6.HopLimit != DefaultTTL || v6.TrafficClass != 0x28) {
			t.Fatalf("outer IPv6 %v -> %v hop limit %d tc %#x", v6.SrcIP, v6.DstIP, v6.HopLimit, v6.TrafficClass)
		}
	} else {
		t.Fatal("no IP layer")
	}
}

// TestRoundTripL2: VLAN-tagged frames, bare IP packets, Ethernet padding
// after a short packet, and a tunnel changing the IP version: the L2
// header follows the outer header with the right EtherType.
func TestRoundTripL2(t *testing.T) {
	r, out, _ := pair(t, AESGCM128, Tunnel, true, false)
	var e GoEngine

	// A 4-byte VLAN tag: EtherType at 16.
	f := frame(t, false, false, 10)
	tagged := append(append(append([]byte(nil), f[:12]...), 0x81, 0x00, 0x00, 0x07), f[12:]...)
	p := inBuffer(tagged, 128, 64)
	encrypt(t, out, p, 18)
	if et := be.Uint16(p.Bytes()[16:]); et != header.EtherTypeIPv6 {
		t.Fatalf("outer EtherType %#x", et)
	}
	mustEqual(t, "MACs and tag", p.Bytes()[:16], tagged[:16])
	if why, _ := decrypt(r.Load(), p, 18, &e); why != OK {
		t.Fatal(why)
	}
	mustEqual(t, "vlan frame", p.Bytes(), tagged)

	// A bare IP packet.
	ip := f[header.EthernetLen:]
	p = inBuffer(ip, 128, 64)
	encrypt(t, out, p, 0)
	if p.Bytes()[0]>>4 != 6 {
		t.Fatalf("not IPv6: %x", p.Bytes()[:8])
	}
	if why, _ := decrypt(r.Load(), p, 0, &e); why != OK {
		t.Fatal(why)
	}
	mustEqual(t, "bare packet", p.Bytes(), ip)

	// Ethernet padding after a short packet is not encrypted, and does
	// not come back.
	padded := append(append([]byte(nil), f...), make([]byte, 60-len(f)%60)...)
	p = inBuffer(padded, 128, 64)
	encrypt(t, out, p, header.EthernetLen)
	if why, _ := decrypt(r.Load(), p, header.EthernetLen, &e); why != OK {
		t.Fatal(why)
	}
	mustEqual(t, "padded frame", p.Bytes(), f)
}

// TestTunnelDF: the outer IPv4 DF bit per policy.
func TestTunnelDF(t *testing.T) {
	for _, c := range []struct {
		policy  DFPolicy
		innerDF bool
		v6      bool
		want    bool
	}{
		{DFCopy, true, false, true}, {DFCopy, false, false, false}, {DFCopy, false, true, false},
		{DFSet, false, false, true}, {DFSet, false, true, true}, {DFClear, true, false, false},
	} {
		oc, _ := pairConfig(AESGCM128, Tunnel, false, false)
		oc.DF = c.policy
		var r Registry
		out, err := r.Add(oc)
		if err != nil {
			t.Fatal(err)
		}
		f := frame(t, c.v6, false, 20)
		if !c.v6 && !c.innerDF {
			ip := header.IPv4(f[header.EthernetLen:])
			ip.SetFlagsFragOffset(0, 0)
			checksum.SetIPv4(ip)
		}
		p := inBuffer(f, 128, 64)
		encrypt(t, out, p, header.EthernetLen)
		outer := header.IPv4(p.Bytes()[header.EthernetLen:])
		if got := outer.Flags()&header.IPv4FlagDF != 0; got != c.want {
			t.Errorf("%v, inner DF %v, inner v6 %v: outer DF %v", c.policy, c.innerDF, c.v6, got)
		}
	}
}

// TestTransportIPv4Options: ESP goes after the options, which stay.
func TestTransportIPv4Options(t *testing.T) {
	r, out, _ := pair(t, AESCBC256SHA256, Transport, false, true)
	ip := &layers.IPv4{Version: 4, TTL: 9, Protocol: layers.IPProtocolUDP, SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2},
		Options: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}}
	udp := &layers.UDP{SrcPort: 5, DstPort: 6}
	_ = udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		ip, udp, gopacket.Payload("options stay in front")); err != nil {
		t.Fatal(err)
	}
	orig := buf.Bytes()
	p := inBuffer(orig, 64, 64)
	encrypt(t, out, p, 0)
	h := header.IPv4(p.Bytes())
	if h.HeaderLen() != 24 || h.Protocol() != header.ProtoESP || checksum.VerifyIPv4(h) != checksum.Good {
		t.Fatalf("header %x", p.Bytes()[:24])
	}
	mustEqual(t, "options", h.Options(), orig[20:24])
	if why, _ := decrypt(r.Load(), p, 0, nil); why != OK {
		t.Fatal(why)
	}
	mustEqual(t, "packet", p.Bytes(), orig)
}

// TestDecapIPv6ExtHeaders: a received transport-mode packet with a
// Destination Options header before ESP keeps it, and the right next
// header byte is rewritten.
func TestDecapIPv6ExtHeaders(t *testing.T) {
	r, out, _ := pair(t, AESGCM256, Transport, false, false)
	f := frame(t, true, false, 30)
	p := inBuffer(f, 64, 64)
	encrypt(t, out, p, header.EthernetLen)
	// Insert an 8-byte Destination Options header (PadN) after the IPv6
	// header.
	b := p.Bytes()
	ext := []byte{header.ProtoESP, 0, 1, 4, 0, 0, 0, 0}
	nb := append(append(append([]byte(nil), b[:header.EthernetLen+header.IPv6Len]...), ext...), b[header.EthernetLen+header.IPv6Len:]...)
	ip := header.IPv6(nb[header.EthernetLen:])
	ip.SetNextHeader(header.ProtoDestOpts)
	ip.SetPayloadLen(ip.PayloadLen() + 8)
	p = inBuffer(nb, 64, 64)
	if why, _ := decrypt(r.Load(), p, header.EthernetLen, nil); why != OK {
		t.Fatal(why)
	}
	got := p.Bytes()
	ip = header.IPv6(got[header.EthernetLen:])
	if ip.NextHeader() != header.ProtoDestOpts || got[header.EthernetLen+header.IPv6Len] != header.ProtoUDP ||
		int(ip.PayloadLen()) != len(f)-header.EthernetLen-header.IPv6Len+8 {
		t.Fatalf("after decap: %x", got[:header.EthernetLen+header.IPv6Len+8])
	}
	mustEqual(t, "payload", got[header.EthernetLen+header.IPv6Len+8:], f[header.EthernetLen+header.IPv6Len:])
}
