// Package assembly holds offloadpmd's receive-side assembly engines:
//
//   - GRO: TCP generic receive offload (LRO) over IPv4 and IPv6, and UDP
//     GRO of equal-size datagrams (Linux's UDP_GRO, GSO type UDP_L4), in one
//     engine with one fixed flow table;
//   - Reassembler: IPv4 (RFC 791) and IPv6 (RFC 8200 §4.5) reassembly with a
//     fixed table of datagrams in progress, timeouts, memory and fragment
//     limits, and RFC 5722 overlap handling (applied to IPv4 too).
//
// Both engines hold packets only as pkt.Handles and change packet memory
// only through the pkt.Store they were built with. They take a burst and
// give a burst: Receive takes the inputs, writes one Verdict per input and
// appends to a caller-provided output array, in order, every packet that is
// ready to leave (inputs passed through unchanged, and merged or reassembled
// packets). Packets of one flow leave in the order they arrived (a packet
// whose headers do not parse cannot be told to belong to a flow, and
// passes at once). Time is
// the caller's: every call that needs it takes now in nanoseconds, so the
// engines are deterministic. Nothing on these paths allocates or returns an
// error: what happened is in the verdicts, the outputs and the counters,
// each counted under a named reason.
//
// An engine belongs to one goroutine (one lcore or stream); its counters
// have that one writer and are read through Stats by the same goroutine.
package assembly

