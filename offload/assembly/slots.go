package assembly

import "math/bits"

// none marks the end of a chain or list.
const none = -1

// slots manages n fixed entries of an engine's table: a free list, hash
// chains to find an entry by key, and an age list, oldest first, for
// timeouts and eviction. The entries themselves (key and state) live in
// the engine's own array, indexed alike; slots holds only the links, all
// allocated once.
type slots struct {
	bucket []int32 // first entry of each hash chain
	mask   uint32
	next   []int32 // next in the hash chain, or in the free list
	hash   []uint32
	older  []int32
	newer  []int32
	oldest int32
	newest int32
	free   int32
	used   int
}

func newSlots(n int) slots {
	nb := 1 << bits.Len(uint(2*n-1)) // a power of two, at least 2n
	s := slots{
		bucket: make([]int32, nb),
		mask:   uint32(nb - 1),
		next:   make([]int32, n),
		hash:   make([]uint32, n),
		older:  make([]int32, n),
		newer:  make([]int32, n),
		oldest: none,
		newest: none,
	}
	for i := range s.bucket {
		s.bucket[i] = none
	}
	for i := range s.next {
		s.next[i] = int32(i + 1)
	}
	s.next[n-1] = none
	return s
}

// first is the first entry of h's chain; walk on with s.next, comparing
// s.hash first.
func (s *slots) first(h uint32) int32 { return s.bucket[h&s.mask] }

// full reports whether no entry is free.
func (s *slots) full() bool { return s.free == none }

// alloc takes a free entry for hash h, links it into h's chain and as the
// newest. The caller checks full first.
func (s *slots) alloc(h uint32) int32 {
	i := s.free
	s.free = s.next[i]
	b := h & s.mask
	s.hash[i], s.next[i], s.bucket[b] = h, s.bucket[b], i
	s.older[i], s.newer[i] = s.newest, none
	if s.newest != none {
		s.newer[s.newest] = i
	} else {
		s.oldest = i
	}
	s.newest = i
	s.used++
	return i
}

// release unlinks entry i and frees it.
func (s *slots) release(i int32) {
	p := &s.bucket[s.hash[i]&s.mask]
	for *p != i {
		p = &s.next[*p]
	}
	*p = s.next[i]
	o, n := s.older[i], s.newer[i]
	if o != none {
		s.newer[o] = n
	} else {
		s.oldest = n
	}
	if n != none {
		s.older[n] = o
	} else {
		s.newest = o
	}
	s.next[i], s.free = s.free, i
	s.used--
}

// mix64 is one round of a multiply-xorshift hash.
func mix64(h, w uint64) uint64 {
	h = (h ^ w) * 0x9e3779b97f4a7c15
	return h ^ h>>32
}
