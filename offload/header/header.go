// Package header holds zero-copy views of the packet headers offloadpmd's
// engines work on: Ethernet (with VLAN and QinQ tags), IPv4, IPv6 with its
// extension headers, TCP and UDP. Each view is a named []byte with offset
// constants and accessors; IsValid checks a view once, after which the
// accessors read without further checks. Parse walks a frame and returns
// its Layout.
package header

import "encoding/binary"

var be = binary.BigEndian

// EtherType values the parser knows.
const (
	EtherTypeIPv4  = 0x0800
	EtherTypeIPv6  = 0x86dd
	EtherTypeVLAN  = 0x8100
	EtherTypeQinQ  = 0x88a8
	EtherTypeQinQ1 = 0x9100 // pre-standard QinQ
)

// IP protocol numbers (and IPv6 next headers) the parser knows.
const (
	ProtoHopByHop = 0
	ProtoICMP     = 1
	ProtoTCP      = 6
	ProtoUDP      = 17
	ProtoRouting  = 43
	ProtoFragment = 44
	ProtoESP      = 50
	ProtoAH       = 51
	ProtoICMPv6   = 58
	ProtoNoNext   = 59
	ProtoDestOpts = 60
)

// Ethernet is an Ethernet II header.
type Ethernet []byte

// Ethernet layout.
const (
	EthernetLen  = 14
	ethDst       = 0
	ethSrc       = 6
	ethType      = 12
	VLANTagLen   = 4
	MaxVLANTags  = 2
	MaxL2Len     = EthernetLen + MaxVLANTags*VLANTagLen
	ethMACLength = 6
)

// Dst is the destination MAC.
func (e Ethernet) Dst() [6]byte { return [6]byte(e[ethDst : ethDst+ethMACLength]) }

// Src is the source MAC.
func (e Ethernet) Src() [6]byte { return [6]byte(e[ethSrc : ethSrc+ethMACLength]) }

// Type is the EtherType of the untagged header.
func (e Ethernet) Type() uint16 { return be.Uint16(e[ethType:]) }

// L2 reads an Ethernet header with up to two VLAN tags and returns its
// length and the EtherType after the tags. ok is false if b is too short.
func L2(b []byte) (length int, etherType uint16, ok bool) {
	if len(b) < EthernetLen {
		return 0, 0, false
	}
	length, etherType = EthernetLen, be.Uint16(b[ethType:])
	for range MaxVLANTags {
		if etherType != EtherTypeVLAN && etherType != EtherTypeQinQ && etherType != EtherTypeQinQ1 {
			break
		}
		if len(b) < length+VLANTagLen {
			return 0, 0, false
		}
		etherType = be.Uint16(b[length+2:])
		length += VLANTagLen
	}
	return length, etherType, true
}
