package classify

import (
	"encoding/binary"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

var be = binary.BigEndian

// Dim is one dimension of a Key's Tuple: the fields the classifier's trees
// cut on and its leaves compare.
type Dim uint8

// The dimensions. Each is an unsigned integer of DimBits(d) bits.
const (
	// DimSrc is the IPv4 source address, or bits 0-31 of the IPv6 source
	// address.
	DimSrc Dim = iota
	// DimDst is the IPv4 destination address, or bits 0-31 of the IPv6
	// destination address.
	DimDst
	// DimSrcPort is the TCP or UDP source port, or the ICMP type.
	DimSrcPort
	// DimDstPort is the TCP or UDP destination port, or the ICMP code.
	DimDstPort
	// DimProto is ProtoDim(L3, protocol, L4 header present).
	DimProto
	// DimVLAN is VLANDim(tagged, TCI) of the first VLAN tag.
	DimVLAN
	// DimEtherType is the Ethernet header's EtherType field (the TPID,
	// 0x8100 or 0x88a8, on a tagged frame).
	DimEtherType
	// DimTCPFlags is the TCP flags byte.
	DimTCPFlags
	// DimSrc6B, DimSrc6C and DimSrc6D are bits 32-63, 64-95 and 96-127 of
	// the IPv6 source address (0 for other packets).
	DimSrc6B
	DimSrc6C
	DimSrc6D
	// DimDst6B, DimDst6C and DimDst6D are those of the destination.
	DimDst6B
	DimDst6C
	DimDst6D
	// DimInnerType is the EtherType after the first VLAN tag.
	DimInnerType
	// DimTOSTTL is the IPv4 type of service and time to live, TOS<<8|TTL.
	DimTOSTTL
	// NumDims is the number of dimensions. It is a power of two so that a
	// dimension index masked with NumDims-1 needs no bounds check.
	NumDims
)

var dimBits = [NumDims]uint8{32, 32, 16, 16, 11, 17, 16, 8, 32, 32, 32, 32, 32, 32, 16, 16}

var dimNames = [NumDims]string{"src", "dst", "src-port", "dst-port", "proto", "vlan", "ethertype", "tcp-flags",
	"src6-32", "src6-64", "src6-96", "dst6-32", "dst6-64", "dst6-96", "inner-type", "tos-ttl"}

// DimBits is the width of dimension d in bits.
func DimBits(d Dim) int { return int(dimBits[d&(NumDims-1)]) }

func (d Dim) String() string {
	if d < NumDims {
		return dimNames[d]
	}
	return "unknown"
}

// dimMax is the largest value of dimension d.
func dimMax(d Dim) uint32 { return uint32(1<<dimBits[d] - 1) }

// L3 is a packet's network-layer protocol as the classifier sees it.
type L3 uint8

// Network-layer protocols.
const (
	L3None L3 = iota
	L3IPv4
	L3IPv6
)

func (l L3) String() string {
	switch l {
	case L3IPv4:
		return "ipv4"
	case L3IPv6:
		return "ipv6"
	}
	return "none"
}

// ProtoDim is the value of DimProto: l3<<9 | proto<<1 | l4, where l4 says
// that the upper-layer header a pattern can match (TCP, UDP or ICMP) is in
// the packet (it is not in a later fragment). Laid out so that what
// patterns ask for are ranges: one L3 (any protocol), one protocol (with or
// without its header), or one protocol with its header.
func ProtoDim(l3 L3, proto uint8, l4 bool) uint32 {
	v := uint32(l3)<<9 | uint32(proto)<<1
	if l4 {
		v |= 1
	}
	return v
}

// VLANDim is the value of DimVLAN: 1<<16 | VID<<4 | PCP<<1 | DEI for a
// tagged frame, 0 for an untagged one. The VID comes first so that a
// pattern on the VID alone (rte_flow's default VLAN mask) is a prefix.
func VLANDim(tagged bool, tci uint16) uint32 {
	if !tagged {
		return 0
	}
	return 1<<16 | uint32(tci&0x0fff)<<4 | uint32(tci>>12)
}

// vlanTCI inverts VLANDim's permutation of the TCI.
func vlanTCI(v uint32) uint16 { return uint16(v>>4&0x0fff) | uint16(v&0xf)<<12 }

// Key is what the classifier knows of a packet: the dimensions in Tuple,
// which the trees cut on, and the MAC addresses, which only the rules
// naming them read. A Key is 96 bytes, so that in an array every Tuple
// lies in one cache line.
//
// FromFrame and SetIPv4 fill keys as the classifier expects them; a key
// built by hand must keep the same invariants: every Tuple value within
// its dimension's width, an ICMP type and code below 256, the IPv6
// dimensions 0 for other packets.
type Key struct {
	// Tuple is indexed by Dim.
	Tuple [NumDims]uint32
	// EthDst and EthSrc are the MAC addresses in the low 48 bits.
	EthDst, EthSrc uint64
	_              [16]byte
}

// L3 is the key's network-layer protocol.
func (k *Key) L3() L3 { return L3(k.Tuple[DimProto] >> 9) }

// Proto is the key's IP protocol (the upper-layer protocol after any IPv6
// extension headers).
func (k *Key) Proto() uint8 { return uint8(k.Tuple[DimProto] >> 1) }

// HasL4 reports whether the TCP, UDP or ICMP header is in the packet.
func (k *Key) HasL4() bool { return k.Tuple[DimProto]&1 != 0 }

// Tagged reports whether the frame has a VLAN tag.
func (k *Key) Tagged() bool { return k.Tuple[DimVLAN] != 0 }

// TCI is the first VLAN tag's tag control information.
func (k *Key) TCI() uint16 { return vlanTCI(k.Tuple[DimVLAN]) }

// Src6 is the IPv6 source address as big-endian halves.
func (k *Key) Src6() [2]uint64 {
	t := &k.Tuple
	return [2]uint64{uint64(t[DimSrc])<<32 | uint64(t[DimSrc6B]), uint64(t[DimSrc6C])<<32 | uint64(t[DimSrc6D])}
}

// Dst6 is the IPv6 destination address as big-endian halves.
func (k *Key) Dst6() [2]uint64 {
	t := &k.Tuple
	return [2]uint64{uint64(t[DimDst])<<32 | uint64(t[DimDst6B]), uint64(t[DimDst6C])<<32 | uint64(t[DimDst6D])}
}

// TOS and TTL are the IPv4 type of service and time to live.
func (k *Key) TOS() uint8 { return uint8(k.Tuple[DimTOSTTL] >> 8) }

// TTL is the IPv4 time to live.
func (k *Key) TTL() uint8 { return uint8(k.Tuple[DimTOSTTL]) }

// InnerType is the EtherType after the first VLAN tag.
func (k *Key) InnerType() uint16 { return uint16(k.Tuple[DimInnerType]) }

// SetIPv4 sets an IPv4 5-tuple: the addresses, the protocol with its
// ports (or ICMP type and code) present.
func (k *Key) SetIPv4(src, dst uint32, proto uint8, sport, dport uint16) {
	k.Tuple[DimSrc], k.Tuple[DimDst] = src, dst
	k.Tuple[DimSrcPort], k.Tuple[DimDstPort] = uint32(sport), uint32(dport)
	k.Tuple[DimProto] = ProtoDim(L3IPv4, proto, proto == header.ProtoTCP || proto == header.ProtoUDP || proto == header.ProtoICMP)
}

func mac48(b []byte) uint64 {
	return uint64(be.Uint16(b))<<32 | uint64(be.Uint32(b[2:]))
}

// FromFrame fills k from an Ethernet frame b whose headers l describes
// (header.ParseHeadInto's layout for b, which returned OK). Every field is
// written, so k need not be cleared; nothing allocates.
func (k *Key) FromFrame(b []byte, l *header.Layout) {
	*k = Key{}
	if len(b) < header.EthernetLen {
		return
	}
	k.EthDst, k.EthSrc = mac48(b[0:]), mac48(b[6:])
	et := be.Uint16(b[12:])
	k.Tuple[DimEtherType] = uint32(et)
	if (et == header.EtherTypeVLAN || et == header.EtherTypeQinQ || et == header.EtherTypeQinQ1) && len(b) >= header.EthernetLen+header.VLANTagLen {
		k.Tuple[DimVLAN] = VLANDim(true, be.Uint16(b[14:]))
		k.Tuple[DimInnerType] = uint32(be.Uint16(b[16:]))
	}
	off := l.L3Off()
	var l3 L3
	switch l.L3 {
	case header.L3IPv4:
		ip := header.IPv4(b[off:])
		l3 = L3IPv4
		k.Tuple[DimSrc], k.Tuple[DimDst] = be.Uint32(b[off+12:]), be.Uint32(b[off+16:])
		k.Tuple[DimTOSTTL] = uint32(ip.TOS())<<8 | uint32(ip.TTL())
	case header.L3IPv6:
		l3 = L3IPv6
		a := b[off+8 : off+40]
		t := &k.Tuple
		t[DimSrc], t[DimSrc6B], t[DimSrc6C], t[DimSrc6D] = be.Uint32(a[0:]), be.Uint32(a[4:]), be.Uint32(a[8:]), be.Uint32(a[12:])
		t[DimDst], t[DimDst6B], t[DimDst6C], t[DimDst6D] = be.Uint32(a[16:]), be.Uint32(a[20:]), be.Uint32(a[24:]), be.Uint32(a[28:])
	default:
		return
	}
	l4 := false
	if !l.Fragment || l.FragOffset == 0 {
		o := l.L4Off()
		switch l.L4Proto {
		case header.ProtoTCP, header.ProtoUDP:
			if l.L4Len > 0 && len(b) >= o+4 {
				l4 = true
				k.Tuple[DimSrcPort], k.Tuple[DimDstPort] = uint32(be.Uint16(b[o:])), uint32(be.Uint16(b[o+2:]))
				if l.L4Proto == header.ProtoTCP && len(b) > o+13 {
					k.Tuple[DimTCPFlags] = uint32(b[o+13])
				}
			}
		case header.ProtoICMP:
			if l3 == L3IPv4 && len(b) >= o+2 {
				l4 = true
				k.Tuple[DimSrcPort], k.Tuple[DimDstPort] = uint32(b[o]), uint32(b[o+1])
			}
		}
	}
	k.Tuple[DimProto] = ProtoDim(l3, l.L4Proto, l4)
}
