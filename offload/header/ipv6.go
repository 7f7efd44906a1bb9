package header

import "net/netip"

// IPv6 is an IPv6 fixed header (RFC 8200).
type IPv6 []byte

// IPv6 layout.
const (
	IPv6Len        = 40
	ipv6VerTCFlow  = 0
	ipv6PayloadLen = 4
	ipv6NextHeader = 6
	ipv6HopLimit   = 7
	ipv6Src        = 8
	ipv6Dst        = 24

	// IPv6FragmentLen is the length of a Fragment extension header.
	IPv6FragmentLen = 8
	// MaxIPv6ExtHeaders bounds the extension-header walk.
	MaxIPv6ExtHeaders = 8
)

// IsValid reports whether b holds a whole fixed header of version 6 whose
// payload fits in the pktLen bytes from the header on.
func (b IPv6) IsValid(pktLen int) bool {
	return len(b) >= IPv6Len && b[ipv6VerTCFlow]>>4 == 6 && IPv6Len+int(b.PayloadLen()) <= pktLen
}

// TrafficClass is the traffic class (DSCP and ECN).
func (b IPv6) TrafficClass() uint8 { return uint8(be.Uint16(b[ipv6VerTCFlow:]) >> 4) }

// FlowLabel is the 20-bit flow label.
func (b IPv6) FlowLabel() uint32 { return be.Uint32(b[ipv6VerTCFlow:]) & 0xfffff }

// PayloadLen is the length after the fixed header, extensions included.
func (b IPv6) PayloadLen() uint16 { return be.Uint16(b[ipv6PayloadLen:]) }

// NextHeader is the first header after the fixed one.
func (b IPv6) NextHeader() uint8 { return b[ipv6NextHeader] }

// HopLimit is the hop limit.
func (b IPv6) HopLimit() uint8 { return b[ipv6HopLimit] }

// Src is the source address.
func (b IPv6) Src() netip.Addr { return netip.AddrFrom16([16]byte(b[ipv6Src : ipv6Src+16])) }

// Dst is the destination address.
func (b IPv6) Dst() netip.Addr { return netip.AddrFrom16([16]byte(b[ipv6Dst : ipv6Dst+16])) }

// Addrs returns the source and destination bytes, for pseudo-header sums.
func (b IPv6) Addrs() []byte { return b[ipv6Src : ipv6Dst+16] }

// SetPayloadLen sets the payload length.
func (b IPv6) SetPayloadLen(v uint16) { be.PutUint16(b[ipv6PayloadLen:], v) }

// SetNextHeader sets the next-header field.
func (b IPv6) SetNextHeader(v uint8) { b[ipv6NextHeader] = v }

// SetTrafficClass sets the traffic class, keeping the flow label.
func (b IPv6) SetTrafficClass(tc uint8) {
	w := be.Uint32(b[ipv6VerTCFlow:])
	be.PutUint32(b[ipv6VerTCFlow:], w&^(0xff<<20)|uint32(tc)<<20)
}

// IPv6Fields are what Encode writes.
type IPv6Fields struct {
	TrafficClass uint8
	FlowLabel    uint32
	PayloadLen   uint16
	NextHeader   uint8
	HopLimit     uint8
	Src, Dst     netip.Addr
}

// Encode writes the fixed header from f into b.
func (b IPv6) Encode(f *IPv6Fields) {
	be.PutUint32(b[ipv6VerTCFlow:], 6<<28|uint32(f.TrafficClass)<<20|f.FlowLabel&0xfffff)
	be.PutUint16(b[ipv6PayloadLen:], f.PayloadLen)
	b[ipv6NextHeader] = f.NextHeader
	b[ipv6HopLimit] = f.HopLimit
	s, d := f.Src.As16(), f.Dst.As16()
	copy(b[ipv6Src:], s[:])
	copy(b[ipv6Dst:], d[:])
}

// IPv6Fragment is a Fragment extension header.
type IPv6Fragment []byte

// NextHeader is the header after the fragmented part's start.
func (f IPv6Fragment) NextHeader() uint8 { return f[0] }

// Offset is the fragment offset in bytes.
func (f IPv6Fragment) Offset() int { return int(be.Uint16(f[2:]) &^ 7) }

// More reports the M flag.
func (f IPv6Fragment) More() bool { return f[3]&1 != 0 }

// ID is the identification.
func (f IPv6Fragment) ID() uint32 { return be.Uint32(f[4:]) }

// Encode writes a Fragment header.
func (f IPv6Fragment) Encode(next uint8, off int, more bool, id uint32) {
	f[0], f[1] = next, 0
	m := uint16(0)
	if more {
		m = 1
	}
	be.PutUint16(f[2:], uint16(off)&^7|m)
	be.PutUint32(f[4:], id)
}

// IPv6Ext is where the walk of an IPv6 header chain ended.
type IPv6Ext struct {
	// HeaderLen is the fixed header plus every extension header walked.
	HeaderLen int
	// Proto is the upper-layer protocol (or ESP, or NoNext).
	Proto uint8
	// FragOff is the offset of a Fragment header from the start of the
	// IPv6 header, 0 if there is none.
	FragOff int
	// LastNextHeader is the offset of the next-header byte that names
	// Proto (6 for the fixed header).
	LastNextHeader int
}

// WalkIPv6 follows b's extension headers (hop-by-hop, routing, fragment,
// destination options, AH) up to the upper-layer header. ok is false if a
// header runs past b or the chain is longer than MaxIPv6ExtHeaders.
func WalkIPv6(b IPv6) (IPv6Ext, bool) {
	e := IPv6Ext{HeaderLen: IPv6Len, Proto: b.NextHeader(), LastNextHeader: ipv6NextHeader}
	for range MaxIPv6ExtHeaders {
		var n int
		switch e.Proto {
		case ProtoHopByHop, ProtoRouting, ProtoDestOpts:
			if len(b) < e.HeaderLen+2 {
				return e, false
			}
			n = (int(b[e.HeaderLen+1]) + 1) * 8
		case ProtoFragment:
			if e.FragOff != 0 {
				return e, false // two fragment headers
			}
			if len(b) < e.HeaderLen+IPv6FragmentLen {
				return e, false
			}
			e.FragOff = e.HeaderLen
			if IPv6Fragment(b[e.HeaderLen:]).Offset() != 0 {
				// A later fragment: what follows is data, not headers.
				e.LastNextHeader = e.HeaderLen
				e.Proto = b[e.HeaderLen]
				e.HeaderLen += IPv6FragmentLen
				return e, true
			}
			n = IPv6FragmentLen
		case ProtoAH:
			if len(b) < e.HeaderLen+2 {
				return e, false
			}
			n = (int(b[e.HeaderLen+1]) + 2) * 4
		default:
			return e, true
		}
		if len(b) < e.HeaderLen+n {
			return e, false
		}
		e.LastNextHeader = e.HeaderLen
		e.Proto = b[e.HeaderLen]
		e.HeaderLen += n
	}
	return e, false
}
