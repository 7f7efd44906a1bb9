//go:build amd64 && !purego

package checksum

import (
	"math/bits"

	"golang.org/x/sys/cpu"
)

// useVector lets sum take the AVX2 path (sumVector). cpu.X86.HasAVX2 also
// requires the OS to save the YMM state. Tests may clear it.
var useVector = cpu.X86.HasAVX2

const (
	// vectorMin is the length from which sum takes the AVX2 path, which
	// needs 32 bytes and from there beats sumScalar
	// (BenchmarkSumThreshold). Shorter buffers go to sumScalar, with or
	// without AVX2.
	vectorMin = 32

	// vectorMax bounds the lengths given to sumVector so that its sums
	// cannot overflow (see sum_amd64.s). sum hands longer buffers, as
	// all of vectorMin bytes and more without AVX2, to sumGeneric.
	vectorMax = 1 << 33
)

const _ = uint(vectorMin - 32) // vectorMin >= 32

// sum is Sum. See sum_amd64.s.
//
//go:noescape
func sum(b []byte, initial uint16) uint16

// sumLE is the 64-bit one's-complement sum of b as little-endian words,
// folded already: fold(sumLEGeneric(b)), which folds, alone or added with
// end-around carry to other sums, as sumLEGeneric(b) would (see
// sumLEGeneric). It comes from sum, which swaps it (Add(x, 0) is x).
func sumLE(b []byte) uint64 { return uint64(bits.ReverseBytes16(sum(b, 0))) }

// sumScalar is Sum in general-purpose registers, for len(b) <= 2^33.
// sum calls it below vectorMin bytes.
//
//go:noescape
func sumScalar(b []byte, initial uint16) uint16

// sumVector is Sum through AVX2, for 32 <= len(b) <= vectorMax. sum calls
// it from vectorMin bytes on if useVector is set.
//
//go:noescape
func sumVector(b []byte, initial uint16) uint16
