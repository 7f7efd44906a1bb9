package segment

// Reason says why a request was refused; OK means it was not. Every
// refusal has one, so the data path can count refused packets by name.
type Reason uint8

// Reasons a request is refused.
const (
	OK Reason = iota

	// Request errors: the Request itself is wrong, whatever the packet.

	// KindUnknown: Request.Kind is not TSO, USO or UFO.
	KindUnknown
	// SizeZero: Request.SegSize is zero or negative.
	SizeZero
	// SizeTooSmall: for UFO, SegSize rounds down to 0 bytes, or the first
	// fragment cannot hold the headers that must travel in it (the UDP
	// header and, for IPv6, the extension headers after the Fragment
	// header; RFC 8200 §4.5, RFC 7112).
	SizeTooSmall
	// CsumMode: a checksum mode this kind cannot honour (Keep where the
	// header changes, Offload of a UDP checksum across fragments).
	CsumMode

	// Packet errors: the input cannot be segmented.

	// ShortHeaders: no segments, or the first is shorter than the headers
	// the layout names (DPDK requires all headers in the first segment).
	ShortHeaders
	// BadLayout: the layout disagrees with the header bytes (lengths,
	// versions, protocol), so it cannot be trusted.
	BadLayout
	// Truncated: the segments hold fewer bytes than the IP length says.
	Truncated
	// NotIP: the layout names neither IPv4 nor IPv6.
	NotIP
	// NotTCP: TSO of a packet that is not TCP.
	NotTCP
	// NotUDP: USO or UFO of a packet that is not UDP.
	NotUDP
	// Fragmented: the input is already an IP fragment (IPv4 MF or offset,
	// or an IPv6 Fragment header).
	Fragmented
	// IPv6Ext: an IPv6 extension header other than Hop-by-Hop, Routing and
	// Destination Options precedes the upper layer (AH and ESP protect
	// what segmentation rewrites).
	IPv6Ext
	// IPv4Options: the IPv4 options do not parse (RFC 791 §3.1).
	IPv4Options
	// SourceRoute: an IPv4 source-route option or IPv6 Routing header
	// with hops left: the pseudo-header needs the final destination
	// (RFC 9293 §3.1, RFC 8200 §8.1), which this engine does not look up.
	SourceRoute
	// TCPFlags: SYN or RST set on a TSO input; neither may be repeated
	// over segments, and SYN takes a sequence number.
	TCPFlags
	// UDPLength: the UDP length field is not the IP payload's length.
	UDPLength
	// NoPayload: nothing to segment.
	NoPayload
	// TooMany: the request would produce more than MaxSegments outputs.
	TooMany
	// ExceedsMTU: an output IP packet would be larger than Request.MTU.
	ExceedsMTU
	// DontFragment: UFO of an IPv4 datagram with DF set that needs
	// fragmenting (RFC 791 §3.2).
	DontFragment

	// Output errors: the caller's buffers are too few or too small.

	// OutputShort: fewer header buffers or Seg slots than outputs.
	OutputShort
	// BufferShort: an output buffer cannot hold its headers (or, for
	// Frames, its whole frame).
	BufferShort

	numReasons
)

var reasonNames = [numReasons]string{
	OK:           "ok",
	KindUnknown:  "seg-kind-unknown",
	SizeZero:     "seg-size-zero",
	SizeTooSmall: "seg-size-too-small",
	CsumMode:     "seg-csum-mode",
	ShortHeaders: "seg-short-headers",
	BadLayout:    "seg-bad-layout",
	Truncated:    "seg-truncated",
	NotIP:        "seg-not-ip",
	NotTCP:       "seg-not-tcp",
	NotUDP:       "seg-not-udp",
	Fragmented:   "seg-fragmented",
	IPv6Ext:      "seg-ipv6-ext",
	IPv4Options:  "seg-ipv4-options",
	SourceRoute:  "seg-source-route",
	TCPFlags:     "seg-tcp-flags",
	UDPLength:    "seg-udp-length",
	NoPayload:    "seg-no-payload",
	TooMany:      "seg-too-many",
	ExceedsMTU:   "seg-exceeds-mtu",
	DontFragment: "seg-dont-fragment",
	OutputShort:  "seg-output-short",
	BufferShort:  "seg-buffer-short",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "seg-unknown"
}

// Reasons lists every refusal reason (OK excluded), for counter tables.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := OK + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}
