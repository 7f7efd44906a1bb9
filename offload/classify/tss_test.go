package classify

import (
	"fmt"
	"math/bits"
	"slices"
	"testing"
	"time"
)

// tss is tuple space search (Srinivasan, Suri and Varghese, SIGCOMM 1999)
// for IPv4 5-tuple rules, the alternative the trees were measured
// against: one hash table per combination of prefix lengths (a tuple),
// port ranges expanded to prefixes, tuples probed in the order of their
// best rule and the search stopped once no remaining tuple can hold a
// better one (priority pruning, as Open vSwitch's classifier). It
// handles the ClassBench rules only (prefixes, port ranges, exact or any
// protocol).
type tss struct {
	tuples []tssTuple
	ids    []RuleID
}

type tssTuple struct {
	mask  [2]uint64 // over the packed key
	first uint32    // best rank in the tuple
	slots []tssSlot // open addressing, power of two
}

type tssSlot struct {
	key  [2]uint64
	rank uint32
	used bool
}

// tssKey packs a 5-tuple: src<<32|dst, sport<<24|dport<<8|proto.
func tssKey(t *[NumDims]uint32) [2]uint64 {
	return [2]uint64{uint64(t[DimSrc])<<32 | uint64(t[DimDst]), uint64(t[DimSrcPort])<<24 | uint64(t[DimDstPort])<<8 | uint64(uint8(t[DimProto]>>1))}
}

// rangePrefixes splits [lo, hi] of a 16-bit field into prefixes.
func rangePrefixes(lo, hi uint32) (out [][2]uint32) { // value, length
	for lo <= hi {
		n := bits.TrailingZeros32(lo | 1<<16)
		for n > 0 && lo+(1<<n)-1 > hi {
			n--
		}
		out = append(out, [2]uint32{lo, uint32(16 - n)})
		lo += 1 << n
		if lo == 0 || lo > 0xffff {
			break
		}
	}
	return out
}

func hashKey(k [2]uint64) uint64 {
	h := k[0]*0x9e3779b97f4a7c15 ^ k[1]*0xc2b2ae3d27d4eb4f
	return h ^ h>>29
}

func newTSS(rules []*Rule) *tss {
	type entry struct {
		key  [2]uint64
		rank uint32
	}
	byMask := map[[2]uint64][]entry{}
	lin := newLinear(rules)
	t := &tss{ids: make([]RuleID, len(lin))}
	for rank, r := range lin {
		t.ids[rank] = r.ID
		p := &r.Pattern
		src, dst := p.Conds[IPv4Src], p.Conds[IPv4Dst]
		sp, dp := p.Conds[TCPSrc], p.Conds[TCPDst]
		if p.L4 == 17 {
			sp, dp = p.Conds[UDPSrc], p.Conds[UDPDst]
		}
		var proto, pmask uint64
		if p.L4 != 0 {
			proto, pmask = uint64(p.L4), 0xff
		} else if c := p.Conds[IPv4Proto]; !c.IsAny() {
			proto, pmask = c.Lo, c.Mask
		}
		ports := func(c Cond) [][2]uint32 {
			if c.IsAny() {
				return [][2]uint32{{0, 0}}
			}
			return rangePrefixes(uint32(c.Lo), uint32(c.Hi))
		}
		for _, s := range ports(sp) {
			for _, d := range ports(dp) {
				sm, dm := uint64(0xffff)&^(0xffff>>s[1]), uint64(0xffff)&^(0xffff>>d[1])
				mask := [2]uint64{src.Mask<<32 | dst.Mask, sm<<24 | dm<<8 | pmask}
				key := [2]uint64{src.Lo<<32 | dst.Lo, uint64(s[0])<<24 | uint64(d[0])<<8 | proto}
				byMask[mask] = append(byMask[mask], entry{key, uint32(rank)})
			}
		}
	}
	for mask, es := range byMask {
		size := 1 << bits.Len(uint(2*len(es)))
		tu := tssTuple{mask: mask, first: es[0].rank, slots: make([]tssSlot, size)}
		for _, e := range es {
			h := hashKey(e.key) & uint64(size-1)
			for tu.slots[h].used && tu.slots[h].key != e.key {
				h = (h + 1) & uint64(size-1)
			}
			if !tu.slots[h].used { // the first (best) rank of a key stays
				tu.slots[h] = tssSlot{e.key, e.rank, true}
			}
		}
		t.tuples = append(t.tuples, tu)
	}
	slices.SortFunc(t.tuples, func(a, b tssTuple) int { return int(a.first) - int(b.first) })
	return t
}

