package offload_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload/assembly"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
	"github.com/offloadpmd/offloadpmd/offload/segment"
)

// superPacket builds a large TCP or UDP packet with gopacket.
func superPacket(t *testing.T, v6, udp bool, payload []byte) []byte {
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
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: 1000, Flags: layers.IPv4DontFragment, Protocol: proto,
			SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		if udp {
			ip.Flags = 0
		}
		nl, l3 = ip, ip
	}
	var l4 gopacket.SerializableLayer
	if udp {
		u := &layers.UDP{SrcPort: 4000, DstPort: 30000}
		_ = u.SetNetworkLayerForChecksum(nl)
		l4 = u
	} else {
		tc := &layers.TCP{SrcPort: 4000, DstPort: 5201, Seq: 12345, Ack: 999, ACK: true, PSH: true, Window: 512,
			Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 1, 0, 0, 0, 2, 0}}}}
		_ = tc.SetNetworkLayerForChecksum(nl)
		l4 = tc
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, l3, l4, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// naiveL4OK verifies a frame's TCP/UDP checksum with RFC 1071 written out,
// independently of package checksum.
func naiveL4OK(f []byte, l *header.Layout) bool {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	ip := f[l.L3Off():]
	if l.L3 == header.L3IPv6 {
		add(ip[8:40])
	} else {
		add(ip[12:20])
	}
	n := l.PktLen - l.L4Off()
	sum += uint32(l.L4Proto) + uint32(n)
	add(f[l.L4Off():l.PktLen])
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum == 0xffff
}

func payloadOf(t *testing.T, f []byte) []byte {
	t.Helper()
	l, m := header.Parse(f)
	if m != header.OK {
		t.Fatalf("output does not parse: %v", m)
	}
	if !naiveL4OK(f, &l) {
		t.Fatalf("output checksum does not verify")
	}
	return f[l.PayloadOff():l.PktLen]
}

// split cuts a frame into a random scatter list, headers in the first.
func split(r *rand.Rand, f []byte, hdrs int) [][]byte {
	segs := [][]byte{f[:hdrs+r.IntN(100)]}
	for rest := f[len(segs[0]):]; len(rest) > 0; {
		n := min(1+r.IntN(3000), len(rest))
		segs = append(segs, rest[:n])
		rest = rest[n:]
	}
	return segs
}

// TestSegmentThenAssemble: TSO then TCP GRO, and USO then UDP GRO, give
// back one packet with the original payload byte for byte and valid
// checksums; the assembled packet says what segment size it came from.
func TestSegmentThenAssemble(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name    string
		v6, udp bool
		kind    segment.Kind
		mss     int
	}{
		{"tso4", false, false, segment.TSO, 1448},
		{"tso6", true, false, segment.TSO, 1428},
		{"uso4", false, true, segment.USO, 1472},
		{"uso6", true, true, segment.USO, 1452},
	} {
		t.Run(c.name, func(t *testing.T) {
			payload := make([]byte, 60000+r.IntN(3000))
			for i := range payload {
				payload[i] = byte(r.Uint32())
			}
			f := superPacket(t, c.v6, c.udp, payload)
			l, m := header.Parse(f)
			if m != header.OK {
				t.Fatal(m)
			}
			segs := split(r, f, l.PayloadOff())
			req := &segment.Request{Kind: c.kind, SegSize: c.mss, MTU: 1500, IPv4Csum: segment.Software, L4Csum: segment.Software}
			n, why := segment.Count(segs, &l, req)
			if why != segment.OK {
				t.Fatalf("count: %v", why)
			}
			bufs := make([][]byte, n)
			for i := range bufs {
				bufs[i] = make([]byte, 1514+8)
			}
			out := make([]segment.Seg, n)
			if _, why := segment.Frames(segs, &l, req, bufs, out); why != segment.OK {
				t.Fatalf("frames: %v", why)
			}
			var store pkt.SliceStore
			g, err := assembly.NewGRO(&store, assembly.DefaultGROConfig())
			if err != nil {
				t.Fatal(err)
			}
			in := make([]assembly.Input, n)
			var rebuilt []byte
			for i := range out {
				fr := bufs[i][:out[i].Len()]
				rebuilt = append(rebuilt, payloadOf(t, fr)...)
				pl, _ := header.Parse(fr)
				in[i] = assembly.Input{Pkt: store.Put(append([]byte(nil), fr...)), L4Csum: checksum.VerifyL4([][]byte{fr}, &pl)}
			}
			if !bytes.Equal(rebuilt, payload) {
				t.Fatal("the segments' payloads do not rebuild the input")
			}
			v := make([]assembly.Verdict, n)
			res := make([]assembly.Output, 2*n)
			k := g.Receive(0, in, v, res)
			k += g.FlushAll(res[k:])
			var merged []byte
			for _, o := range res[:k] {
				fr := store.Bytes(o.Pkt)
				merged = append(merged, payloadOf(t, fr)...)
				if k == 1 && int(o.SegSize) != c.mss {
					t.Errorf("assembled from segments of %d, want %d", o.SegSize, c.mss)
				}
				store.Free(o.Pkt)
			}
			if !bytes.Equal(merged, payload) {
				t.Fatalf("assembled payload differs (%d outputs)", k)
			}
			if k != 1 && !(c.udp && k <= 2) {
				t.Errorf("%d outputs for one super-packet", k)
			}
			if store.Live() != 0 {
				t.Errorf("%d packets leaked in the store", store.Live())
			}
		})
	}
}

