//go:build amd64 && !purego

package checksum

import (
	"fmt"
	"testing"

	"golang.org/x/sys/cpu"
)

// archPaths returns the paths of Sum this architecture has besides Sum and
// sumGeneric, or why there are none: sum as on a CPU without AVX2,
// sumScalar at all lengths, and sumVector from 32 bytes on if the CPU has
// AVX2.
func archPaths() ([]sumPath, string) {
	paths := []sumPath{{"sum without AVX2", sumWithoutVector, 0}, {"sumScalar", sumScalar, 0}}
	if !cpu.X86.HasAVX2 {
		return paths, "sumVector: CPU lacks AVX2"
	}
	return append(paths, sumPath{"sumVector", sumVector, 32}), ""
}

func sumWithoutVector(b []byte, initial uint16) uint16 {
	defer func(v bool) { useVector = v }(useVector)
	useVector = false
	return sum(b, initial)
}

// TestAVX2Used checks that an AVX2 machine sets useVector, so that Sum
// takes sumVector from vectorMin bytes on and the tests of Sum cover it.
func TestAVX2Used(t *testing.T) {
	if !cpu.X86.HasAVX2 {
		t.Skip("CPU lacks AVX2: the AVX2 path cannot run here")
	}
	if !useVector {
		t.Fatal("AVX2 present but useVector is false")
	}
	if vectorMin > 256 {
		t.Fatalf("vectorMin %d: Sum takes the AVX2 path only above 256 bytes", vectorMin)
	}
}

// BenchmarkSumThreshold compares the scalar and AVX2 paths about
// vectorMin, and sumGeneric.
func BenchmarkSumThreshold(b *testing.B) {
	if !cpu.X86.HasAVX2 {
		b.Skip("CPU lacks AVX2")
	}
	for _, n := range []int{8, 16, 24, 31, 32, 40, 48, 64, 128} {
		buf := make([]byte, n+1)[1:]
		paths := []sumPath{{"scalar", sumScalar, 0}, {"avx2", sumVector, 32}, {"generic", sumGeneric, 0}}
		for _, p := range paths {
			if n < p.min {
				continue
			}
			b.Run(fmt.Sprintf("%dB/%s", n, p.name), func(b *testing.B) {
				b.SetBytes(int64(n))
				for range b.N {
					sink = p.f(buf, 0)
				}
			})
		}
	}
}
