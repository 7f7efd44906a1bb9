package offload

import (
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// Request is what one packet asks of the TX path: its mbuf ol_flags, the
// packed lengths and tso_segsz, and the dynamic flags offloadpmd registers
// (or what a virtio_net_hdr decoded into).
type Request struct {
	OlFlags    uint64
	L2Len      uint16
	L3Len      uint16
	L4Len      uint16
	TSOSegsz   uint16
	OuterL2Len uint16
	OuterL3Len uint16
	// UFO: fragment this UDP datagram into TSOSegsz-byte pieces (the
	// UFO dynamic flag).
	UFO bool
	// FixedID keeps the IPv4 ID of every segment (Linux's
	// SKB_GSO_TCP_FIXEDID); otherwise it increments.
	FixedID bool
	// Partial: the L4 checksum field holds a pseudo-header sum to complete
	// (virtio's NEEDS_CSUM), rather than anything; the checksum task then
	// completes it instead of computing it from scratch.
	Partial bool
	// Digest: compute a message digest of the L4 payload (the digest
	// dynamic flag). Where it goes (appended or beside the packet) and
	// which digest are the TX path's business, not the decoder's.
	Digest bool
}

// Task is one piece of work a packet asks for.
type Task uint8

// Tasks. A batch lists a packet's tasks in the order the TX path performs
// them: segmentation or the digest (never both), then checksums (which
// cover an appended digest), then encryption, last.
const (
	TaskNone Task = iota
	TaskESPEncrypt
	TaskDigest
	TaskTSO // TCP segmentation
	TaskUSO // UDP segmentation, each segment a datagram
	TaskUFO // UDP fragmentation
	TaskIPv4Cksum
	TaskL4Cksum // TCP or UDP checksum
	numTasks
)

// NumTasks is the number of Task values, TaskNone included.
const NumTasks = int(numTasks)

var taskNames = [numTasks]string{"none", "esp_encrypt", "digest", "tso", "uso", "ufo", "ipv4_cksum", "l4_cksum"}

func (t Task) String() string {
	if t < numTasks {
		return taskNames[t]
	}
	return "unknown"
}

// Verdict says who performs a task, or that it is refused.
type Verdict uint8

// Verdicts.
const (
	Refused Verdict = iota
	Hardware
	Software
)

func (v Verdict) String() string {
	switch v {
	case Hardware:
		return "hardware"
	case Software:
		return "software"
	}
	return "refused"
}

// Refusal is why a request or task was refused: each is a named counter.
type Refusal uint8

// Refusal reasons. The first group mirrors what rte_validate_tx_offload
// rejects; then lengths that disagree with the packet; then tasks that are
// not enabled or not possible.
const (
	RefusalNone Refusal = iota
	RefIPCksumOnIPv6
	RefNoIPType
	RefTSOSegszZero
	RefTSOIPv4NoIPCksum
	RefOuterIPCksumNotIPv4
	RefMalformed
	RefIPTypeMismatch
	RefL4TypeMismatch
	RefL2LenMismatch
	RefL3LenMismatch
	RefL4LenMismatch
	RefLengthsBeyondPacket
	RefSegszExceedsMTU
	RefSegNotTCP
	RefSegNotUDP
	RefSegFragment
	RefUFODontFragment
	RefSeveralSegmentations
	RefTunnelUnsupported
	RefSCTPUnsupported
	RefUnsupportedFlags
	RefDisabled
	RefNoPerformer // enabled, but neither the device nor software does it
	// A virtio_net_hdr that does not describe its frame.
	RefVirtioCsumOutside     // csum_start/csum_offset outside the frame
	RefVirtioCsumNotL4       // NEEDS_CSUM not at the TCP or UDP checksum
	RefVirtioGSOType         // unknown gso_type, or ECN without TCP
	RefVirtioGSOSizeZero     // GSO with gso_size 0
	RefVirtioGSOMismatch     // gso_type disagrees with the frame
	RefVirtioUSONeedsCsum    // UDP_L4 without NEEDS_CSUM
	RefVirtioTooManySegments // UDP_L4 beyond 64 segments
	// RefDigestSegmentation: a digest and a segmentation asked together.
	// A digest covers one packet's payload: of the whole, no receiver
	// could check it against any one segment; of each segment, it would
	// bind the segmentation to software. The sender segments first.
	RefDigestSegmentation
	numRefusals
)

var refusalNames = [numRefusals]string{
	RefusalNone:              "none",
	RefIPCksumOnIPv6:         "ip-cksum-on-ipv6",
	RefNoIPType:              "no-ip-type",
	RefTSOSegszZero:          "tso-segsz-zero",
	RefTSOIPv4NoIPCksum:      "tso-ipv4-without-ip-cksum",
	RefOuterIPCksumNotIPv4:   "outer-ip-cksum-not-ipv4",
	RefMalformed:             "malformed-headers",
	RefIPTypeMismatch:        "ip-type-mismatch",
	RefL4TypeMismatch:        "l4-type-mismatch",
	RefL2LenMismatch:         "l2-len-mismatch",
	RefL3LenMismatch:         "l3-len-mismatch",
	RefL4LenMismatch:         "l4-len-mismatch",
	RefLengthsBeyondPacket:   "lengths-beyond-packet",
	RefSegszExceedsMTU:       "segsz-exceeds-mtu",
	RefSegNotTCP:             "tso-not-tcp",
	RefSegNotUDP:             "udp-seg-not-udp",
	RefSegFragment:           "segment-a-fragment",
	RefUFODontFragment:       "ufo-dont-fragment",
	RefSeveralSegmentations:  "several-segmentations",
	RefTunnelUnsupported:     "tunnel-unsupported",
	RefSCTPUnsupported:       "sctp-unsupported",
	RefUnsupportedFlags:      "unsupported-flags",
	RefDisabled:              "disabled",
	RefNoPerformer:           "no-performer",
	RefVirtioCsumOutside:     "virtio-csum-outside-frame",
	RefVirtioCsumNotL4:       "virtio-csum-not-l4",
	RefVirtioGSOType:         "virtio-gso-type",
	RefVirtioGSOSizeZero:     "virtio-gso-size-zero",
	RefVirtioGSOMismatch:     "virtio-gso-mismatch",
	RefVirtioUSONeedsCsum:    "virtio-uso-needs-csum",
	RefVirtioTooManySegments: "virtio-too-many-segments",
	RefDigestSegmentation:    "digest-with-segmentation",
}

func (r Refusal) String() string {
	if r < numRefusals {
		return refusalNames[r]
	}
	return "unknown"
}

// Refusals lists every refusal reason, for counter tables.
func Refusals() []Refusal {
	out := make([]Refusal, 0, numRefusals-1)
	for r := RefusalNone + 1; r < numRefusals; r++ {
		out = append(out, r)
	}
	return out
}

// MaxTasks bounds a batch.
const MaxTasks = 8

// Step is one task of a batch with its verdict.
type Step struct {
	Task    Task
	Cap     TxCaps // the capability the task needs
	Verdict Verdict
	Refusal Refusal // why, when refused (RefDisabled: Cap is not enabled)
}

// Batch is one packet's ordered tasks. It is a value with a fixed array:
// decoding allocates nothing.
type Batch struct {
	Layout  header.Layout
	N       int
	Steps   [MaxTasks]Step
	Refusal Refusal // set when the request as a whole is invalid
	// Malformed says why, when Refusal is RefMalformed.
	Malformed header.Malformed
}

// Refused reports whether the packet must be dropped: the request is
// invalid or one of its tasks is refused. The first refusal is returned,
// with the step it concerns (nil for a request-level refusal).
func (b *Batch) Refused() (Refusal, *Step) {
	if b.Refusal != RefusalNone {
		return b.Refusal, nil
	}
	for i := range b.Steps[:b.N] {
		if b.Steps[i].Verdict == Refused {
			return b.Steps[i].Refusal, &b.Steps[i]
		}
	}
	return RefusalNone, nil
}

// Tasks lists the batch's steps.
func (b *Batch) Tasks() []Step { return b.Steps[:b.N] }

// Who decides what in Decode: the requesting side's enabled capabilities
// say whether a task may be asked for at all; the egress device's
// configured hardware offloads say whether it does the task; software
// does the rest.
type performers struct {
	allowed TxCaps
	hw      TxCaps
}

func (p performers) step(task Task, c TxCaps) Step {
	s := Step{Task: task, Cap: c}
	switch {
	case p.allowed&c == 0:
		s.Verdict, s.Refusal = Refused, RefDisabled
	case p.hw&c != 0:
		s.Verdict = Hardware
	case SoftwareTx&c != 0:
		s.Verdict = Software
	default:
		s.Verdict, s.Refusal = Refused, RefNoPerformer
	}
	return s
}

// Judge is the step Decode makes of task, which needs capability c, for
// a requesting side that enabled allowed and an egress device doing hw:
// for callers that judge a kind of request once rather than per packet.
func Judge(task Task, c, allowed, hw TxCaps) Step { return performers{allowed, hw}.step(task, c) }

func (b *Batch) add(p performers, task Task, c TxCaps) {
	b.Steps[b.N] = p.step(task, c)
	b.N++
}

// DecodeFor is Decode for a request checked against one port's table: its
// enabled capabilities are what may be asked, its device offloads what
// hardware does.
func DecodeFor(r *Request, frame []byte, pktLen int, mtu int, t *Table, b *Batch) {
	Decode(r, frame, pktLen, mtu, t.EnabledTx(), t.HardwareTxTasks(), b)
}

// Decode checks a packet's TX request against its headers and fills b with
// the tasks in order. frame holds the packet's headers (the first segment);
// pktLen is its whole length; mtu is the egress IP MTU. allowed are the
// capabilities the requesting side enabled (a task outside them is refused
// as disabled); hw are the egress device's configured hardware offloads (a
// task in them is left to the device; software does the others). It never
// reads past frame and allocates nothing.
//
// A request is refused for anything rte_validate_tx_offload rejects, for
// lengths that lie outside the packet or disagree with its headers, for a
// segment size of 0 or one the MTU cannot carry, and for a task that is
// not enabled.
func Decode(r *Request, frame []byte, pktLen int, mtu int, allowed, hw TxCaps, b *Batch) {
	t := performers{allowed, hw}
	*b = Batch{}
	f := r.OlFlags
	seg := f&(OlTxTCPSeg|OlTxUDPSeg) != 0 || r.UFO
	if f&OlTxOffloadMask == 0 && !seg && !r.Digest {
		return
	}
	// What rte_validate_tx_offload rejects.
	switch {
	case f&OlTxIPCksum != 0 && f&OlTxIPv6 != 0:
		b.Refusal = RefIPCksumOnIPv6
	case f&(OlTxL4Mask|OlTxTCPSeg|OlTxUDPSeg) != 0 && f&(OlTxIPv4|OlTxIPv6) == 0:
		b.Refusal = RefNoIPType
	case f&OlTxTCPSeg != 0 && r.TSOSegsz == 0, (f&OlTxUDPSeg != 0 || r.UFO) && r.TSOSegsz == 0:
		b.Refusal = RefTSOSegszZero
	case f&OlTxTCPSeg != 0 && f&OlTxIPv4 != 0 && f&OlTxIPCksum == 0:
		b.Refusal = RefTSOIPv4NoIPCksum
	case f&OlTxOuterIPCksum != 0 && f&OlTxOuterIPv4 == 0:
		b.Refusal = RefOuterIPCksumNotIPv4
	// What offloadpmd has no engine for.
	case f&(OlTxTunnelMask|OlTxOuterIPv4|OlTxOuterIPv6|OlTxOuterIPCksum|OlTxOuterUDPCksum) != 0:
		b.Refusal = RefTunnelUnsupported
	case f&OlTxL4Mask == OlTxSCTPCksum:
		b.Refusal = RefSCTPUnsupported
	case f&(OlTxMACsec|OlTxIEEE1588|OlTxVLAN|OlTxQinQ) != 0:
		b.Refusal = RefUnsupportedFlags
	case btoi(f&OlTxTCPSeg != 0)+btoi(f&OlTxUDPSeg != 0)+btoi(r.UFO) > 1:
		b.Refusal = RefSeveralSegmentations
	case seg && r.Digest:
		b.Refusal = RefDigestSegmentation
	}
	if b.Refusal != RefusalNone {
		return
	}
	// The lengths must describe this packet.
	l := &b.Layout
	if m := header.ParseHeadInto(frame, pktLen, l); m != header.OK {
		b.Refusal, b.Malformed = RefMalformed, m
		return
	}
	hdrs := int(r.L2Len) + int(r.L3Len) + int(r.L4Len)
	wantsL3 := f&(OlTxIPv4|OlTxIPv6|OlTxIPCksum) != 0
	wantsL4 := f&OlTxL4Mask != 0 || seg
	switch {
	case hdrs > len(frame) || hdrs > pktLen:
		b.Refusal = RefLengthsBeyondPacket
	case wantsL3 && (f&OlTxIPv4 != 0) != (l.L3 == header.L3IPv4), wantsL3 && (f&OlTxIPv6 != 0) != (l.L3 == header.L3IPv6):
		b.Refusal = RefIPTypeMismatch
	case int(r.L2Len) != l.L2Len:
		b.Refusal = RefL2LenMismatch
	case wantsL3 && int(r.L3Len) != l.L3Len:
		b.Refusal = RefL3LenMismatch
	case f&OlTxL4Mask == OlTxTCPCksum && l.L4Proto != header.ProtoTCP, f&OlTxL4Mask == OlTxUDPCksum && l.L4Proto != header.ProtoUDP:
		b.Refusal = RefL4TypeMismatch
	case f&OlTxTCPSeg != 0 && l.L4Proto != header.ProtoTCP:
		b.Refusal = RefSegNotTCP
	case (f&OlTxUDPSeg != 0 || r.UFO) && l.L4Proto != header.ProtoUDP:
		b.Refusal = RefSegNotUDP
	case wantsL4 && l.Fragment:
		b.Refusal = RefSegFragment
	case wantsL4 && int(r.L4Len) != l.L4Len:
		b.Refusal = RefL4LenMismatch
	case r.UFO && l.L3 == header.L3IPv4 && header.IPv4(frame[l.L3Off():]).Flags()&header.IPv4FlagDF != 0:
		b.Refusal = RefUFODontFragment
	case seg && segTooBig(r, l, mtu):
		b.Refusal = RefSegszExceedsMTU
	}
	if b.Refusal != RefusalNone {
		return
	}
	v6 := l.L3 == header.L3IPv6
	switch {
	case f&OlTxTCPSeg != 0:
		b.add(t, TaskTSO, pick(v6, TxTCPTSO6, TxTCPTSO))
	case f&OlTxUDPSeg != 0:
		b.add(t, TaskUSO, pick(v6, TxUDPTSO6, TxUDPTSO))
	case r.UFO:
		b.add(t, TaskUFO, TxUFO)
	}
	// The digest, before the checksums: an appended one changes the
	// lengths and is covered by the L4 checksum.
	if r.Digest {
		b.add(t, TaskDigest, TxDigest)
	}
	// Segmentation done in hardware includes the checksums: the device
	// computes each segment's.
	hwSeg := b.N > 0 && isSegTask(b.Steps[0].Task) && b.Steps[0].Verdict == Hardware
	if f&OlTxIPCksum != 0 || (seg && !v6) {
		if hwSeg {
			b.Steps[b.N] = Step{Task: TaskIPv4Cksum, Cap: TxIPv4Cksum, Verdict: Hardware}
			b.N++
		} else {
			b.add(t, TaskIPv4Cksum, TxIPv4Cksum)
		}
	}
	if f&OlTxL4Mask != 0 || seg {
		c := TxTCPCksum
		if l.L4Proto == header.ProtoUDP {
			c = TxUDPCksum
		}
		if hwSeg {
			b.Steps[b.N] = Step{Task: TaskL4Cksum, Cap: c, Verdict: Hardware}
			b.N++
		} else {
			b.add(t, TaskL4Cksum, c)
		}
	}
	// Encryption comes last: what it covers must be final.
	if f&OlTxSecOffload != 0 {
		b.add(t, TaskESPEncrypt, TxESPEncrypt)
	}
}

// segTooBig reports whether one segment (headers plus segsz) exceeds the
// MTU. For UFO the segment size counts IP payload bytes.
func segTooBig(r *Request, l *header.Layout, mtu int) bool {
	if r.UFO {
		extra := 0
		if l.L3 == header.L3IPv6 && l.IPv6FragHdr == 0 {
			extra = header.IPv6FragmentLen
		}
		return l.L3Len+extra+int(r.TSOSegsz) > mtu
	}
	return l.L3Len+l.L4Len+int(r.TSOSegsz) > mtu
}

func pick(v6 bool, a, b TxCaps) TxCaps {
	if v6 {
		return a
	}
	return b
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
