package segment

import "github.com/offloadpmd/offloadpmd/offload/header"

// Offsets and values this package reads that package header has no
// accessor for.
const (
	// ipv6NextHeaderOff is the fixed header's Next Header byte (RFC 8200
	// §3).
	ipv6NextHeaderOff = 6
	// Hop-by-Hop, Routing and Destination Options headers start with Next
	// Header and Hdr Ext Len, the length in 8-octet units not counting the
	// first 8 (RFC 8200 §4.3-4.6).
	ipv6ExtLenOff  = 1
	ipv6ExtLenUnit = 8
	// ipv6SegLeftOff is the Routing header's Segments Left (RFC 8200 §4.4).
	ipv6SegLeftOff = 3

	// IPv4 options (RFC 791 §3.1): one-byte End of Option List and No
	// Operation, the rest type, length (type byte included), data.
	ipv4OptEOL    = 0
	ipv4OptNOP    = 1
	ipv4OptLSRR   = 131
	ipv4OptSSRR   = 137
	ipv4OptCopied = 0x80 // the copied flag: the option goes in every fragment
	ipv4OptLenOff = 1
	ipv4OptMinLen = 2
	// ipv4OptPtrOff is a route option's pointer, counted in bytes from the
	// type byte; past the option's length, the route is used up.
	ipv4OptPtrOff   = 2
	ipv4RouteMinLen = 3
)

// Prepare validates r on the packet segs (every header in segs[0]) whose
// layout is l, and returns the Job that writes the outputs. The layout is
// checked against the header bytes, not trusted.
func Prepare(segs [][]byte, l *header.Layout, r *Request) (Job, Reason) {
	var j Job
	if why := checkRequest(r); why != OK {
		return j, why
	}
	if len(segs) == 0 {
		return j, ShortHeaders
	}
	if l.L3 != header.L3IPv4 && l.L3 != header.L3IPv6 {
		return j, NotIP
	}
	if r.Kind == TSO && l.L4Proto != header.ProtoTCP {
		return j, NotTCP
	}
	if r.Kind != TSO && l.L4Proto != header.ProtoUDP {
		return j, NotUDP
	}
	if l.Fragment || l.IPv6FragHdr != 0 {
		return j, Fragmented
	}
	if l.L2Len < 0 || l.L3Len <= 0 || l.L4Len <= 0 {
		return j, BadLayout
	}
	payOff := l.PayloadOff()
	if payOff > len(segs[0]) {
		return j, ShortHeaders
	}
	if l.PktLen < payOff {
		return j, BadLayout
	}
	j.segs, j.in = segs, segs[0][:payOff]
	j.v6, j.proto = l.L3 == header.L3IPv6, l.L4Proto
	j.l3Off, j.l4Off, j.payOff, j.pktLen = l.L3Off(), l.L4Off(), payOff, l.PktLen
	j.ipv4, j.l4, j.fixedID, j.fragID = r.IPv4Csum, r.L4Csum, r.FixedID, r.FragID

	// The network layer: where the unfragmentable part ends, for UFO.
	var unfragEnd int
	var df, srcRoute bool
	var why Reason
	if j.v6 {
		unfragEnd, srcRoute, why = j.checkIPv6()
	} else {
		df, srcRoute, why = j.checkIPv4()
		unfragEnd = j.l4Off
	}
	if why != OK {
		return j, why
	}
	if srcRoute && r.L4Csum != Keep {
		return j, SourceRoute
	}

	// The transport layer.
	if j.proto == header.ProtoTCP {
		t := header.TCP(j.in[j.l4Off:])
		if !t.IsValid() || t.HeaderLen() != len(t) {
			return j, BadLayout
		}
		if t.Flags()&(header.TCPFlagSYN|header.TCPFlagRST) != 0 {
			return j, TCPFlags
		}
		j.seq, j.flags, j.urg = t.Seq(), t.Flags(), t.Urgent()
	} else {
		u := header.UDP(j.in[j.l4Off:])
		if len(u) != header.UDPLen {
			return j, BadLayout
		}
		if int(u.Length()) != j.pktLen-j.l4Off {
			return j, UDPLength
		}
	}

	total := 0
	for _, s := range segs {
		total += len(s)
	}
	if total < j.pktLen {
		return j, Truncated
	}
	payload := j.pktLen - j.payOff
	if payload == 0 {
		return j, NoPayload
	}

	// The plan: which run of the input is divided, and in what pieces.
	j.op, j.hdrLen = opUDP, j.payOff
	j.dataOff, j.dataLen, j.size = j.payOff, payload, r.SegSize
	switch r.Kind {
	case TSO:
		j.op = opTCP
	case UFO:
		j.size = r.SegSize &^ 7 // RFC 791 §3.1, RFC 8200 §4.5: offsets count 8-octet units
		j.op, j.dataOff = opFrag4, unfragEnd
		if j.v6 {
			j.op = opFrag6
		}
		j.dataLen = j.pktLen - j.dataOff
		if j.dataLen <= j.size {
			// One fragment is the whole datagram: send it as it is
			// (RFC 8021: no atomic fragments).
			j.op, j.dataOff, j.dataLen, j.size = opUDP, j.payOff, payload, payload
			break
		}
		j.hdrLen = unfragEnd
		if j.v6 {
			j.hdrLen += header.IPv6FragmentLen
		}
		j.lead = j.payOff - j.dataOff
		if j.lead > j.size {
			return j, SizeTooSmall // RFC 7112: the header chain is in the first fragment
		}
		if df {
			return j, DontFragment
		}
	}
	j.n = (j.dataLen + j.size - 1) / j.size
	if j.n > MaxSegments {
		return j, TooMany
	}
	// The first output is the largest.
	ipLen := j.Seg(0).Len() - j.l3Off
	ipMax := 0xffff
	if j.v6 {
		ipMax += header.IPv6Len
	}
	if ipLen > ipMax || (r.MTU != 0 && ipLen > r.MTU) {
		return j, ExceedsMTU
	}
	return j, OK
}