import (
	"encoding/binary"
	"errors"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

var be = binary.BigEndian

// ErrConfig is wrapped by the errors of NewGRO and NewReassembler for a
// configuration out of range.
var ErrConfig = errors.New("assembly: invalid configuration")

// Input is one received packet handed to an engine.
type Input struct {
	// Pkt is the packet; its headers are all in its first segment.
	Pkt pkt.Handle
	// L4Csum is the packet's TCP or UDP checksum status as RX verified it
	// (hardware or the checksum engine). GRO merges only Good segments.
	L4Csum checksum.Status
	// IPCsum is the IPv4 header checksum status as RX verified it
	// (DPDK's RTE_MBUF_F_RX_IP_CKSUM_*): Good spares GRO verifying it
	// again; with any other status GRO verifies the header itself. The
	// Reassembler does not read it.
	IPCsum checksum.Status
	// Layout is where the headers are, as header.ParseHead reports them. A
	// zero Layout (L3 none) makes the engine parse the first segment
	// itself; one given is checked against the packet before it is used.
	// The Reassembler always reads the headers itself.
	Layout header.Layout
	// Parsed says Layout is what header.ParseHeadInto returned for the
	// packet's first segment and length, unchanged since: GRO then uses
	// it as its own parse, without checking it against the packet again.
	Parsed bool
}

// Output is a packet that leaves an engine.
type Output struct {
	// Pkt is the packet. A merged or reassembled packet is the handle of
	// its first part, the others having been appended to it.
	Pkt pkt.Handle
	// Kind is what the packet became: KindNone for a packet that left as
	// it came (passed through, or held alone and flushed).
	Kind Kind
	// Segs is the number of received packets in it: segments merged, or
	// fragments joined; 1 for a packet that left as it came.
	Segs uint16
	// SegSize is, for GRO, the payload size of the original segments
	// (the first one's; the last may be shorter): what DPDK puts in
	// tso_segsz with RTE_MBUF_F_RX_LRO, and Linux in gso_size. For a
	// reassembled datagram it is the largest fragment's IP length (Linux's
	// frag_max_size), the MTU a forwarder must not exceed when it
	// fragments the datagram again. 0 otherwise.
	SegSize uint16
	// L4Csum is the status of the packet's L4 checksum as it leaves: Good
	// for a GRO packet (merged checksums are complete and valid, see GRO),
	// the input's status for a packet passed through, Unknown for a
	// reassembled datagram (not verified here).
	L4Csum checksum.Status
	// Flush is why a held packet left (GRO); FlushNone for a packet
	// passed through, and for reassembly.
	Flush FlushReason
}

// Verdict is what an engine did with one input.
type Verdict struct {
	Fate Fate
	// Reason says why a packet was passed through or dropped.
	Reason Reason
}

// Fate is what became of an input.
type Fate uint8

// Fates.
const (
	// Passed: the packet is in the outputs, unchanged.
	Passed Fate = iota
	// Held: the engine keeps the packet (it started a GRO packet, or is a
	// fragment stored until its datagram is complete).
	Held
	// Merged: the packet was joined to a packet the engine holds (GRO), or
	// completed a datagram (reassembly); the joined packet is in the
	// outputs if it left in this call.
	Merged
	// Dropped: the packet was freed; Reason says why.
	Dropped
	numFates
)

var fateNames = [numFates]string{Passed: "passed", Held: "held", Merged: "merged", Dropped: "dropped"}

func (f Fate) String() string {
	if f < numFates {
		return fateNames[f]
	}
	return "unknown"
}

// Kind is what an output packet became, and tells the caller which mbuf
// offload flags to set.
type Kind uint8

// Kinds.
const (
	// KindNone: the packet is as it was received.
	KindNone Kind = iota
	// KindTCPv4: TCP segments over IPv4 merged (RTE_MBUF_F_RX_LRO; Linux
	// SKB_GSO_TCPV4).
	KindTCPv4
	// KindTCPv6: TCP segments over IPv6 merged (SKB_GSO_TCPV6).
	KindTCPv6
	// KindUDPL4: UDP datagrams of one size merged (SKB_GSO_UDP_L4), IPv4
	// or IPv6 as the header says.
	KindUDPL4
	// KindIPv4Reassembled: an IPv4 datagram rebuilt from fragments.
	KindIPv4Reassembled
	// KindIPv6Reassembled: an IPv6 packet rebuilt from fragments.
	KindIPv6Reassembled
	numKinds
)

var kindNames = [numKinds]string{
	KindNone:            "none",
	KindTCPv4:           "tcpv4",
	KindTCPv6:           "tcpv6",
	KindUDPL4:           "udp-l4",
	KindIPv4Reassembled: "ipv4-reassembled",
	KindIPv6Reassembled: "ipv6-reassembled",
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Reason names why an input was passed through or dropped. One list serves
// both engines; names are stable (counter names).
type Reason uint8

// Reasons.
const (
	ReasonNone Reason = iota

	// Passed through.

	// ReasonNotIP: neither IPv4 nor IPv6.
	ReasonNotIP
	// ReasonMalformed: headers that do not parse, or a Layout that does not
	// fit the packet.
	ReasonMalformed
	// ReasonNotTCPUDP: GRO of another upper-layer protocol.
	ReasonNotTCPUDP
	// ReasonDisabled: a protocol the configuration turns off (TCP or UDP
	// GRO, IPv4 or IPv6 reassembly).
	ReasonDisabled
	// ReasonFragment: GRO of an IP fragment (reassemble it first).
	ReasonFragment
	// ReasonNotFragment: reassembly of a packet that is not a fragment
	// (IPv6 atomic fragments included, RFC 6946).
	ReasonNotFragment
	// ReasonBadIPChecksum: the IPv4 header checksum does not verify.
	ReasonBadIPChecksum
	// ReasonChecksum: the L4 checksum was not verified Good.
	ReasonChecksum
	// ReasonNoPayload: a TCP segment or UDP datagram without payload.
	ReasonNoPayload
	// ReasonTCPFlags: a TCP segment that cannot start a merge: SYN, RST,
	// URG, or FIN or PSH when there is nothing to merge it into.
	ReasonTCPFlags
	// ReasonUDPLength: the UDP length disagrees with the IP length.
	ReasonUDPLength
	// ReasonExtHeader: an IPv6 extension header GRO does not merge across
	// (AH, Fragment, a Routing header with segments left, whose
	// pseudo-header uses another destination, RFC 8200 §8.1).
	ReasonExtHeader
	// ReasonHeadersTooLong: IP and L4 headers longer than GRO compares.
	ReasonHeadersTooLong

	// Dropped (reassembly).

	// ReasonBadLength: a fragment with no data, or a fragment other than
	// the last whose data is not a multiple of 8 bytes (RFC 8200 §4.5).
	ReasonBadLength
	// ReasonTooBig: the reassembled datagram would exceed 65535 bytes.
	ReasonTooBig
	// ReasonDuplicate: an exact duplicate of a fragment held (dropped
	// alone, RFC 8200 §4.5).
	ReasonDuplicate
	// ReasonOverlap: fragments overlap; the whole datagram is dropped
	// (RFC 5722).
	ReasonOverlap
	// ReasonInconsistent: fragments disagree on the datagram's end.
	ReasonInconsistent
	// ReasonTooManyFragments: more fragments than a datagram may have.
	ReasonTooManyFragments
	// ReasonMemoryLimit: holding the fragment would exceed the memory
	// limit; its datagram is dropped.
	ReasonMemoryLimit
	// ReasonTableFull: no free entry for a new datagram.
	ReasonTableFull
	// ReasonAborted: a fragment of a datagram already dropped, which stays
	// dropped until it times out (RFC 5722: "including those not yet
	// received").
	ReasonAborted
	// ReasonTimeout: the datagram was not complete in time.
	ReasonTimeout
	// ReasonStoreRefused: the Store could not chain the fragments.
	ReasonStoreRefused
	// ReasonStopped: incomplete when the engine was stopped (FlushAll).
	ReasonStopped
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:             "none",
	ReasonNotIP:            "not-ip",
	ReasonMalformed:        "malformed",
	ReasonNotTCPUDP:        "not-tcp-udp",
	ReasonDisabled:         "disabled",
	ReasonFragment:         "fragment",
	ReasonNotFragment:      "not-fragment",
	ReasonBadIPChecksum:    "bad-ipv4-checksum",
	ReasonChecksum:         "checksum-not-good",
	ReasonNoPayload:        "no-payload",
	ReasonTCPFlags:         "tcp-flags",
	ReasonUDPLength:        "udp-length",
	ReasonExtHeader:        "ipv6-extension-header",
	ReasonHeadersTooLong:   "headers-too-long",
	ReasonBadLength:        "bad-fragment-length",
	ReasonTooBig:           "too-big",
	ReasonDuplicate:        "duplicate",
	ReasonOverlap:          "overlap",
	ReasonInconsistent:     "inconsistent-length",
	ReasonTooManyFragments: "too-many-fragments",
	ReasonMemoryLimit:      "memory-limit",
	ReasonTableFull:        "table-full",
	ReasonAborted:          "datagram-aborted",
	ReasonTimeout:          "timeout",
	ReasonStoreRefused:     "store-refused",
	ReasonStopped:          "stopped",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every reason but ReasonNone, for counter tables.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// FlushReason names why GRO let a held packet go.
type FlushReason uint8

// Flush reasons.
const (
	FlushNone FlushReason = iota
	// FlushFlags: the last segment merged had PSH or FIN.
	FlushFlags
	// FlushShort: the last segment merged was shorter than the first.
	FlushShort
	// FlushSize: the packet reached the size or segment-count limit, or
	// the Store refused to chain more.
	FlushSize
	// FlushOrder: a segment of the flow that is not the next in sequence
	// (a gap or a retransmission).
	FlushOrder
	// FlushMismatch: a segment of the flow whose headers differ where
	// they must be equal (TTL or hop limit, ToS or traffic class, DF, IP
	// ID sequence, IP options or extension headers, ACK, window, flags,
	// TCP options, UDP checksum presence).
	FlushMismatch
	// FlushLarger: a segment of the flow larger than the first.
	FlushLarger
	// FlushUnmergeable: a packet of the flow that passes through (no
	// payload, flags, checksum not verified), so it is not overtaken.
	FlushUnmergeable
	// FlushTimeout: held for the configured time.
	FlushTimeout
	// FlushEvict: the flow table was full and this was the oldest.
	FlushEvict
	// FlushAll: FlushAll was called.
	FlushAll
	numFlushReasons
)

var flushNames = [numFlushReasons]string{
	FlushNone:        "none",
	FlushFlags:       "flush-flags",
	FlushShort:       "flush-short-segment",
	FlushSize:        "flush-size",
	FlushOrder:       "flush-out-of-order",
	FlushMismatch:    "flush-header-mismatch",
	FlushLarger:      "flush-larger-segment",
	FlushUnmergeable: "flush-unmergeable",
	FlushTimeout:     "flush-timeout",
	FlushEvict:       "flush-table-full",
	FlushAll:         "flush-all",
}

func (f FlushReason) String() string {
	if f < numFlushReasons {
		return flushNames[f]
	}
	return "unknown"
}

// FlushReasons lists every flush reason but FlushNone, for counter tables.
func FlushReasons() []FlushReason {
	rs := make([]FlushReason, 0, numFlushReasons-1)
	for r := FlushNone + 1; r < numFlushReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}
