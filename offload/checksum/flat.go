package checksum

import "math/bits"

// Checksums of packets held in one buffer with the plainest headers, for
// fast paths that checked the headers themselves: each sums in one domain
// (little-endian words, see Sum) and folds once, where the general
// functions build a pseudo-header sum, a range sum and a fold apiece.

// SetIPv4NoOptions computes and writes the checksum of a 20-byte IPv4
// header (IHL 5, which the caller checked).
func SetIPv4NoOptions(ip []byte) {
	_ = ip[19]
	// The old checksum is summed and taken out again (adding its
	// complement) rather than zeroed first: a load spanning bytes just
	// stored one at a time stalls on store forwarding.
	s := uint64(le.Uint32(ip[0:])) + uint64(le.Uint32(ip[4:])) + uint64(le.Uint32(ip[8:])) +
		uint64(le.Uint32(ip[12:])) + uint64(le.Uint32(ip[16:])) + uint64(^le.Uint16(ip[10:]))
	be.PutUint16(ip[10:], ^bits.ReverseBytes16(fold(s)))
}

// SetL4Flat computes and writes the TCP or UDP checksum of a segment held
// in one buffer. ip is its IP header: IPv4, or IPv6 when v6 (the
// addresses are all the pseudo-header takes from it, so IPv6 extension
// headers do not matter, but a routing header's final destination is not
// looked for). l4 is the TCP or UDP header and payload, exactly; proto is
// header.ProtoTCP or header.ProtoUDP. A UDP checksum that comes out 0 is
// sent as 0xffff (RFC 768).
func SetL4Flat(ip, l4 []byte, v6 bool, proto uint8) {
	field := 16 // TCP
	if proto == 17 {
		field = 6
	}
	// The old field is summed and taken out again, as in
	// SetIPv4NoOptions, rather than zeroed first.
	var s, c uint64
	if v6 {
		a := ip[8:40]
		s, c = bits.Add64(le.Uint64(a[0:]), le.Uint64(a[8:]), 0)
		s, c = bits.Add64(s, le.Uint64(a[16:]), c)
		s, c = bits.Add64(s, le.Uint64(a[24:]), c)
		// The 32-bit length's upper half: 0 below 64 KiB.
		s, c = bits.Add64(s, uint64(bits.ReverseBytes16(uint16(uint32(len(l4))>>16))), c)
	} else {
		s = uint64(le.Uint32(ip[12:])) + uint64(le.Uint32(ip[16:]))
	}
	s, c = bits.Add64(s, uint64(bits.ReverseBytes16(uint16(proto)))+uint64(bits.ReverseBytes16(uint16(len(l4))))+uint64(^le.Uint16(l4[field:])), c)
	if len(l4) < 64 {
		// Small segments (a 64-byte frame's UDP datagram) are summed
		// here: the calls into the assembly cost more than the sum.
		b := l4
		for len(b) >= 8 {
			s, c = bits.Add64(s, le.Uint64(b), c)
			b = b[8:]
		}
		var t uint64
		if len(b) >= 4 {
			t = uint64(le.Uint32(b))
			b = b[4:]
		}
		if len(b) >= 2 {
			t += uint64(le.Uint16(b)) << 32
			b = b[2:]
		}
		if len(b) == 1 {
			t += uint64(b[0]) << 48
		}
		s, c = bits.Add64(s, t, c)
	} else {
		s, c = bits.Add64(s, sumLE(l4), c)
	}
	s, c = bits.Add64(s, 0, c)
	v := ^bits.ReverseBytes16(fold(s + c))
	if v == 0 && proto == 17 {
		v = 0xffff
	}
	be.PutUint16(l4[field:], v)
}
