package esp

import (
	"math/bits"
	"sync/atomic"
)

// window is an inbound SA's anti-replay window (RFC 4303 §3.4.3): which of
// the last size sequence numbers up to top have been received.
//
// The bitmap is a ring of 64-bit words indexed by seq/64 (the layout of
// RFC 6479): bit seq%64 of word (seq/64) mod len. Moving top forward
// clears only the words it passes, so a check and an update cost O(1) —
// at most len words when top jumps a whole window. The ring has one word
// more than the window spans so that the word holding top and the one
// holding the window's oldest sequence number never coincide.
type window struct {
	size uint64 // packets
	// top is the highest authenticated sequence number, 0 for none yet.
	// Only the owning lcore writes it; it is atomic so that show
	// commands may read it.
	top  atomic.Uint64
	mask uint64   // len(bits)-1
	bits []uint64 // the ring; a power of two in length
}

func (w *window) init(size int) {
	words := 1 << bits.Len(uint((size+63)/64)) // > size/64, a power of two
	w.size, w.mask = uint64(size), uint64(words-1)
	w.top.Store(0)
	w.bits = make([]uint64, words)
}

// check says whether seq may be new: OK if it is above the window or in it
// and unseen. Sequence number 0 is never sent (RFC 4303 §3.3.3) and is
// refused as too old.
func (w *window) check(seq uint64) Reason {
	top := w.top.Load()
	switch {
	case seq == 0:
		return ReplayOld
	case seq > top:
		return OK
	case top-seq >= w.size:
		return ReplayOld
	case w.bits[seq>>6&w.mask]&(1<<(seq&63)) != 0:
		return ReplayDuplicate
	}
	return OK
}

// update records seq as received, checking it again: a duplicate may have
// been authenticated earlier in the same burst.
func (w *window) update(seq uint64) Reason {
	if r := w.check(seq); r != OK {
		return r
	}
	if top := w.top.Load(); seq > top {
		from, to := top>>6, seq>>6
		n := min(to-from, w.mask+1)
		for i := uint64(1); i <= n; i++ {
			w.bits[(from+i)&w.mask] = 0
		}
		w.top.Store(seq)
	}
	w.bits[seq>>6&w.mask] |= 1 << (seq & 63)
	return OK
}

// infer returns the 64-bit sequence number of a packet whose low 32 bits
// are lo, with extended sequence numbers (RFC 4303 Appendix A2.2): the
// high bits that put it nearest the window. It returns 0 (refused as too
// old) for a number below the first subspace.
func (w *window) infer(lo uint32) uint64 {
	top := w.top.Load()
	th, tl := uint32(top>>32), uint32(top)
	bottom := tl - uint32(w.size) + 1 // the window's low edge, mod 2^32
	if tl >= uint32(w.size)-1 {
		// Case A: the window lies within one subspace. A number below
		// its bottom is from the next subspace.
		if lo < bottom {
			th++
		}
	} else if lo >= bottom {
		// Case B: the window spans two subspaces; a number at or above
		// its (wrapped) bottom is from the previous one.
		if th == 0 {
			return 0
		}
		th--
	}
	return uint64(th)<<32 | uint64(lo)
}
