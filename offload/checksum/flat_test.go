package checksum

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// TestFlatMatchesGeneral: the flat fast paths write what SetIPv4 and
// SetL4 write, over IPv4 and IPv6, TCP and UDP, every payload length up
// to 2000 bytes (odd ones included), random contents and all-0xff ones.
func TestFlatMatchesGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, v6 := range []bool{false, true} {
		for _, proto := range []uint8{header.ProtoTCP, header.ProtoUDP} {
			for n := 0; n <= 2000; n++ {
				for _, fill := range []int{-1, 0xff} {
					f := flatFrame(rng, v6, proto, n, fill)
					l, m := header.Parse(f)
					if m != header.OK || l.L4Len == 0 {
						t.Fatalf("test frame does not parse: %v", m)
					}
					want := append([]byte(nil), f...)
					if !v6 {
						SetIPv4(header.IPv4(want[l.L3Off():]))
					}
					SetL4([][]byte{want}, &l)
					got := append([]byte(nil), f...)
					if !v6 {
						SetIPv4NoOptions(got[l.L3Off():])
					}
					SetL4Flat(got[l.L3Off():], got[l.L4Off():l.PktLen], v6, proto)
					if !bytes.Equal(got, want) {
						t.Fatalf("v6 %v proto %d payload %d fill %d: flat checksums differ from SetIPv4/SetL4", v6, proto, n, fill)
					}
				}
			}
		}
	}
}

// flatFrame is an Ethernet frame with an IP header (no options) and a TCP
// (20 bytes) or UDP header and n bytes of payload, random (fill -1) or
// fill; the checksum fields hold garbage.
func flatFrame(rng *rand.Rand, v6 bool, proto uint8, n, fill int) []byte {
	l4 := 20
	if proto == header.ProtoUDP {
		l4 = 8
	}
	l3 := 20
	if v6 {
		l3 = 40
	}
	f := make([]byte, 14+l3+l4+n)
	for i := range f {
		if fill < 0 {
			f[i] = byte(rng.Uint32())
		} else {
			f[i] = byte(fill)
		}
	}
	ip := f[14:]
	if v6 {
		be.PutUint16(f[12:], header.EtherTypeIPv6)
		ip[0] = 0x60
		be.PutUint16(ip[4:], uint16(l4+n))
		ip[6] = proto
	} else {
		be.PutUint16(f[12:], header.EtherTypeIPv4)
		ip[0] = 0x45
		be.PutUint16(ip[2:], uint16(l3+l4+n))
		be.PutUint16(ip[6:], 0) // not a fragment
		ip[9] = proto
	}
	t := f[14+l3:]
	if proto == header.ProtoUDP {
		be.PutUint16(t[4:], uint16(l4+n))
	} else {
		t[12] = 5 << 4
	}
	return f
}
