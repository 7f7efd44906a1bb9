// Package checksum is offloadpmd's checksum engine: the Internet checksum
// (RFC 1071) over flat buffers and scatter lists, pseudo-headers, IPv4
// header checksums, TCP and UDP checksums over IPv4 and IPv6 (extension
// headers included), completion of partial checksums (DPDK's pseudo-header
// contract and virtio's csum_start/csum_offset), incremental updates
// (RFC 1624) and RX verification with DPDK's GOOD/BAD/NONE/UNKNOWN.
//
// Everything works on byte views and allocates nothing.
package checksum

import (
	"encoding/binary"
	"math/bits"
)

var le = binary.LittleEndian

// Sum adds b, as big-endian 16-bit words (an odd last byte padded with
// zero), to the one's-complement sum initial and returns the folded sum.
//
// It adds little-endian words and swaps the folded result: the
// one's-complement sum is independent of byte order up to a final swap
// (RFC 1071 §2(B)), and little-endian loads are plain loads. sum is
// sumGeneric, or an assembly version of it (sum_*.go).
func Sum(b []byte, initial uint16) uint16 { return sum(b, initial) }

// sumGeneric is Sum in Go.
func sumGeneric(b []byte, initial uint16) uint16 {
	return Add(bits.ReverseBytes16(fold(sumLEGeneric(b))), initial)
}

// sumLEGeneric is the 64-bit one's-complement sum of b as little-endian
// words.
//
// The result is 0 only if every byte of b is 0, and it is congruent to the
// sum of b's 16-bit little-endian words modulo 0xffff (2^64-1 is a multiple
// of 0xffff, so the end-around carry at 64 bits keeps that residue). Those
// two facts fix fold's result (fold returns 0 for 0 and a value in
// [1, 0xffff] of the same residue otherwise), so that any other way of
// summing that keeps them folds to the same value, as does its sum with
// end-around carry with any other 64-bit sum (sumLE is such a way).
func sumLEGeneric(b []byte) uint64 {
	var s, c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, le.Uint64(b[0:8]), c)
		s, c = bits.Add64(s, le.Uint64(b[8:16]), c)
		s, c = bits.Add64(s, le.Uint64(b[16:24]), c)
		s, c = bits.Add64(s, le.Uint64(b[24:32]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, le.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		s, c = bits.Add64(s, uint64(le.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		s, c = bits.Add64(s, uint64(le.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		s, c = bits.Add64(s, uint64(b[0]), c)
	}
	s, c = bits.Add64(s, 0, c)
	return s + c // cannot carry again: s+c <= 2^64-1 after the add above
}

// fold reduces a 64-bit one's-complement sum to 16 bits.
func fold(s uint64) uint16 {
	t, c := bits.Add32(uint32(s), uint32(s>>32), 0)
	t += c
	u := t&0xffff + t>>16
	u = u&0xffff + u>>16
	return uint16(u)
}

// Add is one's-complement addition.
func Add(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s + s>>16)
}

// Checksum is the Internet checksum of b: the complement of its sum.
func Checksum(b []byte) uint16 { return ^Sum(b, 0) }

// SumChain sums a scatter list as one buffer: a segment that starts at an
// odd offset of the whole contributes its sum byte-swapped.
func SumChain(segs [][]byte, initial uint16) uint16 {
	s := initial
	odd := false
	for _, seg := range segs {
		v := Sum(seg, 0)
		if odd {
			v = bits.ReverseBytes16(v)
		}
		s = Add(s, v)
		if len(seg)%2 == 1 {
			odd = !odd
		}
	}
	return s
}

// Update16 returns the checksum of data in which one 16-bit word changed
// from old to new, given the checksum before (RFC 1624 eqn. 3:
// HC' = ~(~HC + ~m + m')).
func Update16(csum, old, new uint16) uint16 {
	return ^Add(Add(^csum, ^old), new)
}

// Update32 is Update16 for a 32-bit field (two words).
func Update32(csum uint16, old, new uint32) uint16 {
	csum = Update16(csum, uint16(old>>16), uint16(new>>16))
	return Update16(csum, uint16(old), uint16(new))
}

// Status is DPDK's verdict on a received checksum (RTE_MBUF_F_RX_*_CKSUM_*).
type Status uint8

// Checksum verdicts.
const (
	// Unknown: no information (not IP, not TCP/UDP, a fragment).
	Unknown Status = iota
	// Bad: the checksum in the packet is wrong.
	Bad
	// Good: the checksum in the packet is right.
	Good
	// None: the packet carries no usable checksum but its data is known
	// intact (an IPv4 UDP datagram with checksum 0 counts as Good, as
	// DPDK's tap PMD reports it; None is for callers that know more).
	None
)

func (s Status) String() string {
	switch s {
	case Bad:
		return "bad"
	case Good:
		return "good"
	case None:
		return "none"
	}
	return "unknown"
}
