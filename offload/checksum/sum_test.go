package checksum

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// sumPath is one way to compute Sum, for buffers of min bytes or more.
type sumPath struct {
	name string
	f    func([]byte, uint16) uint16
	min  int
}

// sumPaths lists Sum as built, sumGeneric and the architecture's other
// paths (archPaths), called directly.
func sumPaths(t testing.TB) []sumPath {
	paths := []sumPath{{"Sum", Sum, 0}, {"sumGeneric", sumGeneric, 0}}
	more, why := archPaths()
	if why != "" {
		t.Logf("not tested: %s", why)
	}
	return append(paths, more...)
}

// checkSum compares every path on b, and fold(sumLEGeneric(b)), with naive,
// and checks that sumLE folds as sumLEGeneric does, alone and added to
// another 64-bit sum (derived from initial), as flat.go adds it.
func checkSum(t *testing.T, paths []sumPath, what string, b []byte, initial uint16) {
	t.Helper()
	if got, want := bits.ReverseBytes16(fold(sumLEGeneric(b))), naive(b, 0); got != want {
		t.Fatalf("%s: sumLEGeneric len %d: folded %#04x, want %#04x", what, len(b), got, want)
	}
	fast, gen := sumLE(b), sumLEGeneric(b)
	if got, want := bits.ReverseBytes16(fold(fast)), naive(b, 0); got != want {
		t.Fatalf("%s: sumLE len %d: folded %#04x, want %#04x", what, len(b), got, want)
	}
	other := uint64(initial) * 0x9e3779b97f4a7c15
	if got, want := fold(addEAC(other, fast)), fold(addEAC(other, gen)); got != want {
		t.Fatalf("%s: sumLE len %d plus %#x: folded %#04x, want %#04x", what, len(b), other, got, want)
	}
	want := naive(b, initial)
	for _, p := range paths {
		if len(b) < p.min {
			continue
		}
		if got := p.f(b, initial); got != want {
			t.Fatalf("%s: %s len %d initial %#04x: %#04x, want %#04x", what, p.name, len(b), initial, got, want)
		}
	}
}

// addEAC adds with end-around carry.
func addEAC(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	return s + c
}

// fills are the data patterns of the differential tests. "zerosum" is
// random data with one word set so that the sum is a nonzero multiple of
// 0xffff, which folds to 0xffff and never to 0.
var fills = []string{"random", "ones", "zeros", "zerosum"}

func fill(r *rand.Rand, buf []byte, kind string) {
	for i := range buf {
		switch kind {
		case "ones":
			buf[i] = 0xff
		case "zeros":
			buf[i] = 0
		default:
			buf[i] = byte(r.Uint32())
		}
	}
}

// makeZeroSum sets the last whole word of b (len(b) >= 2) so that b's sum
// is a nonzero multiple of 0xffff, and returns the word's offset and old
// value.
func makeZeroSum(t *testing.T, b []byte) (int, uint16) {
	t.Helper()
	p := (len(b) - 2) &^ 1
	old := binary.BigEndian.Uint16(b[p:])
	binary.BigEndian.PutUint16(b[p:], 0)
	binary.BigEndian.PutUint16(b[p:], 0xffff-naive(b, 0)) // 0xffff if the rest is 0
	if s := naive(b, 0); s != 0xffff {
		t.Fatalf("zerosum setup: sum %#04x", s)
	}
	return p, old
}

// checkFill is checkSum on b filled as kind says.
func checkFill(t *testing.T, r *rand.Rand, paths []sumPath, kind, what string, b []byte) {
	t.Helper()
	if kind == "zerosum" {
		if len(b) < 2 {
			return
		}
		p, old := makeZeroSum(t, b)
		defer binary.BigEndian.PutUint16(b[p:], old)
	}
	checkSum(t, paths, what, b, uint16(r.Uint32()))
}

// TestSumDifferential checks every path against naive at every length up
// to 2048 bytes from each start offset 0..63 of a larger buffer.
func TestSumDifferential(t *testing.T) {
	paths := sumPaths(t)
	r := rand.New(rand.NewPCG(2, 3))
	buf := make([]byte, 2048+64+64)
	for _, kind := range fills {
		fill(r, buf, kind)
		for off := range 64 {
			what := fmt.Sprintf("%s off %d", kind, off)
			for n := 0; n <= 2048; n++ {
				checkFill(t, r, paths, kind, what, buf[off:off+n])
			}
		}
	}
}

