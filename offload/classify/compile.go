package classify

// box is a rule as the trees see it: one range per dimension. A packet
// whose Tuple lies in the box may match the rule; if exact, it does.
type box struct {
	lo, hi [NumDims]uint32
	exact  bool
}

// narrow32 maps a cover of a 64-bit field onto the dimension holding its
// top 32 bits; exact only if the cover says nothing of the low 32 bits.
func narrow32(c Cond) (lo, hi uint32, exact bool) {
	l, h, ex := c.cover(64)
	return uint32(l >> 32), uint32(h >> 32), ex && c.Mask&0xffffffff == 0
}

// boxOf reduces a pattern to its box. ok is false if the pattern can never
// match.
func boxOf(p *Pattern) (b box, ok bool) {
	b.exact = true
	for d := range NumDims {
		b.hi[d] = dimMax(d)
	}
	set := func(d Dim, lo, hi uint64, exact bool) {
		b.lo[d], b.hi[d] = uint32(lo), uint32(hi)
		b.exact = b.exact && exact
	}
	setCond := func(d Dim, f Field) {
		if c := p.Conds[f]; !c.IsAny() {
			lo, hi, ex := c.cover(fields[f].bits)
			set(d, lo, hi, ex)
		}
	}
	switch p.L3 {
	case L3IPv4:
		setCond(DimSrc, IPv4Src)
		setCond(DimDst, IPv4Dst)
	case L3IPv6:
		for _, x := range []struct {
			d      Dim
			hi, lo Field
		}{{DimSrc, IPv6SrcHi, IPv6SrcLo}, {DimDst, IPv6DstHi, IPv6DstLo}} {
			if c := p.Conds[x.hi]; !c.IsAny() {
				lo, hi, ex := narrow32(c)
				set(x.d, uint64(lo), uint64(hi), ex)
			}
			b.exact = b.exact && p.Conds[x.lo].IsAny()
		}
	}
	for _, f := range []Field{TCPSrc, UDPSrc, ICMPType} {
		setCond(DimSrcPort, f)
	}
	for _, f := range []Field{TCPDst, UDPDst, ICMPCode} {
		setCond(DimDstPort, f)
	}
	setCond(DimEtherType, EthType)
	setCond(DimTCPFlags, TCPFlags)

	// Protocol dimension.
	pc := p.Conds[IPv4Proto]
	if p.L3 == L3IPv6 {
		pc = p.Conds[IPv6Proto]
	}
	switch {
	case p.L4 != 0:
		if !pc.IsAny() && !pc.Match(uint64(p.L4)) {
			return b, false
		}
		if p.L3 != L3None {
			v := ProtoDim(p.L3, p.L4, true)
			set(DimProto, uint64(v), uint64(v), true)
		} else {
			set(DimProto, uint64(ProtoDim(L3IPv4, p.L4, true)), uint64(ProtoDim(L3IPv6, p.L4, true)), false)
		}
	case p.L3 != L3None:
		lo, hi, ex := pc.cover(8)
		set(DimProto, uint64(ProtoDim(p.L3, uint8(lo), false)), uint64(ProtoDim(p.L3, uint8(hi), true)), ex)
	}

	// VLAN dimension: the VID first, then PCP and DEI (VLANDim).
	if p.VLAN {
		c := p.Conds[VLANTCI]
		if c.Lo == c.Hi {
			pv := VLANDim(true, uint16(c.Lo))
			pm := VLANDim(true, uint16(c.Mask))
			lo, hi, ex := Cond{Lo: uint64(pv), Hi: uint64(pv), Mask: uint64(pm)}.cover(dimBits[DimVLAN])
			set(DimVLAN, lo, hi, ex)
		} else {
			set(DimVLAN, 1<<16, uint64(dimMax(DimVLAN)), false)
		}
	}

	// Fields no dimension holds.
	for _, f := range []Field{EthDst, EthSrc, VLANInnerType, IPv4TOS, IPv4TTL} {
		b.exact = b.exact && p.Conds[f].IsAny()
	}
	for d := range NumDims {
		if b.lo[d] > b.hi[d] {
			return b, false
		}
	}
	return b, true
}

func (b *box) contains(k *Key) bool {
	for d := range NumDims {
		if v := k.Tuple[d]; v < b.lo[d] || v > b.hi[d] {
			return false
		}
	}
	return true
}
