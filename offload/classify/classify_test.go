package classify

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// Random rules and keys draw their values from small pools, so that rules
// overlap and keys hit them.
var (
	poolIPv4  = []string{"10.0.0.0", "10.0.0.1", "10.0.1.7", "10.1.0.0", "10.1.2.3", "192.168.0.1", "0.0.0.0", "255.255.255.255"}
	poolIPv6  = []string{"2001:db8::", "2001:db8::1", "2001:db8:0:1::5", "2001:db9::1", "fe80::1", "::"}
	poolPorts = []uint16{0, 1, 7, 53, 80, 443, 1000, 1024, 2000, 8080, 65535}
	poolMACs  = []string{"00:00:00:00:00:01", "02:00:00:00:00:02", "ff:ff:ff:ff:ff:ff"}
	poolTCI   = []uint16{1, 5, 0x2005, 0xe00f, 0x0fff}
	poolProto = []uint8{header.ProtoTCP, header.ProtoUDP, header.ProtoICMP, header.ProtoESP}
)

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

// randField writes one field constraint in one of the syntax's forms.
func randField(rng *rand.Rand, b *strings.Builder, name string, val func() string, bits int, num bool) {
	switch rng.IntN(5) {
	case 0:
		fmt.Fprintf(b, " %s is %s", name, val())
	case 1:
		n := bits - rng.IntN(bits/2+1)
		if rng.IntN(4) == 0 {
			n = rng.IntN(bits + 1)
		}
		fmt.Fprintf(b, " %s spec %s %s prefix %d", name, val(), name, n)
	case 2:
		fmt.Fprintf(b, " %s spec %s", name, val())
	case 3:
		if num {
			lo := rng.Uint64() & fullMask(uint8(bits))
			switch bits {
			case 16:
				lo = uint64(pick(rng, poolPorts))
			case 8:
				lo = uint64(rng.IntN(20))
			}
			hi := lo + uint64(rng.IntN(3000))
			hi = min(hi, fullMask(uint8(bits)))
			fmt.Fprintf(b, " %s spec %d %s last %d", name, lo, name, hi)
			if rng.IntN(3) == 0 {
				fmt.Fprintf(b, " %s mask %#x", name, fullMask(uint8(bits))&^(fullMask(uint8(bits))>>rng.IntN(bits+1)))
			}
			return
		}
		fallthrough
	default:
		var mask string
		switch {
		case bits == 32 && !num:
			mask = pick(rng, []string{"255.0.255.0", "255.255.0.0", "0.0.0.255", "255.255.255.255"})
		case bits == 48:
			mask = pick(rng, []string{"ff:ff:ff:ff:ff:ff", "ff:00:00:00:00:00", "00:00:00:00:00:ff"})
		case bits == 128:
			mask = pick(rng, []string{"ffff:ffff::", "::ffff", "ff00::ff"})
		default:
			mask = fmt.Sprintf("%#x", rng.Uint64()&fullMask(uint8(bits)))
		}
		fmt.Fprintf(b, " %s spec %s %s mask %s", name, val(), name, mask)
	}
}

