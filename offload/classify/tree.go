package classify

import "slices"

// The trees are HiCuts decision trees (Gupta and McKeown, "Packet
// Classification using Hierarchical Intelligent Cuttings", Hot
// Interconnects 1999) with cuts on bit boundaries, so that a node's child
// is an index computed from the key with a shift and a mask, and with
// HiCuts' removal of rules hidden behind a higher-priority rule covering a
// whole child. Rules are first partitioned by the dimension in which they
// are narrow, as EffiCuts does by their large fields (Vamanan, Voskuilen
// and Vijaykumar, SIGCOMM 2010), so that wildcards in one dimension do not
// replicate across cuts in that dimension: each partition is one tree,
// and a lookup searches every tree, keeping the best match.
//
// A tree is an array of 64-bit node words. An internal node is
//
//	base<<32 | k<<9 | shift<<4 | dim
//
// whose child for key t is nodes[base + (t[dim]>>shift) & (1<<k-1)]. A
// leaf is j<<32 | leafBit with k, shift and dim 0, stored at nodes[j] and
// copied into its parents' child slots, so a step from a leaf stays on it:
// every lookup takes the tree's depth in steps, without a branch on the
// node kind. nodes[j+1] is start<<32 | count of the leaf's rules in
// tree.rules, in rank order.

const leafBit = 1 << 14

// leafRule is one rule of a leaf: its box in the first five dimensions,
// as low end and span, and its rank. rank2 is rank<<1 | 1 if the rule
// needs its full pattern checked (it constrains more than these ranges).
type leafRule struct {
	srcLo, srcSpan     uint32
	dstLo, dstSpan     uint32
	spLo, spSpan       uint16
	dpLo, dpSpan       uint16
	protoLo, protoSpan uint16
	rank2              uint32
}

// leafRuleSize is the size of a leafRule: two to a cache line
// (TestSizes).
const leafRuleSize = 32

type tree struct {
	nodes []uint64
	rules []leafRule
	root  uint64
	depth int
	first uint32 // rank of the best rule in the tree
}

// Options tune the trees. The zero value takes the defaults.
type Options struct {
	// LeafSize is the most rules a leaf holds when cutting further is
	// possible (HiCuts' binth). Default 4.
	LeafSize int
	// SpaceFactor bounds a cut of a node of n rules: its children plus
	// the rules copied into them may number at most SpaceFactor*n (HiCuts'
	// spfac). Default 8.
	SpaceFactor int
	// MaxCutBits is the most bits one cut takes (2^MaxCutBits children).
	// Default 16.
	MaxCutBits int
	// MaxDepth bounds a tree's depth. Default 12.
	MaxDepth int
	// MemoryFactor bounds a tree: its node words and leaf entries number
	// at most MemoryFactor times its rules, plus 2^17. Past that, nodes
	// are left as longer leaves. Default 32.
	MemoryFactor int
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.LeafSize <= 0 {
		r.LeafSize = 4
	}
	if r.SpaceFactor <= 0 {
		r.SpaceFactor = 8
	}
	if r.MaxCutBits <= 0 || r.MaxCutBits > 24 {
		r.MaxCutBits = 16
	}
	if r.MaxDepth <= 0 {
		r.MaxDepth = 12
	}
	if r.MemoryFactor <= 0 {
		r.MemoryFactor = 32
	}
	return r
}

// region is the part of the key space a node covers: per dimension a
// range of 2^n values aligned on 2^n.
type region struct {
	lo, hi [NumDims]uint32
}

type builder struct {
	opt    Options
	boxes  []box // by rank
	t      *tree
	leaves map[string]uint64
	diff   []int32
	key    []byte
	// used counts node words and leaf entries, the ones of pending jobs
	// included; a cut that would take it past budget is not made.
	used, budget int
}

// job is a node to build: its rules (ranks, ascending), region and depth,
// and where its word goes (slot in nodes, or the root if -1).
type job struct {
	slot  int
	list  []int32
	reg   region
	depth int
}

