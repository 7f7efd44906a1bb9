// Package checksum computes the Internet checksum (RFC 1071) and its
// incremental update (RFC 1624).
package checksum

import "encoding/binary"

// Sum adds b, as big-endian 16-bit words (an odd last byte padded with
// zero), to the one's-complement sum initial and returns the folded sum.
func Sum(b []byte, initial uint16) uint16 {
	acc := uint64(initial)
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		acc += v >> 32
		acc += v & 0xffffffff
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return fold(acc)
}

func fold(acc uint64) uint16 {
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 16) + (acc & 0xffff)
	acc = (acc >> 16) + (acc & 0xffff)
	acc = (acc >> 16) + (acc & 0xffff)
	return uint16(acc)
}

// Checksum is the Internet checksum of b: the complement of its sum.
func Checksum(b []byte) uint16 { return ^Sum(b, 0) }