// randRule writes a random rule in the flow syntax.
func randRule(rng *rand.Rand, density float64) string {
	p := func() bool { return rng.Float64() < density }
	var b strings.Builder
	if rng.IntN(2) == 0 {
		fmt.Fprintf(&b, "priority %d ", rng.IntN(4))
	}
	b.WriteString("ingress pattern ")
	num := func(bits int) func() string {
		return func() string {
			switch bits {
			case 16:
				return fmt.Sprint(pick(rng, poolPorts))
			case 8:
				return fmt.Sprint(rng.IntN(20))
			}
			return fmt.Sprint(rng.Uint64() & fullMask(uint8(bits)))
		}
	}
	if rng.IntN(2) == 0 {
		b.WriteString("eth")
		if rng.IntN(4) == 0 {
			randField(rng, &b, pick(rng, []string{"src", "dst"}), func() string { return pick(rng, poolMACs) }, 48, false)
		}
		if rng.IntN(6) == 0 {
			randField(rng, &b, "type", func() string { return pick(rng, []string{"0x0800", "0x86dd", "0x8100"}) }, 16, true)
		}
		b.WriteString(" / ")
	}
	if rng.IntN(4) == 0 {
		b.WriteString("vlan")
		switch rng.IntN(4) {
		case 0:
			fmt.Fprintf(&b, " vid is %d", pick(rng, poolTCI)&0xfff)
		case 1:
			randField(rng, &b, "tci", func() string { return fmt.Sprint(pick(rng, poolTCI)) }, 16, true)
		case 2:
			fmt.Fprintf(&b, " pcp is %d", rng.IntN(8))
		}
		if rng.IntN(5) == 0 {
			fmt.Fprintf(&b, " inner_type is %s", pick(rng, []string{"0x0800", "0x86dd"}))
		}
		b.WriteString(" / ")
	}
	l3 := 1 + rng.IntN(3) // ipv4 twice as often as ipv6
	if rng.Float64() < (1-density)/2 {
		l3 = 0
	}
	l4 := rng.IntN(3)
	if rng.Float64() < (1-density)/2 {
		l4 = 3
	}
	if l3 == 3 && l4 == 2 {
		l4 = 0
	}
	switch l3 {
	case 1, 2:
		b.WriteString("ipv4")
		for _, f := range []string{"src", "dst"} {
			if p() {
				randField(rng, &b, f, func() string { return pick(rng, poolIPv4) }, 32, false)
			}
		}
		if rng.IntN(8) == 0 {
			randField(rng, &b, pick(rng, []string{"tos", "ttl"}), num(8), 8, true)
		}
		if l4 == 3 && rng.IntN(3) == 0 {
			fmt.Fprintf(&b, " proto is %d", pick(rng, poolProto))
		}
		b.WriteString(" / ")
	case 3:
		b.WriteString("ipv6")
		for _, f := range []string{"src", "dst"} {
			if p() {
				randField(rng, &b, f, func() string { return pick(rng, poolIPv6) }, 128, false)
			}
		}
		b.WriteString(" / ")
	}
	switch l4 {
	case 0:
		b.WriteString("tcp")
		for _, f := range []string{"src", "dst"} {
			if p() {
				randField(rng, &b, f, num(16), 16, true)
			}
		}
		if rng.IntN(6) == 0 {
			fmt.Fprintf(&b, " flags spec 0x02 flags mask %#x", pick(rng, []int{0x02, 0x12, 0xff}))
		}
		b.WriteString(" / ")
	case 1:
		b.WriteString("udp")
		for _, f := range []string{"src", "dst"} {
			if p() {
				randField(rng, &b, f, num(16), 16, true)
			}
		}
		b.WriteString(" / ")
	case 2:
		b.WriteString("icmp")
		if p() {
			randField(rng, &b, pick(rng, []string{"type", "code"}), num(8), 8, true)
		}
		b.WriteString(" / ")
	}
	b.WriteString("end actions ")
	b.WriteString(pick(rng, []string{"drop / end", "queue index 1 / count / end", "end", "mark id 3 / end"}))
	return b.String()
}

func mustMAC(s string) uint64 {
	var v uint64
	for _, p := range strings.Split(s, ":") {
		var x uint64
		fmt.Sscanf(p, "%x", &x)
		v = v<<8 | x
	}
	return v
}

