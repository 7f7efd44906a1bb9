package dos

import (
	"fmt"
	"math/bits"
	"net/netip"
)

// The lists' longest-prefix match. Both tables are built once from a
// sorted prefix list and never change: an update builds new ones, and the
// Control swaps them in with the rest of the policy. A lookup returns a
// value: 0 for no match, else the matching prefix's index in the list plus
// one, with lpmBlock set for a Block prefix.
const (
	lpmBlock   = 1 << 30
	lpmIdxMask = lpmBlock - 1
	// lpmExt marks an IPv4 table entry that points to a next-level table.
	lpmExt = 1 << 31
	// maxLPMBytes bounds the memory the IPv4 tables may take (DIR-16-8-8
	// takes 1 KiB per next-level table; at most two per prefix longer
	// than /16).
	maxLPMBytes = 256 << 20
)

// lpm4 is IPv4 longest-prefix match, DIR-16-8-8 (Gupta, Lin, McKeown,
// "Routing lookups in hardware at memory access speeds", INFOCOM 1998,
// with the 24-bit first level cut to 16 so that small lists stay small): a
// first level of 2^16 entries indexed by the address's top 16 bits, and
// next-level tables of 256 entries for the 8 bits after, then the last 8.
// An entry holds a value, or lpmExt and a table number. A lookup is one to
// three dependent loads; memory is 256 KiB plus 1 KiB per table, at most
// two tables per prefix longer than /16.
type lpm4 struct {
	l1  []uint32 // 1<<16 entries
	tbl []uint32 // next-level tables, 256 entries each
}

func (t *lpm4) lookup(a uint32) uint32 {
	e := t.l1[a>>16]
	if e&lpmExt != 0 {
		e = t.tbl[(e&^lpmExt)<<8|a>>8&0xff]
		if e&lpmExt != 0 {
			e = t.tbl[(e&^lpmExt)<<8|a&0xff]
		}
	}
	return e
}

// buildLPM4 builds the table from prefixes sorted by length, shortest
// first, whose values are vals: each prefix's range is written over what
// the shorter ones wrote, so the longest match is what stays. A table
// made for a longer prefix starts as a copy of the entry it replaces.
func buildLPM4(ps []netip.Prefix, vals []uint32) (*lpm4, error) {
	t := &lpm4{l1: make([]uint32, 1<<16)}
	newTable := func(fill uint32) (uint32, error) {
		n := uint32(len(t.tbl) >> 8)
		if int(n+1)<<10+len(t.l1)*4 > maxLPMBytes {
			return 0, fmt.Errorf("the IPv4 prefixes need more than %d MiB of tables; aggregate them", maxLPMBytes>>20)
		}
		for range 256 {
			t.tbl = append(t.tbl, fill)
		}
		return n, nil
	}
	// descend returns the next-level table under entry e, making it and
	// setting e with set (not through a pointer: making a table may move
	// t.tbl).
	descend := func(e uint32, set func(uint32)) (uint32, error) {
		if e&lpmExt != 0 {
			return e &^ lpmExt, nil
		}
		n, err := newTable(e)
		if err != nil {
			return 0, err
		}
		set(lpmExt | n)
		return n, nil
	}
	for i, p := range ps {
		a, n := be.Uint32(p.Addr().AsSlice()), p.Bits()
		v := vals[i]
		switch {
		case n <= 16:
			// Sorted by length: nothing below the first level yet.
			lo := a >> 16
			for j := range uint32(1) << (16 - n) {
				t.l1[lo+j] = v
			}
		case n <= 24:
			t2, err := descend(t.l1[a>>16], func(e uint32) { t.l1[a>>16] = e })
			if err != nil {
				return nil, err
			}
			lo := t2<<8 | a>>8&0xff
			for j := range uint32(1) << (24 - n) {
				t.tbl[lo+j] = v
			}
		default:
			t2, err := descend(t.l1[a>>16], func(e uint32) { t.l1[a>>16] = e })
			if err != nil {
				return nil, err
			}
			i2 := t2<<8 | a>>8&0xff
			t3, err := descend(t.tbl[i2], func(e uint32) { t.tbl[i2] = e })
			if err != nil {
				return nil, err
			}
			lo := t3<<8 | a&0xff
			for j := range uint32(1) << (32 - n) {
				t.tbl[lo+j] = v
			}
		}
	}
	return t, nil
}

// lpm6 is IPv6 longest-prefix match by binary search on prefix lengths
// (Waldvogel, Varghese, Turner, Plattner, "Scalable high speed IP routing
// lookups", SIGCOMM 1997): one hash table per prefix length present,
// searched like a sorted array of the lengths. A hit at a length means
// "a longer match may exist": search the longer half; a miss: the
// shorter half. For the search to find a prefix of length l, every
// length where its path turns towards l holds a marker, the prefix cut
// to that length. Each entry, prefix or marker, carries the value of the
// best (longest) real prefix matching it, computed when the table is
// built, so the search's last hit is the answer and it never backtracks.
// A lookup costs ⌈log2(lengths+1)⌉ hash probes: 3 for a list of /32s,
// /48s, /56s, /64s and /128s, 8 for every length; memory is linear in the
// prefixes times the log of the lengths.
type lpm6 struct {
	lens []lpm6Len // ascending
}

type lpm6Len struct {
	bits           int
	hiMask, loMask uint64
	mask           uint64 // slots-1
	slots          []lpm6Slot
}

type lpm6Slot struct {
	hi, lo uint64
	val    uint32 // the best real prefix matching this entry; 0: none
	used   bool
}

func lpm6Hash(hi, lo uint64) uint64 { return mum(hi^0x243f6a8885a308d3, lo^0x13198a2e03707344) }