// buildTree builds a tree of the rules (ranks, ascending), breadth first,
// so that if the memory budget runs out it is the deepest levels that are
// left as longer leaves.
func buildTree(boxes []box, ranks []int32, opt Options, budget int) tree {
	t := &tree{}
	b := &builder{opt: opt, boxes: boxes, t: t, leaves: map[string]uint64{}, budget: budget}
	var reg region
	for d := range NumDims {
		reg.hi[d] = dimMax(d)
	}
	if len(ranks) > 0 {
		t.first = uint32(ranks[0])
	}
	root := job{slot: -1, list: b.prune(ranks, &reg), reg: reg}
	b.used = len(root.list)
	queue := []job{root}
	for len(queue) > 0 {
		j := queue[0]
		queue[0] = job{}
		queue = queue[1:]
		w := b.node(&j, &queue)
		if j.slot < 0 {
			t.root = w
		} else {
			t.nodes[j.slot] = w
		}
	}
	return *t
}

// node makes j a leaf, or cuts it and queues its children.
func (b *builder) node(j *job, queue *[]job) uint64 {
	list, reg := j.list, &j.reg
	if len(list) <= b.opt.LeafSize || j.depth >= b.opt.MaxDepth {
		return b.leaf(list)
	}
	d, k, sum, ok := b.chooseCut(list, reg, j.depth == 0)
	if !ok || b.used+1<<k+sum-len(list) > b.budget {
		return b.leaf(list)
	}
	b.used += 1<<k + sum - len(list)
	t := b.t
	free := bitsOf(reg.hi[d] - reg.lo[d])
	shift := free - k
	n := 1 << k
	base := len(t.nodes)
	t.nodes = append(t.nodes, make([]uint64, n)...)
	children := make([][]int32, n)
	for _, r := range list {
		bx := &b.boxes[r]
		c0 := (max(bx.lo[d], reg.lo[d]) - reg.lo[d]) >> shift
		c1 := (min(bx.hi[d], reg.hi[d]) - reg.lo[d]) >> shift
		for c := c0; c <= c1; c++ {
			children[c] = append(children[c], r)
		}
	}
	for c := range n {
		child := job{slot: base + c, reg: *reg, depth: j.depth + 1}
		child.reg.lo[d] = reg.lo[d] + uint32(c)<<shift
		child.reg.hi[d] = child.reg.lo[d] + (uint32(1)<<shift - 1)
		child.list = b.prune(children[c], &child.reg)
		*queue = append(*queue, child)
	}
	t.depth = max(t.depth, j.depth+1)
	return uint64(base)<<32 | uint64(k)<<9 | uint64(shift)<<4 | uint64(d)
}

// bitsOf is log2(span+1) for a region's span 2^n-1.
func bitsOf(span uint32) int {
	n := 0
	for s := uint64(span) + 1; s > 1; s >>= 1 {
		n++
	}
	return n
}

// prune drops the rules no packet of reg can reach: those after the first
// exact rule whose box covers all of reg.
func (b *builder) prune(list []int32, reg *region) []int32 {
	for i, r := range list {
		bx := &b.boxes[r]
		if !bx.exact {
			continue
		}
		covers := true
		for d := range NumDims {
			if bx.lo[d] > reg.lo[d] || bx.hi[d] < reg.hi[d] {
				covers = false
				break
			}
		}
		if covers {
			return list[:i+1]
		}
	}
	return list
}

