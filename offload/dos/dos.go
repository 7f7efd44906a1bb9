// Package dos is offloadpmd's denial-of-service filter: the RX stage that
// judges every received packet, before the host sees it, and drops what
// an attacker sends in quantity or shapes to harm.
//
// A Filter judges one packet at a time (Judge) or a burst (JudgeBurst) and
// returns ReasonNone (pass) or the named Reason it was dropped for; every
// Reason is a counter (Stats.Dropped, Reasons). Its rules, in the order
// they are applied:
//
//  1. Headers that do not parse are dropped (malformed); frames that are
//     neither IPv4 nor IPv6 pass.
//  2. Malformed-header rules, stateless: the land attack (source address
//     and port equal to the destination's), TCP flag combinations no stack
//     sends (null scan, XMAS, SYN+FIN, SYN+RST, FIN without ACK), tiny
//     fragments (RFC 1858 §3.1: a first fragment too short for its TCP or
//     UDP header; RFC 7112 for IPv6) and a TCP fragment at offset 8 bytes
//     (RFC 1858 §3.2, "FO=1").
//  3. Block and allow lists of prefixes (longest match wins): a blocked
//     source is dropped; an allowed one skips every later rule but the
//     fragment tracker.
//  4. Overlapping fragments: a small fixed-size tracker per datagram ID
//     records the spans seen and drops a fragment that overlaps one of
//     them (the teardrop family, RFC 1858 §4, RFC 5722).
//  5. Per-source-prefix rate limits: token buckets for SYN, ICMP, UDP and
//     all packets, per IPv4 or IPv6 source prefix of a configured length.
//  6. The SYN budget: SYNs from sources without an established history
//     take a token from one budget; over it they are dropped. A source
//     becomes established by completing a handshake (see Filter).
//  7. Connection limits (optional): concurrent connections, and half-open
//     ones, per source prefix.
//
// Every table (sources, flows, fragments) is allocated when the Filter is
// made and never grows: a spoofed-source flood evicts entries, it cannot
// exhaust memory. Eviction favours what matters: see Filter.
//
// Time is the caller's: every call takes now, a monotonic clock in
// nanoseconds, so the filter is deterministic under test. Judging
// allocates nothing and returns no error.
//
// Threading: a Filter has one writer. Make one per lcore (per stream);
// its tables and counters are that goroutine's. The rules come from a
// Control shared by all Filters: Control.Update swaps a new compiled rule
// set in atomically, and every Filter picks it up at its next packet
// without locking.
package dos

import (
	"encoding/binary"
	"errors"
)

var be = binary.BigEndian

// ErrConfig is wrapped by every error about a Config.
var ErrConfig = errors.New("dos: invalid configuration")

// Reason is why the filter dropped a packet; ReasonNone is a pass. Names
// are stable: they are counter names (a pipeline prefixes them, "dos-").
type Reason uint8

