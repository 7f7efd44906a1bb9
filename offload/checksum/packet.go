package checksum

import (
	"encoding/binary"
	"math/bits"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

var be = binary.BigEndian

// PseudoIPv4 is the sum of the IPv4 pseudo-header for an upper-layer
// segment of l4len bytes (RFC 9293 §3.1, RFC 768).
func PseudoIPv4(ip header.IPv4, proto uint8, l4len int) uint16 {
	// The 8 address bytes as four 16-bit words, inline: Sum's call and
	// loop cost more than the sum for so few, and wider loads may
	// straddle a fresh copy's stores (see VerifyIPv4).
	a := ip.Addrs()
	_ = a[7]
	s := bits.ReverseBytes16(fold(uint64(le.Uint16(a[0:])) + uint64(le.Uint16(a[2:])) +
		uint64(le.Uint16(a[4:])) + uint64(le.Uint16(a[6:]))))
	return Add(Add(s, uint16(proto)), uint16(l4len))
}

// PseudoIPv6 is the sum of the IPv6 pseudo-header (RFC 8200 §8.1). The
// length is 32 bits; segments here are under 64 KiB.
func PseudoIPv6(ip header.IPv6, proto uint8, l4len int) uint16 {
	s := Sum(ip.Addrs(), 0)
	s = Add(s, uint16(uint32(l4len)>>16))
	s = Add(s, uint16(l4len))
	return Add(s, uint16(proto))
}

// Pseudo is the pseudo-header sum of the frame's L4 segment of l4len bytes.
func Pseudo(frame []byte, l *header.Layout, l4len int) uint16 {
	ip := frame[l.L3Off():]
	if l.L3 == header.L3IPv6 {
		return PseudoIPv6(header.IPv6(ip), l.L4Proto, l4len)
	}
	return PseudoIPv4(header.IPv4(ip), l.L4Proto, l4len)
}

// SetIPv4 computes and writes an IPv4 header checksum.
func SetIPv4(ip header.IPv4) {
	ip.SetChecksum(0)
	ip.SetChecksum(^Sum(ip[:ip.HeaderLen()], 0))
}

// VerifyIPv4 checks an IPv4 header checksum.
func VerifyIPv4(ip header.IPv4) Status {
	var s uint16
	if n := ip.HeaderLen(); n == header.IPv4MinLen && len(ip) >= n {
		// No options, the usual header: ten 16-bit words inline. The
		// sum's byte order does not matter against 0xffff. 16-bit
		// loads, not wider: a header usually starts 2 bytes into a
		// 4-byte word (after 14 bytes of Ethernet), and when the frame
		// was just written (copied in by a PMD) a load that straddles
		// two of the copy's pending stores waits for both to commit,
		// where one within a store is forwarded from it.
		_ = ip[19]
		s = fold(uint64(le.Uint16(ip[0:])) + uint64(le.Uint16(ip[2:])) + uint64(le.Uint16(ip[4:])) +
			uint64(le.Uint16(ip[6:])) + uint64(le.Uint16(ip[8:])) + uint64(le.Uint16(ip[10:])) +
			uint64(le.Uint16(ip[12:])) + uint64(le.Uint16(ip[14:])) + uint64(le.Uint16(ip[16:])) +
			uint64(le.Uint16(ip[18:])))
	} else {
		s = Sum(ip[:n], 0)
	}
	if s == 0xffff {
		return Good
	}
	return Bad
}

// l4Field is the offset of the checksum field in the L4 header, or -1 for
// protocols without one we handle.
func l4Field(proto uint8) int {
	switch proto {
	case header.ProtoTCP:
		return header.TCPChecksumOff
	case header.ProtoUDP:
		return header.UDPChecksumOff
	}
	return -1
}

// SetL4 computes the TCP or UDP checksum of a frame whose headers and
// payload are in segs (headers in segs[0], as DPDK requires), pseudo-header
// included, and writes it. A UDP checksum of 0 is sent as 0xffff (RFC 768).
// It reports false, changing nothing, for other protocols and fragments.
func SetL4(segs [][]byte, l *header.Layout) bool {
	off := l4Field(l.L4Proto)
	if off < 0 || l.Fragment || l.L4Len == 0 {
		return false
	}
	l4len := l.PktLen - l.L4Off()
	field := segs[0][l.L4Off()+off:]
	be.PutUint16(field, 0)
	s := Pseudo(segs[0], l, l4len)
	s = SumRange(segs, l.L4Off(), l.PktLen, s)
	c := ^s
	if c == 0 && l.L4Proto == header.ProtoUDP {
		c = 0xffff
	}
	be.PutUint16(field, c)
	return true
}

// VerifyL4 checks a frame's TCP or UDP checksum. UDP over IPv4 with
// checksum 0 (not computed by the sender) is Good; over IPv6 it is Bad
// (RFC 8200 §8.1 makes it mandatory).
func VerifyL4(segs [][]byte, l *header.Layout) Status {
	off := l4Field(l.L4Proto)
	if off < 0 || l.Fragment || l.L4Len == 0 {
		return Unknown
	}
	if l.L4Proto == header.ProtoUDP && be.Uint16(segs[0][l.L4Off()+off:]) == 0 {
		if l.L3 == header.L3IPv4 {
			return Good
		}
		return Bad
	}
	s := Pseudo(segs[0], l, l.PktLen-l.L4Off())
	if SumRange(segs, l.L4Off(), l.PktLen, s) == 0xffff {
		return Good
	}
	return Bad
}

// PreparePseudo writes the pseudo-header sum (not complemented) into the L4
// checksum field: what a NIC doing L4 checksums expects, DPDK's
// rte_net_intel_cksum_prepare contract. For TSO the length is left out, as
// the device adds each segment's.
func PreparePseudo(frame []byte, l *header.Layout, tso bool) bool {
	off := l4Field(l.L4Proto)
	if off < 0 || l.Fragment || l.L4Len == 0 {
		return false
	}
	l4len := l.PktLen - l.L4Off()
	if tso {
		l4len = 0
	}
	be.PutUint16(frame[l.L4Off()+off:], Pseudo(frame, l, l4len))
	return true
}

// Complete finishes a partial checksum whose field already holds the
// pseudo-header sum: the folded sum from start to end is complemented into
// the field at start+offset. This is virtio's NEEDS_CSUM (csum_start,
// csum_offset) and, with start and offset from the L4 header, DPDK's
// prepared checksum. end is the packet's length across segs. It reports
// false if the field does not lie in segs[0] after start.
func Complete(segs [][]byte, start, offset, end int) bool {
	if start < 0 || offset < 0 || start+offset+2 > len(segs[0]) || start+offset+2 > end {
		return false
	}
	s := SumRange(segs, start, end, 0)
	be.PutUint16(segs[0][start+offset:], ^s)
	return true
}

// sumRange sums bytes [from, to) of the scatter list, added to initial.
func SumRange(segs [][]byte, from, to int, initial uint16) uint16 {
	s := initial
	pos := 0
	odd := false
	for _, seg := range segs {
		if pos >= to {
			break
		}
		a, b := max(from-pos, 0), min(to-pos, len(seg))
		if a < b {
			v := Sum(seg[a:b], 0)
			if odd {
				v = swap(v)
			}
			s = Add(s, v)
			if (b-a)%2 == 1 {
				odd = !odd
			}
		}
		pos += len(seg)
	}
	return s
}

func swap(v uint16) uint16 { return v<<8 | v>>8 }