// TestSumLarge checks 64 KiB and 1 MiB buffers, and lengths around them.
func TestSumLarge(t *testing.T) {
	paths := sumPaths(t)
	r := rand.New(rand.NewPCG(4, 5))
	for _, size := range []int{64 << 10, 1 << 20} {
		buf := make([]byte, size+64)
		for _, kind := range fills {
			fill(r, buf, kind)
			for _, off := range []int{0, 1, 2, 31, 63} {
				for _, n := range []int{size - 1, size, size + 1} {
					what := fmt.Sprintf("%s size %d off %d", kind, size, off)
					checkFill(t, r, paths, kind, what, buf[off:off+n])
				}
			}
		}
	}
}

// TestSumExtremes checks words that make the largest lane sums: all ones,
// and ones in only the high or the low half of every 64-bit word.
func TestSumExtremes(t *testing.T) {
	paths := sumPaths(t)
	buf := make([]byte, 1<<20+8)
	for _, pat := range []uint64{0xffffffff00000000, 0x00000000ffffffff, 0x8000000080000000, 1, 1 << 63} {
		for i := 0; i < len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], pat)
		}
		for _, n := range []int{32, 64, 256, 4096, 1 << 20} {
			for _, off := range []int{0, 1, 4} {
				checkSum(t, paths, fmt.Sprintf("pattern %#x off %d", pat, off), buf[off:off+n], 0)
			}
		}
	}
}

func FuzzSumLE(f *testing.F) {
	r := rand.New(rand.NewPCG(6, 7))
	random := make([]byte, 1600)
	fill(r, random, "random")
	f.Add([]byte{}, uint8(0), uint16(0))
	f.Add([]byte{0xff}, uint8(0), uint16(0xffff))
	f.Add(bytes.Repeat([]byte{0xff}, 300), uint8(1), uint16(0))
	f.Add(make([]byte, 256), uint8(0), uint16(0))
	f.Add(random, uint8(0), uint16(1))
	f.Add(random[:1500], uint8(3), uint16(0x1234))
	f.Add(random[:1100], uint8(31), uint16(0))
	f.Add(random[:257], uint8(33), uint16(0xfffe))
	paths := sumPaths(f)
	f.Fuzz(func(t *testing.T, data []byte, off uint8, initial uint16) {
		b := data[min(int(off), len(data)):]
		want := sumGeneric(b, initial)
		if n := naive(b, initial); want != n {
			t.Fatalf("sumGeneric len %d: %#04x, naive %#04x", len(b), want, n)
		}
		if got, want := fold(sumLE(b)), fold(sumLEGeneric(b)); got != want {
			t.Fatalf("sumLE len %d: folded %#04x, sumLEGeneric %#04x", len(b), got, want)
		}
		for _, p := range paths {
			if len(b) < p.min {
				continue
			}
			if got := p.f(b, initial); got != want {
				t.Fatalf("%s len %d: %#04x, sumGeneric %#04x", p.name, len(b), got, want)
			}
		}
	})
}

func TestSumNoAllocations(t *testing.T) {
	b := make([]byte, 9000)
	for _, p := range sumPaths(t) {
		for _, n := range []int{20, 1500, 9000} {
			if a := testing.AllocsPerRun(100, func() { sink = p.f(b[:n], 0) }); a != 0 {
				t.Fatalf("%s len %d: %.1f allocations", p.name, n, a)
			}
		}
	}
}

var sink uint16

// BenchmarkSum measures Sum ("fast", as built) and sumGeneric, the code Sum
// was before, on buffers starting one byte past an aligned address; 20
// bytes is an IPv4 header.
func BenchmarkSum(b *testing.B) {
	for _, path := range []string{"fast", "generic"} {
		for _, n := range []int{20, 64, 256, 1500, 9000, 32768} {
			buf := make([]byte, n+1)[1:]
			b.Run(fmt.Sprintf("%s/%dB", path, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				if path == "fast" {
					for range b.N {
						sink = Sum(buf, 0)
					}
				} else {
					for range b.N {
						sink = sumGeneric(buf, 0)
					}
				}
			})
		}
	}
}