// randKey is a random packet, drawn from the same pools.
func randKey(rng *rand.Rand) Key {
	var k Key
	k.EthDst, k.EthSrc = mustMAC(pick(rng, poolMACs)), mustMAC(pick(rng, poolMACs))
	l3 := L3(rng.IntN(3))
	et := map[L3]uint16{L3None: 0x0806, L3IPv4: 0x0800, L3IPv6: 0x86dd}[l3]
	if rng.IntN(10) == 0 {
		et = uint16(rng.Uint32())
	}
	k.Tuple[DimEtherType] = uint32(et)
	if rng.IntN(3) == 0 {
		k.Tuple[DimEtherType] = header.EtherTypeVLAN
		k.Tuple[DimVLAN] = VLANDim(true, pick(rng, poolTCI)^uint16(rng.IntN(2))<<13)
		k.Tuple[DimInnerType] = uint32(et)
	}
	addr4 := func() uint32 {
		if rng.IntN(8) == 0 {
			return rng.Uint32()
		}
		var v uint32
		fmt.Sscanf(strings.ReplaceAll(pick(rng, poolIPv4), ".", " "), "%d %d %d %d", new(int), new(int), new(int), new(int))
		for _, p := range strings.Split(pick(rng, poolIPv4), ".") {
			var x uint32
			fmt.Sscanf(p, "%d", &x)
			v = v<<8 | x
		}
		return v + uint32(rng.IntN(3))
	}
	proto := pick(rng, poolProto)
	switch l3 {
	case L3IPv4:
		k.Tuple[DimSrc], k.Tuple[DimDst] = addr4(), addr4()
		k.Tuple[DimTOSTTL] = uint32(rng.IntN(20))<<8 | uint32(rng.IntN(20))
	case L3IPv6:
		if proto == header.ProtoICMP {
			proto = header.ProtoICMPv6
		}
		for _, f := range []Field{IPv6SrcHi, IPv6DstHi} {
			ip := parseIPv6(pick(rng, poolIPv6))
			ip[1] += uint64(rng.IntN(3))
			if rng.IntN(8) == 0 {
				ip = [2]uint64{rng.Uint64(), rng.Uint64()}
			}
			setField(&k, f, ip[0])
			setField(&k, f+1, ip[1])
		}
	}
	if l3 == L3None {
		return k
	}
	hasL4 := rng.IntN(10) != 0 && proto != header.ProtoESP
	k.Tuple[DimProto] = ProtoDim(l3, proto, hasL4)
	if hasL4 {
		switch proto {
		case header.ProtoTCP, header.ProtoUDP:
			port := func() uint32 { return uint32(pick(rng, poolPorts)) + uint32(rng.IntN(1500)) }
			k.Tuple[DimSrcPort], k.Tuple[DimDstPort] = port()&0xffff, port()&0xffff
			if proto == header.ProtoTCP {
				k.Tuple[DimTCPFlags] = uint32(pick(rng, []uint8{0x02, 0x12, 0x10, 0x11}))
			}
		default:
			k.Tuple[DimSrcPort], k.Tuple[DimDstPort] = uint32(rng.IntN(20)), uint32(rng.IntN(20))
		}
	}
	return k
}

// setField writes v into field f of k (the inverse of Field.value).
func setField(k *Key, f Field, v uint64) {
	t := &k.Tuple
	switch f {
	case EthDst:
		k.EthDst = v
	case EthSrc:
		k.EthSrc = v
	case EthType:
		t[DimEtherType] = uint32(v)
	case VLANTCI:
		t[DimVLAN] = VLANDim(true, uint16(v))
	case VLANInnerType:
		t[DimInnerType] = uint32(v)
	case IPv4Src:
		t[DimSrc] = uint32(v)
	case IPv4Dst:
		t[DimDst] = uint32(v)
	case IPv4Proto, IPv6Proto:
		t[DimProto] = ProtoDim(k.L3(), uint8(v), k.HasL4())
		if v != header.ProtoTCP && v != header.ProtoUDP { // keep the key one a frame could give
			t[DimSrcPort] &= 0xff
			t[DimDstPort] &= 0xff
			t[DimTCPFlags] = 0
		}
	case IPv4TOS:
		t[DimTOSTTL] = t[DimTOSTTL]&0xff | uint32(v)<<8
	case IPv4TTL:
		t[DimTOSTTL] = t[DimTOSTTL]&^0xff | uint32(v)
	case IPv6SrcHi:
		t[DimSrc], t[DimSrc6B] = uint32(v>>32), uint32(v)
	case IPv6SrcLo:
		t[DimSrc6C], t[DimSrc6D] = uint32(v>>32), uint32(v)
	case IPv6DstHi:
		t[DimDst], t[DimDst6B] = uint32(v>>32), uint32(v)
	case IPv6DstLo:
		t[DimDst6C], t[DimDst6D] = uint32(v>>32), uint32(v)
	case TCPSrc, UDPSrc, ICMPType:
		t[DimSrcPort] = uint32(v)
	case TCPDst, UDPDst, ICMPCode:
		t[DimDstPort] = uint32(v)
	case TCPFlags:
		t[DimTCPFlags] = uint32(v)
	}
}