// chooseCut picks the dimension and number of bits to cut: the cut whose
// largest child is smallest, among those within the space bound, then the
// one of least space. The root may always take 2^MaxCutBits children: it
// is one node per tree, and a wide first cut saves levels.
func (b *builder) chooseCut(list []int32, reg *region, root bool) (Dim, int, int, bool) {
	n := len(list)
	budget := b.opt.SpaceFactor * n
	if root {
		budget = max(budget, 1<<b.opt.MaxCutBits)
	}
	bestD, bestK, bestMax, bestSpace, bestSum := Dim(0), 0, n, 0, 0
	for d := range NumDims {
		free := bitsOf(reg.hi[d] - reg.lo[d])
		for k := 1; k <= min(free, b.opt.MaxCutBits); k++ {
			nc := 1 << k
			if k > 1 && nc > budget {
				break
			}
			shift := free - k
			if cap(b.diff) < nc+1 {
				b.diff = make([]int32, nc+1)
			}
			diff := b.diff[:nc+1]
			clear(diff)
			sum := 0
			for _, r := range list {
				bx := &b.boxes[r]
				c0 := (max(bx.lo[d], reg.lo[d]) - reg.lo[d]) >> shift
				c1 := (min(bx.hi[d], reg.hi[d]) - reg.lo[d]) >> shift
				sum += int(c1-c0) + 1
				diff[c0]++
				diff[c1+1]--
			}
			if k > 1 && nc+sum > budget {
				break
			}
			most, run := 0, int32(0)
			for _, x := range diff[:nc] {
				run += x
				most = max(most, int(run))
			}
			space := nc + sum
			if most < bestMax || most == bestMax && bestK != 0 && space < bestSpace {
				bestD, bestK, bestMax, bestSpace, bestSum = d, k, most, space, sum
			}
		}
	}
	return bestD, bestK, bestSum, bestK != 0 && bestMax < n
}

// leaf stores a leaf of the rules in list (or finds the same list stored
// before) and returns its node word.
func (b *builder) leaf(list []int32) uint64 {
	b.key = b.key[:0]
	for _, r := range list {
		b.key = append(b.key, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
	}
	if w, ok := b.leaves[string(b.key)]; ok {
		return w
	}
	t := b.t
	j := uint64(len(t.nodes))
	w := j<<32 | leafBit
	t.nodes = append(t.nodes, w, uint64(len(t.rules))<<32|uint64(len(list)))
	for _, r := range list {
		bx := &b.boxes[r]
		lr := leafRule{
			srcLo: bx.lo[DimSrc], srcSpan: bx.hi[DimSrc] - bx.lo[DimSrc],
			dstLo: bx.lo[DimDst], dstSpan: bx.hi[DimDst] - bx.lo[DimDst],
			spLo: uint16(bx.lo[DimSrcPort]), spSpan: uint16(bx.hi[DimSrcPort] - bx.lo[DimSrcPort]),
			dpLo: uint16(bx.lo[DimDstPort]), dpSpan: uint16(bx.hi[DimDstPort] - bx.lo[DimDstPort]),
			protoLo: uint16(bx.lo[DimProto]), protoSpan: uint16(bx.hi[DimProto] - bx.lo[DimProto]),
			rank2: uint32(r) << 1,
		}
		// The leaf compares five dimensions; the others, and what the box
		// cannot say, are the rule's residual checks.
		if len(bx.rest) > 0 {
			lr.rank2 |= 1
		}
		t.rules = append(t.rules, lr)
	}
	b.leaves[string(b.key)] = w
	return w
}

// groupOf is the partition of a rule: the first dimension, in this order,
// in which its box is narrow (at most 2^(bits/2) values).
var groupOrder = []Dim{DimDst, DimSrc, DimDstPort, DimSrcPort, DimVLAN, DimEtherType, DimProto, DimTCPFlags}

func groupOf(b *box) int {
	for i, d := range groupOrder {
		if uint64(b.hi[d]-b.lo[d]) < uint64(1)<<(dimBits[d]/2) {
			return i
		}
	}
	return len(groupOrder)
}

// buildTrees partitions the rules and builds a tree of each partition.
// budget bounds each tree's node words and leaf entries.
func buildTrees(boxes []box, live []int32, opt Options, budget func(rules int) int) []tree {
	groups := make([][]int32, len(groupOrder)+1)
	for _, r := range live {
		g := groupOf(&boxes[r])
		groups[g] = append(groups[g], r)
	}
	var trees []tree
	for _, g := range groups {
		if len(g) > 0 {
			trees = append(trees, buildTree(boxes, g, opt, budget(len(g))))
		}
	}
	slices.SortFunc(trees, func(a, b tree) int { return int(a.first) - int(b.first) })
	return trees
}