func checkRequest(r *Request) Reason {
	switch r.Kind {
	case TSO, USO:
		if r.L4Csum != Software && r.L4Csum != Offload {
			return CsumMode
		}
	case UFO:
		if r.L4Csum != Software && r.L4Csum != Keep {
			return CsumMode
		}
	default:
		return KindUnknown
	}
	if r.IPv4Csum != Software && r.IPv4Csum != Offload {
		return CsumMode
	}
	if r.SegSize <= 0 {
		return SizeZero
	}
	if r.Kind == UFO && r.SegSize&^7 == 0 {
		return SizeTooSmall
	}
	return OK
}

// checkIPv4 checks the IPv4 header against the layout and reports its DF
// bit and whether a source route has hops left.
func (j *Job) checkIPv4() (df, srcRoute bool, why Reason) {
	ip := header.IPv4(j.in[j.l3Off:j.l4Off])
	if !ip.IsValid(j.pktLen-j.l3Off) || ip.HeaderLen() != len(ip) {
		return false, false, BadLayout
	}
	if ip.IsFragment() {
		return false, false, Fragmented
	}
	if int(ip.TotalLen()) != j.pktLen-j.l3Off || ip.Protocol() != j.proto {
		return false, false, BadLayout
	}
	srcRoute, ok := scanIPv4Options(ip.Options())
	if !ok {
		return false, false, IPv4Options
	}
	j.id = ip.ID()
	return ip.Flags()&header.IPv4FlagDF != 0, srcRoute, OK
}

// checkIPv6 checks the IPv6 header and its extension headers against the
// layout. It returns where the unfragmentable part ends (RFC 8200 §4.5:
// the headers up to and including the Routing header if present, else
// the Hop-by-Hop Options header if present), recording in j.nextOff the
// Next Header byte that names the header after it, and whether a Routing
// header has segments left.
func (j *Job) checkIPv6() (unfragEnd int, srcRoute bool, why Reason) {
	ip := j.in[j.l3Off:j.l4Off]
	if !header.IPv6(ip).IsValid(j.pktLen-j.l3Off) || header.IPv6Len+int(header.IPv6(ip).PayloadLen()) != j.pktLen-j.l3Off {
		return 0, false, BadLayout
	}
	next := ip[ipv6NextHeaderOff]
	unfragEnd, unfragNext := header.IPv6Len, ipv6NextHeaderOff
	for off := header.IPv6Len; off < len(ip); {
		switch next {
		case header.ProtoHopByHop:
			if off != header.IPv6Len {
				return 0, false, IPv6Ext // RFC 8200 §4.1: only right after the fixed header
			}
		case header.ProtoRouting, header.ProtoDestOpts:
		case header.ProtoFragment:
			return 0, false, Fragmented
		case header.ProtoTCP, header.ProtoUDP:
			return 0, false, BadLayout // the layout's L3 runs into the upper layer
		default:
			return 0, false, IPv6Ext
		}
		if off+ipv6ExtLenUnit > len(ip) {
			return 0, false, BadLayout
		}
		n := (int(ip[off+ipv6ExtLenOff]) + 1) * ipv6ExtLenUnit
		if off+n > len(ip) {
			return 0, false, BadLayout
		}
		if next == header.ProtoRouting {
			srcRoute = srcRoute || ip[off+ipv6SegLeftOff] != 0
		}
		if next == header.ProtoHopByHop || next == header.ProtoRouting {
			unfragEnd, unfragNext = off+n, off
		}
		next = ip[off]
		off += n
	}
	if next != j.proto {
		return 0, false, BadLayout
	}
	j.nextOff = j.l3Off + unfragNext
	return j.l3Off + unfragEnd, srcRoute, OK
}

// scanIPv4Options walks IPv4 options (RFC 791 §3.1). ok is false if one
// runs past the header or has a length below 2; srcRoute reports a loose
// or strict source route whose pointer is within the option (hops left).
func scanIPv4Options(o []byte) (srcRoute, ok bool) {
	for i := 0; i < len(o); {
		t := o[i]
		if t == ipv4OptEOL {
			break
		}
		if t == ipv4OptNOP {
			i++
			continue
		}
		if i+ipv4OptMinLen > len(o) {
			return false, false
		}
		n := int(o[i+ipv4OptLenOff])
		if n < ipv4OptMinLen || i+n > len(o) {
			return false, false
		}
		if t == ipv4OptLSRR || t == ipv4OptSSRR {
			if n < ipv4RouteMinLen {
				return false, false
			}
			srcRoute = srcRoute || int(o[i+ipv4OptPtrOff]) <= n
		}
		i += n
	}
	return srcRoute, true
}

// nopUncopied replaces the options without the copied flag by NOPs: what
// fragments after the first carry in their place (RFC 791 §3.1, "copied
// flag"). The options have passed scanIPv4Options.
func nopUncopied(o []byte) {
	for i := 0; i < len(o); {
		t := o[i]
		if t == ipv4OptEOL {
			return
		}
		if t == ipv4OptNOP {
			i++
			continue
		}
		if i+ipv4OptMinLen > len(o) {
			return
		}
		n := int(o[i+ipv4OptLenOff])
		if n < ipv4OptMinLen || i+n > len(o) {
			return
		}
		if t&ipv4OptCopied == 0 {
			for k := i; k < i+n; k++ {
				o[k] = ipv4OptNOP
			}
		}
		i += n
	}
}