// keyIn is a key inside rule r's pattern (before a possible nudge of one
// field, which makes near misses).
func keyIn(rng *rand.Rand, r *Rule) Key {
	p := &r.Pattern
	k := randKey(rng)
	for p.L3 != L3None && k.L3() != p.L3 || p.L4 != 0 && k.L3() == L3None {
		k = randKey(rng)
	}
	l3 := k.L3()
	proto := k.Proto()
	if p.L4 != 0 {
		proto = p.L4
	}
	if proto != k.Proto() {
		k.Tuple[DimProto] = ProtoDim(l3, proto, true)
		k.Tuple[DimSrcPort], k.Tuple[DimDstPort], k.Tuple[DimTCPFlags] = uint32(rng.IntN(20)), uint32(rng.IntN(20)), 0
	}
	k.Tuple[DimProto] |= 1 // the header is there
	if p.VLAN && !k.Tagged() {
		k.Tuple[DimVLAN] = VLANDim(true, pick(rng, poolTCI))
	}
	for f := range NumFields {
		c := p.Conds[f]
		if c.IsAny() {
			continue
		}
		x := c.Lo
		if c.Hi > c.Lo {
			x += rng.Uint64N(c.Hi - c.Lo + 1)
		}
		setField(&k, f, x&c.Mask|rng.Uint64()&^c.Mask&fullMask(fields[f].bits))
	}
	if f := Field(rng.IntN(int(NumFields))); rng.IntN(2) == 0 && !p.Conds[f].IsAny() {
		setField(&k, f, f.value(&k)^1<<rng.IntN(f.Bits()))
	}
	return k
}

func parseIPv6(s string) [2]uint64 {
	r, err := ParseRule("pattern ipv6 src is " + s + " / end actions end")
	if err != nil {
		panic(err)
	}
	return [2]uint64{r.Pattern.Conds[IPv6SrcHi].Lo, r.Pattern.Conds[IPv6SrcLo].Lo}
}

// TestDifferential checks compiled classifiers against the linear
// reference: random rule sets (prefixes, ranges, masks, wildcards, VLAN,
// IPv6, priorities), random keys, and tree shapes from a single leaf to
// one rule per leaf.
func TestDifferential(t *testing.T) {
	opts := []*Options{nil, {LeafSize: 1}, {LeafSize: 1, SpaceFactor: 1, MaxCutBits: 2}, {LeafSize: 2, MaxDepth: 3}, {LeafSize: 1000}}
	distinct := 0
	rng := rand.New(rand.NewPCG(1, 2))
	sets := 300
	if testing.Short() {
		sets = 60
	}
	hits := 0
	for set := range sets {
		n := 1 + rng.IntN(400)
		rules := make([]*Rule, n)
		density := []float64{0.3, 0.6, 0.9, -1}[set%4] // -1: Ethernet and VLAN only
		for i := range rules {
			rules[i] = randParsed(t, rng, density)
			rules[i].ID = RuleID(i)
		}
		ref := newLinear(rules)
		opt := opts[set%len(opts)]
		c := Compile(rules, opt)
		keys := make([]Key, 1000)
		for i := range keys {
			if i%2 == 0 {
				keys[i] = randKey(rng)
			} else {
				keys[i] = keyIn(rng, rules[rng.IntN(n)])
			}
		}
		out := make([]RuleID, len(keys))
		idx := make([]int32, len(keys))
		c.Classify(keys, out)
		c.ClassifyIndex(keys, idx)
		seen := map[RuleID]bool{}
		for i := range keys {
			want := ref.classify(&keys[i])
			seen[want] = true
			if out[i] != want {
				t.Fatalf("set %d (%d rules, options %+v), key %+v: got rule %d, want %d\nwant: %s\n got: %s",
					set, n, opt, keys[i], out[i], want, ruleText(rules, want), ruleText(rules, out[i]))
			}
			if want != NoMatch {
				hits++
				if c.Rule(int(idx[i])).ID != want {
					t.Fatalf("ClassifyIndex %d is rule %d, want %d", idx[i], c.Rule(int(idx[i])).ID, want)
				}
			} else if idx[i] != -1 {
				t.Fatalf("ClassifyIndex %d for no match", idx[i])
			}
		}
		distinct += len(seen)
	}
	if hits < sets*100 {
		t.Errorf("only %d of %d keys matched a rule: the test is too weak", hits, sets*1000)
	}
	t.Logf("%d of %d keys matched a rule; %d distinct rules matched (%.1f a set)", hits, sets*1000, distinct, float64(distinct)/float64(sets))
}