func (t *tss) classify(keys []Key, out []RuleID) {
	for i := range keys {
		k := tssKey(&keys[i].Tuple)
		best := ^uint32(0)
		for ti := range t.tuples {
			tu := &t.tuples[ti]
			if tu.first >= best {
				break
			}
			m := [2]uint64{k[0] & tu.mask[0], k[1] & tu.mask[1]}
			n := uint64(len(tu.slots) - 1)
			for h := hashKey(m) & n; tu.slots[h].used; h = (h + 1) & n {
				if tu.slots[h].key == m {
					best = min(best, tu.slots[h].rank)
					break
				}
			}
		}
		if best == ^uint32(0) {
			out[i] = NoMatch
		} else {
			out[i] = t.ids[best]
		}
	}
}

// TestTSS checks the tuple-space alternative against the reference, so
// that its timings are of a correct classifier.
func TestTSS(t *testing.T) {
	for _, n := range aclSizes[:2] {
		s := aclData(t, n)
		ts := newTSS(s.rules)
		keys := s.keys[:20000]
		out := make([]RuleID, len(keys))
		ts.classify(keys, out)
		ref := newLinear(s.rules)
		for i := range keys {
			if want := ref.classify(&keys[i]); out[i] != want {
				t.Fatalf("%d rules, key %d: tss %d, want %d", n, i, out[i], want)
			}
		}
		t.Logf("%d rules: %d tuples", n, len(ts.tuples))
	}
}

// BenchmarkTSS is BenchmarkClassBench with tuple space search.
func BenchmarkTSS(b *testing.B) {
	for _, n := range aclSizes {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			s := aclData(b, n)
			t0 := time.Now()
			ts := newTSS(s.rules)
			build := time.Since(t0)
			out := make([]RuleID, 256)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				for i := 0; i < len(s.keys); i += 256 {
					ts.classify(s.keys[i:min(i+256, len(s.keys))], out)
				}
			}
			el := time.Since(start)
			b.ReportMetric(float64(el.Nanoseconds())/float64(b.N)/float64(len(s.keys)), "ns/key")
			b.ReportMetric(float64(len(ts.tuples)), "tuples")
			b.ReportMetric(build.Seconds()*1e3, "build-ms")
		})
	}
}

// tssRanges is tuple space search with the ports left out of the tuples:
// a tuple is a pair of address prefix lengths and the protocol mask, its
// hash table keyed by the masked addresses and protocol holds the rules'
// port ranges, checked in rank order (TupleMerge's relaxed tuples, Daly
// and Torng, ANCS 2017, taken to the limit).
type tssRanges struct {
	tuples []tssRTuple
	ids    []RuleID
}

type tssRTuple struct {
	mask  [2]uint64
	first uint32
	slots []tssRSlot
}

type tssRSlot struct {
	key   [2]uint64
	rules []tssRRule // rank order
}

type tssRRule struct {
	rank                   uint32
	spLo, spHi, dpLo, dpHi uint16
}

