package classify

import (
	"math/bits"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// ItemType is a pattern item: one protocol header a rule matches.
type ItemType uint8

// Pattern items, in the order they may appear in a pattern.
const (
	ItemEth ItemType = iota + 1
	ItemVLAN
	ItemIPv4
	ItemIPv6
	ItemTCP
	ItemUDP
	ItemICMP
	numItems
)

var itemNames = [numItems]string{ItemEth: "eth", ItemVLAN: "vlan", ItemIPv4: "ipv4", ItemIPv6: "ipv6", ItemTCP: "tcp", ItemUDP: "udp", ItemICMP: "icmp"}

func (t ItemType) String() string {
	if t > 0 && t < numItems {
		return itemNames[t]
	}
	return "unknown"
}

// layer orders items: each item of a pattern must be of a higher layer
// than the one before.
func (t ItemType) layer() int {
	switch t {
	case ItemEth:
		return 1
	case ItemVLAN:
		return 2
	case ItemIPv4, ItemIPv6:
		return 3
	}
	return 4
}

// Field is one header field a pattern can constrain. IPv6 addresses are
// two fields each (the high and the low 64 bits); every field is at most
// 64 bits wide.
type Field uint8

// Fields, grouped by item.
const (
	EthDst Field = iota
	EthSrc
	EthType
	VLANTCI
	VLANInnerType
	IPv4Src
	IPv4Dst
	IPv4Proto
	IPv4TOS
	IPv4TTL
	IPv6SrcHi
	IPv6SrcLo
	IPv6DstHi
	IPv6DstLo
	IPv6Proto
	TCPSrc
	TCPDst
	TCPFlags
	UDPSrc
	UDPDst
	ICMPType
	ICMPCode
	NumFields
)

// fieldInfo describes a Field.
type fieldInfo struct {
	item ItemType
	bits uint8
	name string // as in the flow syntax ("" for the low half of an IPv6 address)
}

var fields = [NumFields]fieldInfo{
	EthDst:        {ItemEth, 48, "dst"},
	EthSrc:        {ItemEth, 48, "src"},
	EthType:       {ItemEth, 16, "type"},
	VLANTCI:       {ItemVLAN, 16, "tci"},
	VLANInnerType: {ItemVLAN, 16, "inner_type"},
	IPv4Src:       {ItemIPv4, 32, "src"},
	IPv4Dst:       {ItemIPv4, 32, "dst"},
	IPv4Proto:     {ItemIPv4, 8, "proto"},
	IPv4TOS:       {ItemIPv4, 8, "tos"},
	IPv4TTL:       {ItemIPv4, 8, "ttl"},
	IPv6SrcHi:     {ItemIPv6, 64, "src"},
	IPv6SrcLo:     {ItemIPv6, 64, ""},
	IPv6DstHi:     {ItemIPv6, 64, "dst"},
	IPv6DstLo:     {ItemIPv6, 64, ""},
	IPv6Proto:     {ItemIPv6, 8, "proto"},
	TCPSrc:        {ItemTCP, 16, "src"},
	TCPDst:        {ItemTCP, 16, "dst"},
	TCPFlags:      {ItemTCP, 8, "flags"},
	UDPSrc:        {ItemUDP, 16, "src"},
	UDPDst:        {ItemUDP, 16, "dst"},
	ICMPType:      {ItemICMP, 8, "type"},
	ICMPCode:      {ItemICMP, 8, "code"},
}

// Bits is the field's width.
func (f Field) Bits() int { return int(fields[f].bits) }

// Item is the item the field belongs to.
func (f Field) Item() ItemType { return fields[f].item }

func (f Field) String() string {
	if f >= NumFields {
		return "unknown"
	}
	n := fields[f].name
	switch f {
	case IPv6SrcLo:
		n = "src(low)"
	case IPv6DstLo:
		n = "dst(low)"
	}
	return fields[f].item.String() + " " + n
}

func fullMask(bits uint8) uint64 { return ^uint64(0) >> (64 - bits) }

// value reads field f from k.
func (f Field) value(k *Key) uint64 {
	t := &k.Tuple
	switch f {
	case EthDst:
		return k.EthDst
	case EthSrc:
		return k.EthSrc
	case EthType:
		return uint64(t[DimEtherType])
	case VLANTCI:
		return uint64(vlanTCI(t[DimVLAN]))
	case VLANInnerType:
		return uint64(t[DimInnerType])
	case IPv4Src:
		return uint64(t[DimSrc])
	case IPv4Dst:
		return uint64(t[DimDst])
	case IPv4Proto, IPv6Proto:
		return uint64(k.Proto())
	case IPv4TOS:
		return uint64(k.TOS())
	case IPv4TTL:
		return uint64(k.TTL())
	case IPv6SrcHi:
		return uint64(t[DimSrc])<<32 | uint64(t[DimSrc6B])
	case IPv6SrcLo:
		return uint64(t[DimSrc6C])<<32 | uint64(t[DimSrc6D])
	case IPv6DstHi:
		return uint64(t[DimDst])<<32 | uint64(t[DimDst6B])
	case IPv6DstLo:
		return uint64(t[DimDst6C])<<32 | uint64(t[DimDst6D])
	case TCPSrc, UDPSrc, ICMPType:
		return uint64(t[DimSrcPort])
	case TCPDst, UDPDst, ICMPCode:
		return uint64(t[DimDstPort])
	case TCPFlags:
		return uint64(t[DimTCPFlags])
	}
	return 0
}

// Cond is a constraint on one field, rte_flow's spec/last/mask: a value v
// matches when Lo <= v&Mask <= Hi. Lo and Hi have no bits outside Mask.
// The zero Cond (Mask 0) matches everything.
type Cond struct {
	Lo, Hi, Mask uint64
}

// IsAny reports whether c matches every value.
func (c Cond) IsAny() bool { return c.Mask == 0 }

// Match reports whether v satisfies c.
func (c Cond) Match(v uint64) bool {
	v &= c.Mask
	return c.Lo <= v && v <= c.Hi
}

// prefixLen returns the length of mask's prefix in a field of width w and
// whether mask is exactly that prefix.
func prefixLen(mask uint64, w uint8) (int, bool) {
	m := mask << (64 - w)
	p := bits.LeadingZeros64(^m)
	if p > int(w) {
		p = int(w)
	}
	return p, m<<p == 0
}

// cover is the smallest range of values containing every value that
// satisfies c in a field of w bits, and whether c is exactly that range.
// The top p bits of v&Mask are v's own when Mask starts with p ones, and
// comparing v&Mask with Lo and Hi compares those first.
func (c Cond) cover(w uint8) (lo, hi uint64, exact bool) {
	p, exact := prefixLen(c.Mask, w)
	if p == 0 {
		return 0, fullMask(w), exact
	}
	top := fullMask(w) &^ (fullMask(w) >> p)
	return c.Lo & top, c.Hi&top | fullMask(w)&^top, exact
}

// Pattern is what a rule matches, normalized from its items.
type Pattern struct {
	// Items are the pattern's items in order, as written.
	Items []ItemType
	// L3 is the network layer the items imply (L3None: any packet).
	L3 L3
	// L4 is the IP protocol the upper-layer item implies (TCP, UDP, ICMP),
	// whose header must be in the packet; 0 if there is none.
	L4 uint8
	// VLAN says the frame must be VLAN-tagged.
	VLAN bool
	// Conds holds the constraint on each field; most are IsAny.
	Conds [NumFields]Cond
}

// Has reports whether the pattern has an item of type t.
func (p *Pattern) Has(t ItemType) bool {
	for _, it := range p.Items {
		if it == t {
			return true
		}
	}
	return false
}

// Matches reports whether k matches p. It is the classifier's reference
// semantics: plain and slow, every field in turn.
func (p *Pattern) Matches(k *Key) bool {
	if p.L3 != L3None && k.L3() != p.L3 {
		return false
	}
	if p.L4 != 0 && (!k.HasL4() || k.Proto() != p.L4) {
		return false
	}
	if p.VLAN && !k.Tagged() {
		return false
	}
	for f := range NumFields {
		if c := p.Conds[f]; !c.IsAny() && !c.Match(f.value(k)) {
			return false
		}
	}
	return true
}

// l4Proto is the IP protocol an upper-layer item implies.
func l4Proto(t ItemType) uint8 {
	switch t {
	case ItemTCP:
		return header.ProtoTCP
	case ItemUDP:
		return header.ProtoUDP
	case ItemICMP:
		return header.ProtoICMP
	}
	return 0
}