// find probes length l for the address's prefix of that length.
func (l *lpm6Len) find(hi, lo uint64) (uint32, bool) {
	h, g := hi&l.hiMask, lo&l.loMask
	for j := lpm6Hash(h, g) & l.mask; ; j = (j + 1) & l.mask {
		s := &l.slots[j]
		if !s.used {
			return 0, false
		}
		if s.hi == h && s.lo == g {
			return s.val, true
		}
	}
}

func (t *lpm6) lookup(hi, lo uint64) uint32 {
	best := uint32(0)
	for l, h := 0, len(t.lens)-1; l <= h; {
		mid := int(uint(l+h) >> 1)
		if v, ok := t.lens[mid].find(hi, lo); ok {
			best = v
			l = mid + 1
		} else {
			h = mid - 1
		}
	}
	return best
}

// prefixMasks are the masks of an IPv6 prefix length, as two halves.
func prefixMasks(n int) (hi, lo uint64) {
	switch {
	case n <= 0:
		return 0, 0
	case n <= 64:
		return ^uint64(0) << (64 - n), 0
	case n < 128:
		return ^uint64(0), ^uint64(0) << (128 - n)
	}
	return ^uint64(0), ^uint64(0)
}

// buildLPM6 builds the table from prefixes sorted by length, shortest
// first, whose values are vals.
func buildLPM6(ps []netip.Prefix, vals []uint32) *lpm6 {
	type key struct{ hi, lo uint64 }
	t := &lpm6{}
	var real []map[key]uint32 // per length index: the prefixes
	level := map[int]int{}    // length -> index
	for _, p := range ps {
		if _, ok := level[p.Bits()]; !ok {
			level[p.Bits()] = len(t.lens)
			l := lpm6Len{bits: p.Bits()}
			l.hiMask, l.loMask = prefixMasks(p.Bits())
			t.lens = append(t.lens, l)
			real = append(real, map[key]uint32{})
		}
	}
	cut := func(k key, li int) key { return key{k.hi & t.lens[li].hiMask, k.lo & t.lens[li].loMask} }
	markers := make([]map[key]bool, len(t.lens))
	for i := range markers {
		markers[i] = map[key]bool{}
	}
	for i, p := range ps {
		b := p.Addr().As16()
		k := key{be.Uint64(b[:8]), be.Uint64(b[8:])}
		target := level[p.Bits()]
		real[target][k] = vals[i]
		for l, h := 0, len(t.lens)-1; l <= h; {
			mid := int(uint(l+h) >> 1)
			if mid == target {
				break
			}
			if target > mid {
				markers[mid][cut(k, mid)] = true
				l = mid + 1
			} else {
				h = mid - 1
			}
		}
	}
	// best is the longest real prefix holding k, at length index li or
	// shorter.
	best := func(k key, li int) uint32 {
		for j := li; j >= 0; j-- {
			if v, ok := real[j][cut(k, j)]; ok {
				return v
			}
		}
		return 0
	}
	for li := range t.lens {
		l := &t.lens[li]
		n := len(real[li])
		for k := range markers[li] {
			if _, ok := real[li][k]; !ok {
				n++
			}
		}
		size := 1 << bits.Len(uint(2*n-1)) // a power of two, at least twice the entries
		l.mask, l.slots = uint64(size-1), make([]lpm6Slot, size)
		put := func(k key, v uint32) {
			s := lpm6Hash(k.hi, k.lo) & l.mask
			for l.slots[s].used {
				s = (s + 1) & l.mask
			}
			l.slots[s] = lpm6Slot{hi: k.hi, lo: k.lo, val: v, used: true}
		}
		for k, v := range real[li] {
			put(k, v)
		}
		for k := range markers[li] {
			if _, ok := real[li][k]; !ok {
				put(k, best(k, li))
			}
		}
	}
	return t
}

// lists is the compiled Allow and Block lists.
type lists struct {
	entries []listEntry // by family then length; values index it
	v4      *lpm4       // nil: no IPv4 prefixes
	v6      *lpm6       // nil: no IPv6 prefixes
}

func buildLists(es []listEntry) (*lists, error) {
	if len(es) == 0 {
		return nil, nil
	}
	ls := &lists{entries: es}
	var p4, p6 []netip.Prefix
	var v4, v6 []uint32
	for i, e := range es {
		v := uint32(i + 1)
		if e.action == Block {
			v |= lpmBlock
		}
		if e.p.Addr().Is4() {
			p4, v4 = append(p4, e.p), append(v4, v)
		} else {
			p6, v6 = append(p6, e.p), append(v6, v)
		}
	}
	if len(p4) > 0 {
		t, err := buildLPM4(p4, v4)
		if err != nil {
			return nil, fieldErr("block", "%v", err)
		}
		ls.v4 = t
	}
	if len(p6) > 0 {
		ls.v6 = buildLPM6(p6, v6)
	}
	return ls, nil
}

// match is the longest prefix of the lists holding a, if any.
func (ls *lists) match(a netip.Addr) (Action, netip.Prefix, bool) {
	if ls == nil {
		return NoAction, netip.Prefix{}, false
	}
	a = a.Unmap()
	var v uint32
	switch {
	case a.Is4() && ls.v4 != nil:
		v = ls.v4.lookup(be.Uint32(a.AsSlice()))
	case a.Is6() && ls.v6 != nil:
		b := a.As16()
		v = ls.v6.lookup(be.Uint64(b[:8]), be.Uint64(b[8:]))
	}
	if v == 0 {
		return NoAction, netip.Prefix{}, false
	}
	e := ls.entries[v&lpmIdxMask-1]
	return e.action, e.p, true
}