func newTSSRanges(rules []*Rule) *tssRanges {
	type entry struct {
		key [2]uint64
		r   tssRRule
	}
	byMask := map[[2]uint64][]entry{}
	lin := newLinear(rules)
	t := &tssRanges{ids: make([]RuleID, len(lin))}
	for rank, r := range lin {
		t.ids[rank] = r.ID
		p := &r.Pattern
		src, dst := p.Conds[IPv4Src], p.Conds[IPv4Dst]
		sp, dp := p.Conds[TCPSrc], p.Conds[TCPDst]
		if p.L4 == 17 {
			sp, dp = p.Conds[UDPSrc], p.Conds[UDPDst]
		}
		var proto, pmask uint64
		if p.L4 != 0 {
			proto, pmask = uint64(p.L4), 0xff
		} else if c := p.Conds[IPv4Proto]; !c.IsAny() {
			proto, pmask = c.Lo, c.Mask
		}
		rr := tssRRule{rank: uint32(rank), spHi: 0xffff, dpHi: 0xffff}
		if !sp.IsAny() {
			rr.spLo, rr.spHi = uint16(sp.Lo), uint16(sp.Hi)
		}
		if !dp.IsAny() {
			rr.dpLo, rr.dpHi = uint16(dp.Lo), uint16(dp.Hi)
		}
		mask := [2]uint64{src.Mask<<32 | dst.Mask, pmask}
		byMask[mask] = append(byMask[mask], entry{[2]uint64{src.Lo<<32 | dst.Lo, proto}, rr})
	}
	for mask, es := range byMask {
		size := 1 << bits.Len(uint(2*len(es)))
		tu := tssRTuple{mask: mask, first: es[0].r.rank, slots: make([]tssRSlot, size)}
		for _, e := range es {
			h := hashKey(e.key) & uint64(size-1)
			for tu.slots[h].rules != nil && tu.slots[h].key != e.key {
				h = (h + 1) & uint64(size-1)
			}
			tu.slots[h].key = e.key
			tu.slots[h].rules = append(tu.slots[h].rules, e.r)
		}
		t.tuples = append(t.tuples, tu)
	}
	slices.SortFunc(t.tuples, func(a, b tssRTuple) int { return int(a.first) - int(b.first) })
	return t
}

func (t *tssRanges) classify(keys []Key, out []RuleID) {
	for i := range keys {
		tp := &keys[i].Tuple
		k := [2]uint64{uint64(tp[DimSrc])<<32 | uint64(tp[DimDst]), uint64(uint8(tp[DimProto] >> 1))}
		sp, dp := uint16(tp[DimSrcPort]), uint16(tp[DimDstPort])
		best := ^uint32(0)
		for ti := range t.tuples {
			tu := &t.tuples[ti]
			if tu.first >= best {
				break
			}
			m := [2]uint64{k[0] & tu.mask[0], k[1] & tu.mask[1]}
			n := uint64(len(tu.slots) - 1)
			for h := hashKey(m) & n; tu.slots[h].rules != nil; h = (h + 1) & n {
				if tu.slots[h].key == m {
					for _, r := range tu.slots[h].rules {
						if r.rank >= best {
							break
						}
						if sp >= r.spLo && sp <= r.spHi && dp >= r.dpLo && dp <= r.dpHi {
							best = r.rank
							break
						}
					}
					break
				}
			}
		}
		if best == ^uint32(0) {
			out[i] = NoMatch
		} else {
			out[i] = t.ids[best]
		}
	}
}

func TestTSSRanges(t *testing.T) {
	for _, n := range aclSizes {
		s := aclData(t, n)
		ts := newTSSRanges(s.rules)
		keys := s.keys[:10000]
		out := make([]RuleID, len(keys))
		ts.classify(keys, out)
		ref := newLinear(s.rules)
		for i := range keys {
			if want := ref.classify(&keys[i]); out[i] != want {
				t.Fatalf("%d rules, key %d: tss %d, want %d", n, i, out[i], want)
			}
		}
		t.Logf("%d rules: %d tuples", n, len(ts.tuples))
	}
}

func BenchmarkTSSRanges(b *testing.B) {
	for _, n := range aclSizes {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			s := aclData(b, n)
			ts := newTSSRanges(s.rules)
			out := make([]RuleID, 256)
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				for i := 0; i < len(s.keys); i += 256 {
					ts.classify(s.keys[i:min(i+256, len(s.keys))], out)
				}
			}
			el := time.Since(start)
			b.ReportMetric(float64(el.Nanoseconds())/float64(b.N)/float64(len(s.keys)), "ns/key")
			b.ReportMetric(float64(len(ts.tuples)), "tuples")
		})
	}
}
