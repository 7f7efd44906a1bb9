package offload

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// pkt builds a frame with gopacket: IPv4 or IPv6, TCP (with an MSS option)
// or UDP, payload bytes.
func pkt(t testing.TB, v6, udp bool, payload int, df bool) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
	var nl gopacket.NetworkLayer
	var l3 gopacket.SerializableLayer
	proto := layers.IPProtocolTCP
	if udp {
		proto = layers.IPProtocolUDP
	}
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
		nl, l3 = ip, ip
	} else {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		if df {
			ip.Flags = layers.IPv4DontFragment
		}
		nl, l3 = ip, ip
	}
	var l4 gopacket.SerializableLayer
	if udp {
		u := &layers.UDP{SrcPort: 5000, DstPort: 30000}
		_ = u.SetNetworkLayerForChecksum(nl)
		l4 = u
	} else {
		tc := &layers.TCP{SrcPort: 5000, DstPort: 80, Seq: 1, ACK: true, Window: 100,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}}}}
		_ = tc.SetNetworkLayerForChecksum(nl)
		l4 = tc
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, l3, l4, gopacket.Payload(make([]byte, payload))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// req builds the request a DPDK application would set for frame.
func req(t testing.TB, frame []byte, flags uint64, segsz uint16) Request {
	l, m := header.Parse(frame)
	if m != header.OK {
		t.Fatal(m)
	}
	return Request{OlFlags: flags, L2Len: uint16(l.L2Len), L3Len: uint16(l.L3Len), L4Len: uint16(l.L4Len), TSOSegsz: segsz}
}

func enabled(t testing.TB) *Table {
	tab, err := netTap().Apply(Change{EnableTx: TxIPv4Cksum | TxTCPCksum | TxUDPCksum | TxTCPTSO | TxTCPTSO6 | TxUDPTSO | TxUDPTSO6 | TxUFO})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

type stepWant struct {
	task Task
	v    Verdict
}

func TestDecodeBatches(t *testing.T) {
	tab := enabled(t)
	tso4 := pkt(t, false, false, 64000, false)
	tso6 := pkt(t, true, false, 64000, false)
	udp4 := pkt(t, false, true, 30000, false)
	udp6df := pkt(t, true, true, 30000, false)
	small := pkt(t, false, false, 100, false)
	cases := []struct {
		name  string
		frame []byte
		r     Request
		want  []stepWant
	}{
		{"no request", small, req(t, small, 0, 0), nil},
		{"checksums in hardware", small, req(t, small, OlTxIPv4|OlTxIPCksum|OlTxTCPCksum, 0),
			[]stepWant{{TaskIPv4Cksum, Hardware}, {TaskL4Cksum, Hardware}}},
		{"tso ipv4: the device does it all", tso4, req(t, tso4, OlTxIPv4|OlTxIPCksum|OlTxTCPCksum|OlTxTCPSeg, 1448),
			[]stepWant{{TaskTSO, Hardware}, {TaskIPv4Cksum, Hardware}, {TaskL4Cksum, Hardware}}},
		{"tso ipv6: software segments, device checksums", tso6, req(t, tso6, OlTxIPv6|OlTxTCPCksum|OlTxTCPSeg, 1428),
			[]stepWant{{TaskTSO, Software}, {TaskL4Cksum, Hardware}}},
		{"uso ipv4", udp4, req(t, udp4, OlTxIPv4|OlTxUDPCksum|OlTxUDPSeg, 1472),
			[]stepWant{{TaskUSO, Software}, {TaskIPv4Cksum, Hardware}, {TaskL4Cksum, Hardware}}},
		{"ufo ipv6", udp6df, func() Request { r := req(t, udp6df, OlTxIPv6, 1448); r.UFO = true; return r }(),
			[]stepWant{{TaskUFO, Software}, {TaskL4Cksum, Hardware}}},
		{"digest alone", small, digestReq(req(t, small, 0, 0)), []stepWant{{TaskDigest, Software}}},
		{"digest before the checksums, encryption last", small,
			digestReq(req(t, small, OlTxIPv4|OlTxIPCksum|OlTxTCPCksum|OlTxSecOffload, 0)),
			[]stepWant{{TaskDigest, Software}, {TaskIPv4Cksum, Hardware}, {TaskL4Cksum, Hardware}, {TaskESPEncrypt, Software}}},
	}
	tab, err := tab.Apply(Change{EnableTx: TxDigest | TxESPEncrypt})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var b Batch
		DecodeFor(&c.r, c.frame, len(c.frame), 1500, tab, &b)
		if r, _ := b.Refused(); r != RefusalNone {
			t.Errorf("%s: refused %v (%v)", c.name, r, b.Malformed)
			continue
		}
		if b.N != len(c.want) {
			t.Errorf("%s: %d steps %+v, want %v", c.name, b.N, b.Tasks(), c.want)
			continue
		}
		for i, w := range c.want {
			if s := b.Steps[i]; s.Task != w.task || s.Verdict != w.v {
				t.Errorf("%s: step %d is %v by %v, want %v by %v", c.name, i, s.Task, s.Verdict, w.task, w.v)
			}
		}
	}
}

