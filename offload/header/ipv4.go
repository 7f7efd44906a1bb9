package header

import "net/netip"

// IPv4 is an IPv4 header (RFC 791), options included.
type IPv4 []byte

// IPv4 layout.
const (
	IPv4MinLen      = 20
	IPv4MaxLen      = 60
	ipv4VerIHL      = 0
	ipv4TOS         = 1
	ipv4TotalLen    = 2
	ipv4ID          = 4
	ipv4FlagsFrag   = 6
	ipv4TTL         = 8
	ipv4Proto       = 9
	ipv4Checksum    = 10
	ipv4Src         = 12
	ipv4Dst         = 16
	IPv4ChecksumOff = ipv4Checksum

	// IPv4 flags, in the flags/fragment-offset word.
	IPv4FlagDF     = 0x4000
	IPv4FlagMF     = 0x2000
	ipv4FragOffMsk = 0x1fff
)

// IsValid reports whether b holds a whole IPv4 header, version 4, IHL at
// least 5, and a total length that covers the header and fits in the
// pktLen bytes from the header on.
func (b IPv4) IsValid(pktLen int) bool {
	if len(b) < IPv4MinLen || b[ipv4VerIHL]>>4 != 4 {
		return false
	}
	hl := b.HeaderLen()
	tl := int(b.TotalLen())
	return hl >= IPv4MinLen && len(b) >= hl && tl >= hl && tl <= pktLen
}

// HeaderLen is IHL in bytes.
func (b IPv4) HeaderLen() int { return int(b[ipv4VerIHL]&0xf) * 4 }

// TOS is the type-of-service byte (DSCP and ECN).
func (b IPv4) TOS() uint8 { return b[ipv4TOS] }

// TotalLen is the datagram length, header included.
func (b IPv4) TotalLen() uint16 { return be.Uint16(b[ipv4TotalLen:]) }

// ID is the identification field.
func (b IPv4) ID() uint16 { return be.Uint16(b[ipv4ID:]) }

// Flags are the DF and MF bits (IPv4FlagDF, IPv4FlagMF).
func (b IPv4) Flags() uint16 { return be.Uint16(b[ipv4FlagsFrag:]) &^ ipv4FragOffMsk }

// FragOffset is the fragment offset in bytes.
func (b IPv4) FragOffset() int { return int(be.Uint16(b[ipv4FlagsFrag:])&ipv4FragOffMsk) * 8 }

// More reports the MF flag.
func (b IPv4) More() bool { return be.Uint16(b[ipv4FlagsFrag:])&IPv4FlagMF != 0 }

// IsFragment reports whether the datagram is a fragment (MF set or an
// offset).
func (b IPv4) IsFragment() bool { return be.Uint16(b[ipv4FlagsFrag:])&(IPv4FlagMF|ipv4FragOffMsk) != 0 }

// TTL is the time to live.
func (b IPv4) TTL() uint8 { return b[ipv4TTL] }

// Protocol is the payload's protocol number.
func (b IPv4) Protocol() uint8 { return b[ipv4Proto] }

// Checksum is the header checksum field.
func (b IPv4) Checksum() uint16 { return be.Uint16(b[ipv4Checksum:]) }

// Src is the source address.
func (b IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(b[ipv4Src : ipv4Src+4])) }

// Dst is the destination address.
func (b IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(b[ipv4Dst : ipv4Dst+4])) }

// Addrs returns the source and destination bytes, for pseudo-header sums.
func (b IPv4) Addrs() []byte { return b[ipv4Src : ipv4Dst+4] }

// Options are the bytes after the fixed header.
func (b IPv4) Options() []byte { return b[IPv4MinLen:b.HeaderLen()] }

// SetTOS sets the type-of-service byte.
func (b IPv4) SetTOS(v uint8) { b[ipv4TOS] = v }

// SetTotalLen sets the total length.
func (b IPv4) SetTotalLen(v uint16) { be.PutUint16(b[ipv4TotalLen:], v) }

// SetID sets the identification field.
func (b IPv4) SetID(v uint16) { be.PutUint16(b[ipv4ID:], v) }

// SetFlagsFragOffset sets the flags (IPv4Flag*) and the fragment offset in
// bytes (a multiple of 8).
func (b IPv4) SetFlagsFragOffset(flags uint16, off int) {
	be.PutUint16(b[ipv4FlagsFrag:], flags&^ipv4FragOffMsk|uint16(off/8)&ipv4FragOffMsk)
}

// SetTTL sets the time to live.
func (b IPv4) SetTTL(v uint8) { b[ipv4TTL] = v }

// SetProtocol sets the payload's protocol number.
func (b IPv4) SetProtocol(v uint8) { b[ipv4Proto] = v }

// SetChecksum sets the header checksum field.
func (b IPv4) SetChecksum(v uint16) { be.PutUint16(b[ipv4Checksum:], v) }

// IPv4Fields are what Encode writes.
type IPv4Fields struct {
	TOS        uint8
	TotalLen   uint16
	ID         uint16
	Flags      uint16 // IPv4FlagDF, IPv4FlagMF
	FragOffset int    // bytes, a multiple of 8
	TTL        uint8
	Protocol   uint8
	Src, Dst   netip.Addr
	Options    []byte // a multiple of 4 bytes, at most 40
}

// Encode writes a header from f (checksum zero) into b, which must hold
// 20 bytes plus the options.
func (b IPv4) Encode(f *IPv4Fields) {
	hl := IPv4MinLen + len(f.Options)
	b[ipv4VerIHL] = 4<<4 | uint8(hl/4)
	b[ipv4TOS] = f.TOS
	be.PutUint16(b[ipv4TotalLen:], f.TotalLen)
	be.PutUint16(b[ipv4ID:], f.ID)
	b.SetFlagsFragOffset(f.Flags, f.FragOffset)
	b[ipv4TTL] = f.TTL
	b[ipv4Proto] = f.Protocol
	be.PutUint16(b[ipv4Checksum:], 0)
	s, d := f.Src.As4(), f.Dst.As4()
	copy(b[ipv4Src:], s[:])
	copy(b[ipv4Dst:], d[:])
	copy(b[IPv4MinLen:hl], f.Options)
}
