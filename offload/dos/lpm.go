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

// lpm6 is IPv6 longest-prefix match as one hash table per prefix length
// present, tried longest first: a lookup costs one masked hash probe per
// distinct length (lists hold few: /32, /48, /56, /64, /128), memory is
// linear in the prefixes.
type lpm6 struct {
	lens []lpm6Len // longest first
}

type lpm6Len struct {
	hiMask, loMask uint64
	mask           uint64 // slots-1
	slots          []lpm6Slot
}

type lpm6Slot struct {
	hi, lo uint64
	val    uint32 // 0: empty
}

func lpm6Hash(hi, lo uint64) uint64 { return mum(hi^0x243f6a8885a308d3, lo^0x13198a2e03707344) }

func (t *lpm6) lookup(hi, lo uint64) uint32 {
	for i := range t.lens {
		l := &t.lens[i]
		h, g := hi&l.hiMask, lo&l.loMask
		for j := lpm6Hash(h, g) & l.mask; ; j = (j + 1) & l.mask {
			s := &l.slots[j]
			if s.val == 0 {
				break
			}
			if s.hi == h && s.lo == g {
				return s.val
			}
		}
	}
	return 0
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
// first.
func buildLPM6(ps []netip.Prefix, vals []uint32) *lpm6 {
	t := &lpm6{}
	for i := 0; i < len(ps); {
		n := ps[i].Bits()
		j := i
		for j < len(ps) && ps[j].Bits() == n {
			j++
		}
		size := 1 << bits.Len(uint(2*(j-i)-1)) // a power of two, at least twice the prefixes
		l := lpm6Len{mask: uint64(size - 1), slots: make([]lpm6Slot, size)}
		l.hiMask, l.loMask = prefixMasks(n)
		for k := i; k < j; k++ {
			b := ps[k].Addr().As16()
			hi, lo := be.Uint64(b[:8]), be.Uint64(b[8:])
			s := lpm6Hash(hi, lo) & l.mask
			for l.slots[s].val != 0 {
				s = (s + 1) & l.mask
			}
			l.slots[s] = lpm6Slot{hi: hi, lo: lo, val: vals[k]}
		}
		t.lens = append([]lpm6Len{l}, t.lens...)
		i = j
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