// Reasons.
const (
	// ReasonNone: the packet passes.
	ReasonNone Reason = iota

	// Headers.

	// ReasonMalformed: IP or L4 headers that do not parse (see
	// header.Malformed), other than a tiny first fragment.
	ReasonMalformed
	// ReasonLand: TCP or UDP with the source address and port equal to
	// the destination's (the "land" attack).
	ReasonLand
	// ReasonTCPNull: a TCP segment without any flag (a null scan).
	ReasonTCPNull
	// ReasonTCPXmas: FIN, PSH and URG together (an XMAS scan).
	ReasonTCPXmas
	// ReasonTCPSynFin: SYN with FIN.
	ReasonTCPSynFin
	// ReasonTCPSynRst: SYN with RST.
	ReasonTCPSynRst
	// ReasonTCPFinNoAck: FIN without ACK (RFC 9293 §3.10.7.4: every
	// segment after the SYN carries ACK; a FIN alone is a scan).
	ReasonTCPFinNoAck
	// ReasonTinyFragment: a first fragment too short to hold its TCP or
	// UDP header (RFC 1858 §3.1, RFC 7112).
	ReasonTinyFragment
	// ReasonFragOffsetOne: a TCP fragment at offset 8 bytes, which can
	// only rewrite the TCP header's flags (RFC 1858 §3.2, "FO=1").
	ReasonFragOffsetOne
	// ReasonFragOverlap: a fragment overlapping one already seen of the
	// same datagram (RFC 1858 §4, RFC 5722; exact duplicates too).
	ReasonFragOverlap

	// Lists.

	// ReasonBlocked: the source is in the block list.
	ReasonBlocked

	// Rates.

	// ReasonRateSYN: the source prefix's SYN bucket is empty.
	ReasonRateSYN
	// ReasonRateICMP: the source prefix's ICMP bucket is empty.
	ReasonRateICMP
	// ReasonRateUDP: the source prefix's UDP bucket is empty.
	ReasonRateUDP
	// ReasonRateTotal: the source prefix's bucket for all packets is
	// empty.
	ReasonRateTotal
	// ReasonSYNBudget: a SYN from a source without an established history
	// while the SYN budget is spent.
	ReasonSYNBudget

	// Connections.

	// ReasonConnLimit: a SYN for a new connection from a source prefix
	// at its limit of connections.
	ReasonConnLimit
	// ReasonHalfOpenLimit: a SYN for a new connection from a source
	// prefix at its limit of half-open connections.
	ReasonHalfOpenLimit
	numReasons
)

// NumReasons is one more than the largest Reason, for counter arrays.
const NumReasons = int(numReasons)

var reasonNames = [numReasons]string{
	ReasonNone:          "none",
	ReasonMalformed:     "malformed",
	ReasonLand:          "land",
	ReasonTCPNull:       "tcp-null-scan",
	ReasonTCPXmas:       "tcp-xmas-scan",
	ReasonTCPSynFin:     "tcp-syn-fin",
	ReasonTCPSynRst:     "tcp-syn-rst",
	ReasonTCPFinNoAck:   "tcp-fin-without-ack",
	ReasonTinyFragment:  "tiny-fragment",
	ReasonFragOffsetOne: "fragment-offset-one",
	ReasonFragOverlap:   "fragment-overlap",
	ReasonBlocked:       "blocked",
	ReasonRateSYN:       "rate-syn",
	ReasonRateICMP:      "rate-icmp",
	ReasonRateUDP:       "rate-udp",
	ReasonRateTotal:     "rate-total",
	ReasonSYNBudget:     "syn-budget",
	ReasonConnLimit:     "connection-limit",
	ReasonHalfOpenLimit: "half-open-limit",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every drop reason (all but ReasonNone), for counter
// tables.
func Reasons() []Reason {
	rs := make([]Reason, 0, numReasons-1)
	for r := ReasonNone + 1; r < numReasons; r++ {
		rs = append(rs, r)
	}
	return rs
}

// Stats are a Filter's counters: In = Passed + ΣDropped.
type Stats struct {
	// In counts packets judged.
	In uint64
	// Passed counts packets passed, NotIP and Allowed included.
	Passed uint64
	// NotIP counts frames passed because they are neither IPv4 nor IPv6.
	NotIP uint64
	// Allowed counts packets passed because their source is allowed.
	Allowed uint64
	// Dropped counts packets dropped, by reason.
	Dropped [numReasons]uint64
	// Established counts handshakes that made (or kept) a source
	// established.
	Established uint64
	// SourceEvictions counts source entries given to a newcomer (its set
	// was full); FlowEvictions and FragmentEvictions count flows and
	// datagrams given up for a newcomer before their timeout; FlowsExpired
	// counts flows removed for their timeout.
	SourceEvictions   uint64
	FlowEvictions     uint64
	FlowsExpired      uint64
	FragmentEvictions uint64
}

// Usage is how full a Filter's tables are: entries in use and capacity.
type Usage struct {
	Sources, SourcesCap     int
	Flows, FlowsCap         int
	Fragments, FragmentsCap int
}