func TestDecodeRefusals(t *testing.T) {
	tab := enabled(t)
	v4 := pkt(t, false, false, 3000, false)
	v6 := pkt(t, true, false, 3000, false)
	u4df := pkt(t, false, true, 3000, true)
	mod := func(f []byte, r Request, edit func(*Request)) Request { edit(&r); return r }
	base4 := req(t, v4, OlTxIPv4|OlTxIPCksum|OlTxTCPCksum|OlTxTCPSeg, 1448)
	cases := []struct {
		name  string
		frame []byte
		pkt   int
		mtu   int
		table *Table
		r     Request
		want  Refusal
	}{
		{"ip cksum on ipv6", v6, 0, 1500, tab, req(t, v6, OlTxIPv6|OlTxIPCksum, 0), RefIPCksumOnIPv6},
		{"l4 without ip type", v4, 0, 1500, tab, req(t, v4, OlTxTCPCksum, 0), RefNoIPType},
		{"tso segsz 0", v4, 0, 1500, tab, mod(v4, base4, func(r *Request) { r.TSOSegsz = 0 }), RefTSOSegszZero},
		{"tso ipv4 without ip cksum", v4, 0, 1500, tab, req(t, v4, OlTxIPv4|OlTxTCPCksum|OlTxTCPSeg, 1448), RefTSOIPv4NoIPCksum},
		{"outer ip cksum, not ipv4", v4, 0, 1500, tab, req(t, v4, OlTxIPv4|OlTxOuterIPCksum, 0), RefOuterIPCksumNotIPv4},
		{"tunnel", v4, 0, 1500, tab, req(t, v4, OlTxIPv4|OlTxTunnelMask&(1<<45), 0), RefTunnelUnsupported},
		{"sctp", v4, 0, 1500, tab, req(t, v4, OlTxIPv4|OlTxSCTPCksum, 0), RefSCTPUnsupported},
		{"says ipv6, is ipv4", v4, 0, 1500, tab, req(t, v4, OlTxIPv6|OlTxTCPCksum, 0), RefIPTypeMismatch},
		{"says udp, is tcp", v4, 0, 1500, tab, req(t, v4, OlTxIPv4|OlTxUDPCksum, 0), RefL4TypeMismatch},
		{"l2 len wrong", v4, 0, 1500, tab, mod(v4, base4, func(r *Request) { r.L2Len = 18 }), RefL2LenMismatch},
		{"l3 len wrong", v4, 0, 1500, tab, mod(v4, base4, func(r *Request) { r.L3Len = 24 }), RefL3LenMismatch},
		{"l4 len wrong", v4, 0, 1500, tab, mod(v4, base4, func(r *Request) { r.L4Len = 20 }), RefL4LenMismatch},
		{"lengths beyond the first segment", v4[:300], len(v4), 1500, tab, mod(v4, base4, func(r *Request) { r.L4Len = 255; r.L3Len = 511 }), RefLengthsBeyondPacket},
		{"chained: headers in the first segment, the rest beyond", v4[:100], len(v4), 1500, enabled(t), base4, RefusalNone},
		{"segsz beyond mtu", v4, 0, 1500, tab, mod(v4, base4, func(r *Request) { r.TSOSegsz = 1480 }), RefSegszExceedsMTU},
		{"tso on udp", u4df, 0, 1500, tab, req(t, u4df, OlTxIPv4|OlTxIPCksum|OlTxTCPSeg, 1000), RefSegNotTCP},
		{"uso on tcp", v4, 0, 1500, tab, req(t, v4, OlTxIPv4|OlTxUDPSeg, 1000), RefSegNotUDP},
		{"ufo with DF", u4df, 0, 1500, tab, func() Request { r := req(t, u4df, OlTxIPv4, 1000); r.UFO = true; return r }(), RefUFODontFragment},
		{"two segmentations", v4, 0, 1500, tab, mod(v4, base4, func(r *Request) { r.OlFlags |= OlTxUDPSeg }), RefSeveralSegmentations},
		{"truncated headers", v4[:40], 0, 1500, tab, base4, RefMalformed},
		{"tso not enabled", v4, 0, 1500, netTap(), base4, RefDisabled},
		{"digest and tso", v4, 0, 1500, tab, digestReq(base4), RefDigestSegmentation},
		{"digest and ufo", u4df, 0, 1500, tab, func() Request { r := req(t, u4df, OlTxIPv4, 1000); r.UFO, r.Digest = true, true; return r }(), RefDigestSegmentation},
		{"digest not enabled", v4, 0, 1500, tab, digestReq(req(t, v4, 0, 0)), RefDisabled},
		{"digest, l2 len wrong", v4, 0, 1500, tab, digestReq(Request{L2Len: 18}), RefL2LenMismatch},
		{"digest, truncated headers", v4[:40], 0, 1500, tab, digestReq(req(t, v4, 0, 0)), RefMalformed},
	}
	for _, c := range cases {
		pl := c.pkt
		if pl == 0 {
			pl = len(c.frame)
		}
		var b Batch
		DecodeFor(&c.r, c.frame, pl, c.mtu, c.table, &b)
		got, step := b.Refused()
		if got != c.want {
			t.Errorf("%s: refusal %v, want %v", c.name, got, c.want)
		}
		if c.want == RefDisabled && (step == nil || step.Cap != TxTCPTSO && step.Cap != TxDigest) {
			t.Errorf("%s: the refused step should name tcp_tso or digest: %+v", c.name, step)
		}
	}
}