// TestFragmentThenReassemble: UFO then reassembly gives back the original
// datagram byte for byte, checksum and all.
func TestFragmentThenReassemble(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, v6 := range []bool{false, true} {
		payload := make([]byte, 20000+r.IntN(2000))
		for i := range payload {
			payload[i] = byte(r.Uint32())
		}
		f := superPacket(t, v6, true, payload)
		l, _ := header.Parse(f)
		req := &segment.Request{Kind: segment.UFO, SegSize: 1448, MTU: 1500, FragID: 77, IPv4Csum: segment.Software, L4Csum: segment.Keep}
		n, why := segment.Count([][]byte{f}, &l, req)
		if why != segment.OK {
			t.Fatalf("v6=%v: %v", v6, why)
		}
		bufs := make([][]byte, n)
		for i := range bufs {
			bufs[i] = make([]byte, 1600)
		}
		out := make([]segment.Seg, n)
		if _, why := segment.Frames([][]byte{f}, &l, req, bufs, out); why != segment.OK {
			t.Fatal(why)
		}
		var store pkt.SliceStore
		re, err := assembly.NewReassembler(&store, assembly.DefaultReassemblyConfig())
		if err != nil {
			t.Fatal(err)
		}
		in := make([]assembly.Input, n)
		for i, j := range r.Perm(n) { // any order
			in[i] = assembly.Input{Pkt: store.Put(append([]byte(nil), bufs[j][:out[j].Len()]...))}
		}
		v := make([]assembly.Verdict, n)
		res := make([]assembly.Output, n)
		k := re.Receive(0, in, v, res)
		if k != 1 {
			t.Fatalf("v6=%v: %d datagrams out of %d fragments", v6, k, n)
		}
		got := store.Bytes(res[0].Pkt)
		if v6 {
			// The reassembled datagram is the original: same IPv6 header
			// (payload length fixed, Fragment header removed), same UDP.
			if !bytes.Equal(got, f) {
				t.Fatalf("v6: reassembled datagram differs from the original")
			}
		} else {
			// IPv4: the original's ID and checksum stay; compare all but
			// the fields fragmentation may rewrite and reassembly restores.
			if !bytes.Equal(got[34:], f[34:]) || binary.BigEndian.Uint16(got[16:]) != binary.BigEndian.Uint16(f[16:]) {
				t.Fatalf("v4: reassembled datagram differs from the original")
			}
		}
		pl, _ := header.Parse(got)
		if !naiveL4OK(got, &pl) {
			t.Fatal("reassembled UDP checksum does not verify")
		}
		store.Free(res[0].Pkt)
		if store.Live() != 0 {
			t.Errorf("%d packets leaked", store.Live())
		}
	}
}
