package classify

import (
	"slices"
	"time"
)

// Classifier is a compiled, immutable set of rules. Any number of
// goroutines may classify with it at once; an update compiles a new
// Classifier (Set), which the data path picks up by an atomic pointer
// swap. A nil *Classifier matches nothing.
type Classifier struct {
	rules []*Rule // by rank: priority, then creation
	ids   []RuleID
	// rest holds each rule's residual checks: what its leaf entries do
	// not compare.
	rest  [][]check
	trees []tree
	stats Stats
}

// Stats describe a compiled classifier.
type Stats struct {
	Rules       int           // rules classified
	Dead        int           // rules that can never match (left out)
	Inexact     int           // rules with residual checks beyond the leaves' ranges
	Trees       int           // partitions, one tree each
	Nodes       int           // node words over all trees
	LeafEntries int           // rule entries over all leaves (rules times their copies)
	MaxDepth    int           // steps of the deepest tree
	Bytes       int           // memory of the trees
	BuildTime   time.Duration // time Compile took
}

// Compile builds a classifier of rules. Their precedence is their order
// in rules after a stable sort by Priority: the lowest priority number
// wins, and among equal priorities the rule first in rules (first
// created). Rules are not copied and must not change afterwards.
func Compile(rules []*Rule, opt *Options) *Classifier {
	start := time.Now()
	o := opt.withDefaults()
	c := &Classifier{rules: slices.Clone(rules)}
	slices.SortStableFunc(c.rules, func(a, b *Rule) int {
		switch {
		case a.Priority < b.Priority:
			return -1
		case a.Priority > b.Priority:
			return 1
		}
		return 0
	})
	boxes := make([]box, len(c.rules))
	live := make([]int32, 0, len(c.rules))
	c.ids = make([]RuleID, len(c.rules))
	c.rest = make([][]check, len(c.rules))
	for i, r := range c.rules {
		c.ids[i] = r.ID
		b, ok := boxOf(&r.Pattern)
		if !ok || r.Group != 0 {
			c.stats.Dead++
			continue
		}
		boxes[i] = b
		rest := b.rest
		for d := DimProto + 1; d < NumDims; d++ {
			if b.lo[d] != 0 || b.hi[d] != dimMax(d) {
				rest = append(rest, check{kind: checkDim, dim: d, cond: Cond{Lo: uint64(b.lo[d]), Hi: uint64(b.hi[d])}})
			}
		}
		if len(rest) > 0 {
			c.rest[i] = rest
			c.stats.Inexact++
		}
		boxes[i].rest = rest
		live = append(live, int32(i))
	}
	c.trees = buildTrees(boxes, live, o, func(n int) int { return o.MemoryFactor*n + 1<<17 })
	c.stats.Rules = len(c.rules)
	c.stats.Trees = len(c.trees)
	for i := range c.trees {
		t := &c.trees[i]
		c.stats.Nodes += len(t.nodes)
		c.stats.LeafEntries += len(t.rules)
		c.stats.MaxDepth = max(c.stats.MaxDepth, t.depth)
		c.stats.Bytes += len(t.nodes)*8 + len(t.rules)*leafRuleSize
	}
	c.stats.BuildTime = time.Since(start)
	return c
}

// Len is the number of rules.
func (c *Classifier) Len() int {
	if c == nil {
		return 0
	}
	return len(c.rules)
}

// Rule returns the rule of index i (as ClassifyIndex reports it).
func (c *Classifier) Rule(i int) *Rule { return c.rules[i] }

// Rules returns the rules in precedence order (ClassifyIndex's indices).
func (c *Classifier) Rules() []*Rule {
	if c == nil {
		return nil
	}
	return c.rules
}

// Stats describes the compiled classifier.
func (c *Classifier) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	return c.stats
}

// burst is how many keys one pass of the trees takes: the steps of one
// level are independent loads over the burst, which the CPU overlaps.
const burst = 32

// noRank2 is the rank2 of no match.
const noRank2 = ^uint32(0)

// Classify writes, for each key, the ID of the highest-precedence rule it
// matches, or NoMatch. out must be at least as long as keys. It does not
// allocate.
func (c *Classifier) Classify(keys []Key, out []RuleID) {
	out = out[:len(keys)]
	var best [burst]uint32
	for len(keys) > 0 {
		n := min(len(keys), burst)
		c.lookup(keys[:n], &best)
		for i := range out[:n] {
			if b := best[i]; b != noRank2 {
				out[i] = c.ids[b>>1]
			} else {
				out[i] = NoMatch
			}
		}
		keys, out = keys[n:], out[n:]
	}
}

// ClassifyIndex writes, for each key, the index (into Rules) of the
// highest-precedence rule it matches, or -1. out must be at least as long
// as keys. It does not allocate.
func (c *Classifier) ClassifyIndex(keys []Key, out []int32) {
	out = out[:len(keys)]
	var best [burst]uint32
	for len(keys) > 0 {
		n := min(len(keys), burst)
		c.lookup(keys[:n], &best)
		for i := range out[:n] {
			out[i] = int32(best[i]) >> 1 // noRank2 gives -1
		}
		keys, out = keys[n:], out[n:]
	}
}

// lookup classifies up to burst keys into best (rank2 of the match).
func (c *Classifier) lookup(keys []Key, best *[burst]uint32) {
	for i := range best {
		best[i] = noRank2
	}
	if c == nil {
		return
	}
	var cur [burst]uint64
	for ti := range c.trees {
		t := &c.trees[ti]
		cs := cur[:len(keys)]
		for i := range cs {
			cs[i] = t.root
		}
		for range t.depth {
			step(t.nodes, keys, cs)
		}
		c.scan(t, keys, cs, best)
	}
}

// restMatch runs rule rank's residual checks on k.
func (c *Classifier) restMatch(rank uint32, k *Key) bool {
	for i := range c.rest[rank] {
		if !c.rest[rank][i].match(k) {
			return false
		}
	}
	return true
}

// step moves every key one level down the tree.
func step(nodes []uint64, keys []Key, cur []uint64) {
	cur = cur[:len(keys)]
	for i := range keys {
		w := cur[i]
		idx := uint32(w>>32) + keys[i].Tuple[w&uint64(NumDims-1)]>>(w>>4&31)&(uint32(1)<<(w>>9&31)-1)
		cur[i] = nodes[idx]
	}
}

// scan searches each key's leaf for the first rule (in rank order) that
// matches and ranks better than the best so far.
func (c *Classifier) scan(t *tree, keys []Key, cur []uint64, best *[burst]uint32) {
	nodes, rules := t.nodes, t.rules
	cur = cur[:len(keys)]
	for i := range keys {
		j := uint32(cur[i] >> 32)
		pl := nodes[j+1]
		s := uint32(pl >> 32)
		leaf := rules[s : s+uint32(pl)]
		b := best[i&(burst-1)]
		k := &keys[i]
		for r := range leaf {
			lr := &leaf[r]
			if lr.rank2 >= b {
				break
			}
			if k.Tuple[DimSrc]-lr.srcLo <= lr.srcSpan && k.Tuple[DimDst]-lr.dstLo <= lr.dstSpan &&
				uint16(k.Tuple[DimSrcPort])-lr.spLo <= lr.spSpan && uint16(k.Tuple[DimDstPort])-lr.dpLo <= lr.dpSpan &&
				uint16(k.Tuple[DimProto])-lr.protoLo <= lr.protoSpan &&
				(lr.rank2&1 == 0 || c.restMatch(lr.rank2>>1, k)) {
				b = lr.rank2 &^ 1
				break
			}
		}
		best[i&(burst-1)] = b
	}
}
