package checksum

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// frame builds a packet with gopacket, checksums computed by gopacket.
func frame(t testing.TB, v6, udp bool, payload int, withExt bool) []byte {
	t.Helper()
	var ls []gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	if v6 {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
		ls = append(ls, &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv6}, ip)
		nl = ip
		proto := layers.IPProtocolTCP
		if udp {
			proto = layers.IPProtocolUDP
		}
		if withExt {
			ip.NextHeader = layers.IPProtocolIPv6Destination
			d := &layers.IPv6Destination{}
			d.NextHeader = proto
			d.Options = []*layers.IPv6DestinationOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
			ls = append(ls, d)
		} else {
			ip.NextHeader = proto
		}
	} else {
		ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{198, 51, 100, 7}, Protocol: layers.IPProtocolTCP}
		if udp {
			ip.Protocol = layers.IPProtocolUDP
		}
		ls = append(ls, &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}, ip)
		nl = ip
	}
	if udp {
		u := &layers.UDP{SrcPort: 1234, DstPort: 30000}
		_ = u.SetNetworkLayerForChecksum(nl)
		ls = append(ls, u)
	} else {
		tc := &layers.TCP{SrcPort: 1234, DstPort: 80, Seq: 99, ACK: true, Window: 1000, PSH: true}
		_ = tc.SetNetworkLayerForChecksum(nl)
		ls = append(ls, tc)
	}
	p := make([]byte, payload)
	for i := range p {
		p[i] = byte(i*13 + 7)
	}
	ls = append(ls, gopacket.Payload(p))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// split cuts b into segments at random points, some of odd length.
func split(r *rand.Rand, b []byte, first int) [][]byte {
	segs := [][]byte{b[:first]}
	for rest := b[first:]; len(rest) > 0; {
		n := min(1+r.IntN(300), len(rest))
		segs = append(segs, rest[:n])
		rest = rest[n:]
	}
	return segs
}

type variant struct {
	v6, udp, ext bool
}

var variants = []variant{{false, false, false}, {false, true, false}, {true, false, false}, {true, true, false}, {true, false, true}, {true, true, true}}

// TestL4AgainstGopacket: gopacket's checksums verify with ours, and ours,
// recomputed over a random scatter list, equal gopacket's.
func TestL4AgainstGopacket(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, v := range variants {
		for _, n := range []int{0, 1, 2, 3, 17, 1400, 1401, 9000} {
			f := frame(t, v.v6, v.udp, n, v.ext)
			l, m := header.Parse(f)
			if m != header.OK {
				t.Fatalf("%+v %d: %v", v, n, m)
			}
			segs := split(r, f, l.PayloadOff()+r.IntN(n+1))
			if st := VerifyL4(segs, &l); st != Good {
				t.Fatalf("%+v %d: gopacket's checksum verifies %v", v, n, st)
			}
			field := l.L4Off() + l4Field(l.L4Proto)
			want := binary.BigEndian.Uint16(f[field:])
			f[field], f[field+1] = 0x12, 0x34
			if st := VerifyL4(segs, &l); st != Bad {
				t.Fatalf("%+v %d: corrupted checksum verifies %v", v, n, st)
			}
			SetL4(segs, &l)
			if got := binary.BigEndian.Uint16(f[field:]); got != want {
				t.Fatalf("%+v payload %d: SetL4 %#04x, gopacket %#04x", v, n, got, want)
			}
			if !v.v6 {
				ip := header.IPv4(f[l.L3Off():])
				if VerifyIPv4(ip) != Good {
					t.Fatalf("IPv4 header checksum")
				}
				c := ip.Checksum()
				SetIPv4(ip)
				if ip.Checksum() != c {
					t.Fatalf("SetIPv4 %#04x, gopacket %#04x", ip.Checksum(), c)
				}
			}
		}
	}
}

