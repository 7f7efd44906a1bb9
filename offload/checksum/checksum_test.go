package checksum

import (
	"math/rand/v2"
	"testing"
)

// naive is RFC 1071 written out: 16-bit big-endian words, end-around carry.
// The 64-bit accumulator cannot overflow below 2^48 words.
func naive(b []byte, initial uint16) uint16 {
	acc := uint64(initial)
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if len(b)%2 == 1 {
		acc += uint64(b[len(b)-1]) << 8
	}
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// TestSumMatchesNaive compares the word-folding sum with the plain one at
// every length and alignment up to 300 bytes, on random data and on the
// all-ones pattern that exercises carries.
func TestSumMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	buf := make([]byte, 512)
	for _, fill := range []string{"random", "ones"} {
		for i := range buf {
			if fill == "random" {
				buf[i] = byte(r.Uint32())
			} else {
				buf[i] = 0xff
			}
		}
		for off := range 8 {
			for n := 0; n <= 300; n++ {
				b := buf[off : off+n]
				init := uint16(r.Uint32())
				if got, want := Sum(b, init), naive(b, init); got != want {
					t.Fatalf("%s off %d len %d: Sum %#04x, want %#04x", fill, off, n, got, want)
				}
			}
		}
	}
}

// RFC 1071 §3's worked example.
func TestRFC1071Example(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Sum(b, 0); got != 0xddf2 {
		t.Fatalf("sum %#04x, want 0xddf2", got)
	}
	if got := Checksum(b); got != ^uint16(0xddf2) {
		t.Fatalf("checksum %#04x", got)
	}
}