func digestReq(r Request) Request {
	r.Digest = true
	return r
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	tab := enabled(t)
	f := pkt(t, true, false, 64000, false)
	r := req(t, f, OlTxIPv6|OlTxTCPCksum|OlTxTCPSeg, 1428)
	var b Batch
	if n := testing.AllocsPerRun(100, func() { DecodeFor(&r, f, len(f), 1500, tab, &b) }); n != 0 {
		t.Fatalf("%.1f allocations", n)
	}
}

// FuzzDecode: no request, however odd, makes Decode read past the frame
// or panic; an accepted request is consistent with the frame.
func FuzzDecode(f *testing.F) {
	fr := pkt(f, false, false, 3000, false)
	f.Add(fr, uint64(OlTxIPv4|OlTxIPCksum|OlTxTCPCksum|OlTxTCPSeg), uint16(14), uint16(20), uint16(24), uint16(1448), false, 1500)
	f.Add(pkt(f, true, true, 100, false), uint64(OlTxIPv6|OlTxUDPCksum), uint16(14), uint16(40), uint16(8), uint16(0), true, 9000)
	tab := enabled(f)
	f.Fuzz(func(t *testing.T, frame []byte, flags uint64, l2, l3, l4, segsz uint16, ufo bool, mtu int) {
		r := Request{OlFlags: flags, L2Len: l2, L3Len: l3, L4Len: l4, TSOSegsz: segsz, UFO: ufo}
		var b Batch
		DecodeFor(&r, frame, len(frame), mtu, tab, &b)
		if ref, _ := b.Refused(); ref == RefusalNone && b.N > 0 {
			if int(l2)+int(l3)+int(l4) > len(frame) {
				t.Fatalf("accepted lengths beyond a %d-byte frame", len(frame))
			}
		}
	})
}