// TestPartialCompletion: DPDK's pseudo-header contract and virtio's
// csum_start/csum_offset both complete to the full checksum.
func TestPartialCompletion(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, v := range variants {
		f := frame(t, v.v6, v.udp, 777, v.ext)
		l, _ := header.Parse(f)
		field := l.L4Off() + l4Field(l.L4Proto)
		want := binary.BigEndian.Uint16(f[field:])
		if !PreparePseudo(f, &l, false) {
			t.Fatal("prepare refused")
		}
		if binary.BigEndian.Uint16(f[field:]) != Pseudo(f, &l, l.PktLen-l.L4Off()) {
			t.Fatal("prepared field is not the pseudo-header sum")
		}
		segs := split(r, f, l.PayloadOff()+100)
		if !Complete(segs, l.L4Off(), l4Field(l.L4Proto), l.PktLen) {
			t.Fatal("complete refused")
		}
		if got := binary.BigEndian.Uint16(f[field:]); got != want {
			t.Fatalf("%+v: completed %#04x, want %#04x", v, got, want)
		}
	}
	f := frame(t, false, false, 10, false)
	if Complete([][]byte{f}, len(f)-1, 0, len(f)) || Complete([][]byte{f}, 0, len(f), len(f)) || Complete([][]byte{f}, -1, 0, len(f)) {
		t.Fatal("a csum_start/csum_offset outside the packet was accepted")
	}
}

func TestUDPZeroChecksum(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		f := frame(t, v6, true, 20, false)
		l, _ := header.Parse(f)
		header.UDP(f[l.L4Off():]).SetChecksum(0)
		want := Good
		if v6 {
			want = Bad
		}
		if got := VerifyL4([][]byte{f}, &l); got != want {
			t.Errorf("v6=%v: UDP checksum 0 verifies %v, want %v", v6, got, want)
		}
	}
}

// TestUpdate: RFC 1624 incremental updates equal recomputation.
func TestUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	b := make([]byte, 64)
	for range 10000 {
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		c := Checksum(b)
		i := 2 * r.IntN(31)
		old := binary.BigEndian.Uint32(b[i:])
		nw := r.Uint32()
		binary.BigEndian.PutUint32(b[i:], nw)
		if got, want := Update32(c, old, nw), Checksum(b); got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
			t.Fatalf("Update32 %#04x, recomputed %#04x", got, want)
		}
	}
}

func TestSumChainOddSegments(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	b := make([]byte, 4000)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for range 500 {
		segs := split(r, b, r.IntN(60))
		if got, want := SumChain(segs, 0), naive(b, 0); got != want {
			t.Fatalf("chain %#04x, flat %#04x", got, want)
		}
	}
}

func TestNoAllocations(t *testing.T) {
	f := frame(t, true, false, 1400, true)
	l, _ := header.Parse(f)
	segs := [][]byte{f[:200], f[200:]}
	if n := testing.AllocsPerRun(100, func() {
		SetL4(segs, &l)
		_ = VerifyL4(segs, &l)
		_ = Sum(f, 0)
	}); n != 0 {
		t.Fatalf("%.1f allocations", n)
	}
}

func FuzzComplete(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5}, 1, 2)
	f.Fuzz(func(t *testing.T, b []byte, start, off int) {
		if len(b) == 0 {
			return
		}
		_ = Complete([][]byte{b}, start, off, len(b))
	})
}

// TestIPv4InlineSums: VerifyIPv4's and PseudoIPv4's inline sums of an
// option-less header agree with Sum over the same bytes, for random
// headers (half of them with a valid checksum) and the all-zero and
// all-ones edge cases.
func TestIPv4InlineSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 20))
	for i := range 20000 {
		h := make([]byte, 20)
		switch i {
		case 0:
		case 1:
			for k := range h {
				h[k] = 0xff
			}
		default:
			for k := range h {
				h[k] = byte(rng.Uint32())
			}
		}
		h[0] = 0x45
		if i%2 == 0 {
			h[10], h[11] = 0, 0
			be.PutUint16(h[10:], ^Sum(h, 0))
		}
		want := Bad
		if Sum(h, 0) == 0xffff {
			want = Good
		}
		if got := VerifyIPv4(header.IPv4(h)); got != want {
			t.Fatalf("header % x: VerifyIPv4 %v, Sum says %v", h, got, want)
		}
		proto, l4len := uint8(rng.Uint32()), int(rng.Uint32N(65536))
		wantP := Add(Add(Sum(h[12:20], 0), uint16(proto)), uint16(l4len))
		if got := PseudoIPv4(header.IPv4(h), proto, l4len); got != wantP {
			t.Fatalf("header % x: PseudoIPv4 %#04x, by Sum %#04x", h, got, wantP)
		}
	}
}