// randL2Rule is a random rule of Ethernet and VLAN items only, whose
// trees cut on the VLAN and EtherType dimensions.
func randL2Rule(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString("eth")
	if rng.IntN(3) == 0 {
		randField(rng, &b, "type", func() string { return pick(rng, []string{"0x0800", "0x86dd", "0x8100"}) }, 16, true)
	}
	if rng.IntN(5) != 0 {
		b.WriteString(" / vlan")
		switch rng.IntN(4) {
		case 0:
			fmt.Fprintf(&b, " vid is %d", pick(rng, poolTCI)&0xfff)
		case 1:
			lo := pick(rng, poolTCI)
			fmt.Fprintf(&b, " tci spec %d tci last %d tci mask 0xffff", lo, min(int(lo)+rng.IntN(0x3000), 0xffff))
		case 2:
			randField(rng, &b, "tci", func() string { return fmt.Sprint(pick(rng, poolTCI)) }, 16, true)
		}
		if rng.IntN(3) == 0 {
			fmt.Fprintf(&b, " pcp is %d", rng.IntN(8))
		}
	}
	// Rules matching much come last, or they would hide the others.
	prio := rng.IntN(3)
	if !strings.Contains(b.String(), " is ") && !strings.Contains(b.String(), " spec ") {
		prio = 3
	}
	return fmt.Sprintf("priority %d ingress pattern %s / end actions drop / end", prio, b.String())
}

// randParsed is a random rule, parsed. Random ranges under a mask can be
// empty, which the parser rightly refuses; those are drawn again.
func randParsed(t *testing.T, rng *rand.Rand, density float64) *Rule {
	for {
		s := ""
		if density < 0 {
			s = randL2Rule(rng)
		} else {
			s = randRule(rng, density)
		}
		r, err := ParseRule(s)
		if err == nil {
			return r
		}
		if !strings.Contains(err.Error(), "is below spec under mask") && !strings.Contains(err.Error(), "overlaps another field") {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func ruleText(rules []*Rule, id RuleID) string {
	if id == NoMatch {
		return "(none)"
	}
	return rules[id].String()
}

// TestClassifyAllocs: classifying allocates nothing, inexact rules and
// several trees included.
func TestClassifyAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rules := make([]*Rule, 300)
	for i := range rules {
		rules[i] = randParsed(t, rng, 0.6)
		rules[i].ID = RuleID(i)
	}
	c := Compile(rules, nil)
	if st := c.Stats(); st.Trees < 2 || st.Inexact == 0 {
		t.Fatalf("want several trees and inexact rules: %+v", st)
	}
	keys := make([]Key, 100)
	for i := range keys {
		keys[i] = randKey(rng)
	}
	out := make([]RuleID, len(keys))
	idx := make([]int32, len(keys))
	if a := testing.AllocsPerRun(100, func() { c.Classify(keys, out) }); a != 0 {
		t.Errorf("Classify: %v allocations per run", a)
	}
	if a := testing.AllocsPerRun(100, func() { c.ClassifyIndex(keys, idx) }); a != 0 {
		t.Errorf("ClassifyIndex: %v allocations per run", a)
	}
	var nilc *Classifier
	nilc.Classify(keys, out)
	for _, o := range out {
		if o != NoMatch {
			t.Fatal("a nil classifier matched")
		}
	}
}

func (b *box) contains(k *Key) bool {
	for d := range NumDims {
		if v := k.Tuple[d]; v < b.lo[d] || v > b.hi[d] {
			return false
		}
	}
	return true
}

// TestBoxOf: a rule's box holds every key the pattern matches, and the box
// with the residual checks is the pattern; an exact box is the pattern by
// itself.
func TestBoxOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 3000 {
		r := randParsed(t, rng, []float64{0.3, 0.9, -1}[rng.IntN(3)])
		b, ok := boxOf(&r.Pattern)
		if !ok {
			continue
		}
		for range 30 {
			k := keyIn(rng, r)
			if rng.IntN(3) == 0 {
				k = randKey(rng)
			}
			want := r.Pattern.Matches(&k)
			in := b.contains(&k)
			rest := true
			for _, c := range b.rest {
				rest = rest && c.match(&k)
			}
			if want && !in || want != (in && rest) || b.exact && in != want {
				t.Fatalf("%s\nkey %+v: matches %v, in box %v, checks %v, exact %v", r, k, want, in, rest, b.exact)
			}
		}
	}
}
