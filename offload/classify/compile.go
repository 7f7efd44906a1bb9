package classify

// box is a rule as the trees see it: one range per dimension, and the
// checks a key in the box must also pass. A key matches the rule when it
// lies in the box and passes them.
type box struct {
	lo, hi [NumDims]uint32
	// exact says the box alone is the pattern.
	exact bool
	// rest are the checks, first those the box cannot express (boxOf),
	// then ranges of the dimensions leaves do not compare (Compile).
	rest []check
}

// check is one test the box cannot express.
type check struct {
	kind  checkKind
	field Field // checkField
	dim   Dim   // checkDim
	// cond is the field's condition (checkField), the range of the
	// dimension (checkDim: Lo and Hi), or the protocol (checkL4: Lo).
	cond Cond
}

type checkKind uint8

const (
	// checkField: cond on field.
	checkField checkKind = iota
	// checkL4: the packet is IPv4 or IPv6 with protocol cond.Lo and its
	// header (an upper-layer item without an IP item).
	checkL4
	// checkDim: the key's Tuple[dim] is in [cond.Lo, cond.Hi] (for the
	// dimensions leaves do not compare).
	checkDim
)

func (c *check) match(k *Key) bool {
	switch c.kind {
	case checkL4:
		return k.Proto() == uint8(c.cond.Lo) && k.HasL4()
	case checkDim:
		v := uint64(k.Tuple[c.dim&(NumDims-1)])
		return c.cond.Lo <= v && v <= c.cond.Hi
	}
	return c.cond.Match(c.field.value(k))
}

// boxOf reduces a pattern to its box and checks. ok is false if the
// pattern can never match.
func boxOf(p *Pattern) (b box, ok bool) {
	for d := range NumDims {
		b.hi[d] = dimMax(d)
	}
	// residual notes that field f's condition is not all in the box.
	residual := func(f Field) { b.rest = append(b.rest, check{kind: checkField, field: f, cond: p.Conds[f]}) }
	set := func(d Dim, lo, hi uint64, exact bool, f Field) {
		b.lo[d], b.hi[d] = uint32(lo), uint32(hi)
		if !exact {
			residual(f)
		}
	}
	setCond := func(d Dim, f Field) {
		if c := p.Conds[f]; !c.IsAny() {
			lo, hi, ex := c.cover(fields[f].bits)
			set(d, lo, hi, ex, f)
		}
	}
	// setHalves sets dimensions d0 and d1 from the top and bottom 32 bits
	// of a 64-bit field (half an IPv6 address). Without a range the
	// halves are independent conditions, each exact if its mask is a
	// prefix.
	setHalves := func(f Field, d0, d1 Dim) {
		c := p.Conds[f]
		if c.IsAny() {
			return
		}
		if c.Lo != c.Hi {
			lo, hi, _ := c.cover(64)
			b.lo[d0], b.hi[d0] = uint32(lo>>32), uint32(hi>>32)
			residual(f)
			return
		}
		exact := true
		for i, d := range []Dim{d0, d1} {
			sh := 32 * (1 - i)
			h := Cond{Lo: c.Lo >> sh & 0xffffffff, Hi: c.Hi >> sh & 0xffffffff, Mask: c.Mask >> sh & 0xffffffff}
			lo, hi, ex := h.cover(32)
			b.lo[d], b.hi[d] = uint32(lo), uint32(hi)
			exact = exact && ex
		}
		if !exact {
			residual(f)
		}
	}
	switch p.L3 {
	case L3IPv4:
		setCond(DimSrc, IPv4Src)
		setCond(DimDst, IPv4Dst)
		// TOS<<8|TTL: a range of TOS, or one TOS and a range of TTL.
		tos, ttl := p.Conds[IPv4TOS], p.Conds[IPv4TTL]
		if !tos.IsAny() || !ttl.IsAny() {
			tlo, thi, tex := tos.cover(8)
			lo, hi := tlo<<8, thi<<8|0xff
			switch {
			case tex && tlo == thi && !ttl.IsAny():
				llo, lhi, lex := ttl.cover(8)
				lo, hi = tlo<<8|llo, tlo<<8|lhi
				if !lex {
					residual(IPv4TTL)
				}
			case !ttl.IsAny():
				residual(IPv4TTL)
			}
			b.lo[DimTOSTTL], b.hi[DimTOSTTL] = uint32(lo), uint32(hi)
			if !tex {
				residual(IPv4TOS)
			}
		}
	case L3IPv6:
		setHalves(IPv6SrcHi, DimSrc, DimSrc6B)
		setHalves(IPv6SrcLo, DimSrc6C, DimSrc6D)
		setHalves(IPv6DstHi, DimDst, DimDst6B)
		setHalves(IPv6DstLo, DimDst6C, DimDst6D)
	}
	for _, f := range []Field{TCPSrc, UDPSrc, ICMPType} {
		setCond(DimSrcPort, f)
	}
	for _, f := range []Field{TCPDst, UDPDst, ICMPCode} {
		setCond(DimDstPort, f)
	}
	setCond(DimEtherType, EthType)
	setCond(DimTCPFlags, TCPFlags)
	setCond(DimInnerType, VLANInnerType)

	// Protocol dimension.
	pf := IPv4Proto
	if p.L3 == L3IPv6 {
		pf = IPv6Proto
	}
	pc := p.Conds[pf]
	switch {
	case p.L4 != 0:
		if !pc.IsAny() && !pc.Match(uint64(p.L4)) {
			return b, false
		}
		if p.L3 != L3None {
			v := ProtoDim(p.L3, p.L4, true)
			b.lo[DimProto], b.hi[DimProto] = v, v
		} else {
			b.lo[DimProto], b.hi[DimProto] = ProtoDim(L3IPv4, p.L4, true), ProtoDim(L3IPv6, p.L4, true)
			b.rest = append(b.rest, check{kind: checkL4, cond: Cond{Lo: uint64(p.L4)}})
		}
	case p.L3 != L3None:
		lo, hi, ex := pc.cover(8)
		set(DimProto, uint64(ProtoDim(p.L3, uint8(lo), false)), uint64(ProtoDim(p.L3, uint8(hi), true)), ex, pf)
	}

	// VLAN dimension: the VID first, then PCP and DEI (VLANDim).
	if p.VLAN {
		c := p.Conds[VLANTCI]
		if c.Lo == c.Hi {
			pv := VLANDim(true, uint16(c.Lo))
			pm := VLANDim(true, uint16(c.Mask))
			lo, hi, ex := Cond{Lo: uint64(pv), Hi: uint64(pv), Mask: uint64(pm)}.cover(dimBits[DimVLAN])
			set(DimVLAN, lo, hi, ex, VLANTCI)
		} else {
			set(DimVLAN, 1<<16, uint64(dimMax(DimVLAN)), false, VLANTCI)
		}
	}

	// Fields no dimension holds.
	for _, f := range []Field{EthDst, EthSrc} {
		if !p.Conds[f].IsAny() {
			residual(f)
		}
	}
	for d := range NumDims {
		if b.lo[d] > b.hi[d] {
			return b, false
		}
	}
	b.exact = len(b.rest) == 0
	return b, true
}
