package header

// L3 is the network-layer protocol of a frame.
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

// Layout is where a frame's headers are.
type Layout struct {
	L2Len     int    // Ethernet plus VLAN tags
	EtherType uint16 // after the tags
	L3        L3
	// L3Len is the IPv4 header with options, or the IPv6 header with every
	// extension header up to the upper layer.
	L3Len   int
	L4Proto uint8 // upper-layer protocol; 0 when L3 is none
	// L4Len is the TCP header with options or UDP's 8 bytes; 0 for other
	// protocols and for fragments other than the first.
	L4Len int
	// Fragment is set for an IPv4 fragment or an IPv6 datagram with a
	// Fragment header; FragOffset is its offset in bytes.
	Fragment   bool
	FragOffset int
	// IPv6FragHdr is the offset of the Fragment header from the IPv6
	// header, 0 if none.
	IPv6FragHdr int
	// PktLen is the frame's length as its IP header states it (L2 plus IP
	// total length), which may be less than the buffer (padding), or more
	// than the first segment ParseHead was given.
	PktLen int
}

// PayloadOff is where the upper-layer payload starts.
func (l *Layout) PayloadOff() int { return l.L2Len + l.L3Len + l.L4Len }

// L3Off is where the IP header starts.
func (l *Layout) L3Off() int { return l.L2Len }

// L4Off is where the upper-layer header starts.
func (l *Layout) L4Off() int { return l.L2Len + l.L3Len }

// Malformed names what is wrong with a frame's headers.
type Malformed uint8

// Ways a frame can be malformed; each is a drop counter.
const (
	OK Malformed = iota
	ShortL2
	ShortIPv4
	BadIPv4Version
	BadIPv4IHL
	BadIPv4TotalLen
	ShortIPv6
	BadIPv6Version
	BadIPv6PayloadLen
	BadIPv6ExtChain
	ShortTCP
	BadTCPDataOffset
	ShortUDP
	BadUDPLength
	numMalformed
)

var malformedNames = [numMalformed]string{
	OK:                "ok",
	ShortL2:           "malformed-short-l2",
	ShortIPv4:         "malformed-short-ipv4",
	BadIPv4Version:    "malformed-ipv4-version",
	BadIPv4IHL:        "malformed-ipv4-ihl",
	BadIPv4TotalLen:   "malformed-ipv4-total-length",
	ShortIPv6:         "malformed-short-ipv6",
	BadIPv6Version:    "malformed-ipv6-version",
	BadIPv6PayloadLen: "malformed-ipv6-payload-length",
	BadIPv6ExtChain:   "malformed-ipv6-extension-headers",
	ShortTCP:          "malformed-short-tcp",
	BadTCPDataOffset:  "malformed-tcp-data-offset",
	ShortUDP:          "malformed-short-udp",
	BadUDPLength:      "malformed-udp-length",
}

func (m Malformed) String() string {
	if m < numMalformed {
		return malformedNames[m]
	}
	return "malformed-unknown"
}

// MalformedReasons lists every reason, for counter tables.
func MalformedReasons() []Malformed {
	r := make([]Malformed, 0, numMalformed-1)
	for m := OK + 1; m < numMalformed; m++ {
		r = append(r, m)
	}
	return r
}

// Parse walks a frame's headers. Frames that are neither IPv4 nor IPv6 parse
// with L3None. It checks every length it relies on against the frame, so a
// Layout it returns with OK can be used without further bounds checks.
func Parse(b []byte) (Layout, Malformed) { return ParseHead(b, len(b)) }

// ParseHead parses the headers of a packet of pktLen bytes whose first
// segment is b (a chained mbuf): the headers must lie in b, the lengths the
// IP header states are checked against pktLen. The Layout's PktLen is the
// packet's length as its IP header states it.
func ParseHead(b []byte, pktLen int) (Layout, Malformed) {
	var l Layout
	m := ParseHeadInto(b, pktLen, &l)
	return l, m
}

// ParseHeadInto is ParseHead writing into l, which it resets first: for
// hot paths, where returning the Layout by value costs a copy that stalls
// on the stores that just built it.
func ParseHeadInto(b []byte, pktLen int, l *Layout) Malformed {
	*l = Layout{}
	if pktLen < len(b) {
		b = b[:pktLen]
	}
	l2, et, ok := L2(b)
	if !ok {
		return ShortL2
	}
	l.L2Len, l.EtherType, l.PktLen = l2, et, pktLen
	rest := b[l2:]
	restLen := pktLen - l2
	switch et {
	case EtherTypeIPv4:
		ip := IPv4(rest)
		switch {
		case len(ip) < IPv4MinLen:
			return ShortIPv4
		case ip[ipv4VerIHL]>>4 != 4:
			return BadIPv4Version
		case ip.HeaderLen() < IPv4MinLen || ip.HeaderLen() > len(ip):
			return BadIPv4IHL
		case int(ip.TotalLen()) < ip.HeaderLen() || int(ip.TotalLen()) > restLen:
			return BadIPv4TotalLen
		}
		l.L3, l.L3Len, l.L4Proto = L3IPv4, ip.HeaderLen(), ip.Protocol()
		l.PktLen = l2 + int(ip.TotalLen())
		if ip.IsFragment() {
			l.Fragment, l.FragOffset = true, ip.FragOffset()
		}
	case EtherTypeIPv6:
		ip := IPv6(rest)
		switch {
		case len(ip) < IPv6Len:
			return ShortIPv6
		case ip[ipv6VerTCFlow]>>4 != 6:
			return BadIPv6Version
		case IPv6Len+int(ip.PayloadLen()) > restLen:
			return BadIPv6PayloadLen
		}
		l.PktLen = l2 + IPv6Len + int(ip.PayloadLen())
		e, ok := WalkIPv6(ip[:min(len(ip), IPv6Len+int(ip.PayloadLen()))])
		if !ok {
			return BadIPv6ExtChain
		}
		l.L3, l.L3Len, l.L4Proto = L3IPv6, e.HeaderLen, e.Proto
		if e.FragOff != 0 {
			f := IPv6Fragment(ip[e.FragOff:])
			l.Fragment, l.FragOffset, l.IPv6FragHdr = true, f.Offset(), e.FragOff
			if f.Offset() == 0 && !f.More() {
				l.Fragment = false // an atomic fragment (RFC 6946)
			}
		}
	default:
		return OK
	}
	if l.Fragment && l.FragOffset != 0 {
		return OK // no upper-layer header in a later fragment
	}
	// The L4 header must be in b; the datagram may go on past it.
	l4 := b[l.L4Off():min(len(b), l.PktLen)]
	l4Total := l.PktLen - l.L4Off()
	switch l.L4Proto {
	case ProtoTCP:
		t := TCP(l4)
		if len(t) < TCPMinLen {
			return ShortTCP
		}
		if t.HeaderLen() < TCPMinLen || t.HeaderLen() > len(t) {
			return BadTCPDataOffset
		}
		l.L4Len = t.HeaderLen()
	case ProtoUDP:
		u := UDP(l4)
		if len(u) < UDPLen {
			return ShortUDP
		}
		if !l.Fragment && (int(u.Length()) < UDPLen || int(u.Length()) > l4Total) {
			return BadUDPLength
		}
		l.L4Len = UDPLen
	}
	return OK
}
