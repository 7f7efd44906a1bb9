package esp

import (
	"math/rand/v2"
	"testing"
)

// refWindow is the plainest replay window: a set of every number seen.
type refWindow struct {
	size uint64
	top  uint64
	seen map[uint64]bool
}

func (r *refWindow) update(seq uint64) Reason {
	switch {
	case seq == 0 || seq+r.size <= r.top:
		return ReplayOld
	case r.seen[seq]:
		return ReplayDuplicate
	}
	r.seen[seq] = true
	r.top = max(r.top, seq)
	return OK
}

// TestWindowDifferential drives the bitmap window and the reference with
// the same random streams (mostly in order, some late, some repeated,
// some jumps of more than a window) for several sizes.
func TestWindowDifferential(t *testing.T) {
	for _, size := range []int{1, 32, 63, 64, 65, 100, 1000, MaxReplayWindow} {
		var w window
		w.init(size)
		ref := &refWindow{size: uint64(size), seen: map[uint64]bool{}}
		rng := rand.New(rand.NewPCG(uint64(size), 7))
		next := uint64(1)
		for i := range 200000 {
			var s uint64
			switch k := rng.IntN(100); {
			case k < 60:
				s = next
				next++
			case k < 85 && next > 1: // late, in or just out of the window
				s = next - 1 - rng.Uint64N(min(next-1, uint64(size)+3))
			case k < 95 && next > 1: // a repeat
				s = next - 1 - rng.Uint64N(min(next-1, 8))
			default: // a jump
				next += rng.Uint64N(uint64(3 * size))
				s = next
			}
			if c := w.check(s); c != OK && c != ref.update(s) {
				t.Fatalf("size %d step %d seq %d: check %v", size, i, s, c)
			} else if c == OK {
				if got, want := w.update(s), ref.update(s); got != want {
					t.Fatalf("size %d step %d seq %d: %v, want %v", size, i, s, got, want)
				}
			}
		}
	}
}

// TestInfer: RFC 4303 Appendix A2.2, both cases, at the edges.
func TestInfer(t *testing.T) {
	const W = 64
	for _, c := range []struct {
		top  uint64
		lo   uint32
		want uint64
	}{
		{0, 1, 1},                                   // a fresh SA
		{0, 0xffffffff, 0},                          // below the first subspace
		{100, 50, 50},                               // case A, in the window
		{100, 36, 1<<32 + 36},                       // case A, below the bottom (37): next subspace
		{1<<32 + 100, 36, 2<<32 + 36},               // likewise one subspace up
		{1<<32 + 100, 37, 1<<32 + 37},               // the bottom
		{1<<32 + 5, 0xfffffff0, 0xfffffff0},         // case B, previous subspace
		{1<<32 + 5, 3, 1<<32 + 3},                   // case B, this subspace
		{1<<32 + 5, 0x7fffffff, 1<<32 + 0x7fffffff}, // case B, far ahead
		{0xffffffff, 0, 1 << 32},                    // case A at the top of subspace 0
	} {
		var w window
		w.init(W)
		w.top.Store(c.top)
		if got := w.infer(c.lo); got != c.want {
			t.Errorf("top %#x lo %#x: %#x, want %#x", c.top, c.lo, got, c.want)
		}
	}
}
