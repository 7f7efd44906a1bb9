package pipeline

import (
	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/assembly"
	"github.com/offloadpmd/offloadpmd/offload/digest"
	"github.com/offloadpmd/offloadpmd/offload/dos"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// Counter names a per-stream counter kept by the pipeline (the pmd layer
// keeps RX, TX, TX-dropped and tx_prepare refusals itself). The fixed
// counters come first; then ranges indexed by the offload packages' own
// reason types, so every drop has the name its engine gave it.
type Counter int

// Fixed counters.
const (
	// DropRuntFrame: a frame too short for the engine's header access.
	DropRuntFrame Counter = iota
	// FreedRxOnly: received and freed by the rxonly engine, by design.
	FreedRxOnly
	// TxOnlyGenerated: packets built by the txonly engine.
	TxOnlyGenerated
	// RX checksum verification in software (DPDK's RX_*_CKSUM_* flags).
	RxIPCksumGood
	RxIPCksumBad
	RxL4CksumGood
	RxL4CksumBad
	// Segmentation in software: packets segmented and segments made.
	SegInputs
	SegOutputs
	// DropNoSpare: a packet to segment, dropped for want of spare mbufs.
	DropNoSpare
	// DropSegRefused: the segmentation engine refused a packet the
	// decoder accepted (see SegRefused for its reason).
	DropSegRefused
	// Checksums completed in software on packets that were not segmented.
	CsumIPv4Software
	CsumL4Software
	// TasksQuirk: packets whose tasks the egress device was to do but
	// would get wrong (offload.Quirks), done in software instead.
	TasksQuirk
	// The csum engine's count of packets received with bad checksums, by
	// their RX flags (testpmd's Bad-ipcsum and Bad-l4csum).
	CsumRxBadIP
	CsumRxBadL4
	// DropPipeLeftover: pipeline mode, packets left in a stream's ring
	// when it was closed without being stopped.
	DropPipeLeftover
	// DirectForwarded: packets of plain io bursts that C forwarded
	// without Go seeing them (pmd.Stream.Direct); the pmd layer counts
	// them, Stats reports them here.
	DirectForwarded
	// Assembly, copied from the engines' own statistics.
	GROIn
	GROHeld
	GROMerged
	GROOut
	ReassIn
	ReassHeld
	ReassDone
	ReassJoined
	// VnetRequests: frames from a kernel-facing port whose virtio_net_hdr
	// asked for tasks (NEEDS_CSUM, GSO).
	VnetRequests
	// VhostGSORequests: a guest's GSO frames from a vhost-user port (RX_LRO)
	// turned into segmentation requests.
	VhostGSORequests
	// VhostCsumRequests: a guest's partial checksums (RX_L4_CKSUM_NONE
	// from a vhost-user port) turned into checksum requests.
	VhostCsumRequests
	// VhostLegacyRequests: a guest's requests the vhost library handed
	// over as TX flags (legacy-ol-flags=1), completed from the headers.
	VhostLegacyRequests
	// GuestSuperFrames: assembled packets (GRO on another port) handed to
	// a vhost-user guest that takes TCP super-frames as one GSO frame.
	GuestSuperFrames
	// ObserverRecordsLost: packet records (set verbose, trace) the
	// control plane had not drained in time, lost rather than waited for.
	ObserverRecordsLost
	// ESP: packets encrypted and decrypted, and chained mbufs ESP refused.
	ESPEncrypted
	ESPDecrypted
	ESPMultiSegment
	// ESP crypto jobs run on a crypto device and in Go.
	ESPCryptodevJobs
	ESPGoJobs
	// Digests: RX verdicts; TX requests dropped for a chained mbuf or a
	// requesting port without a digest configuration; RX packets left
	// unverified for the same reasons.
	DigestVerifiedGood
	DigestVerifiedBad
	DigestMultiSegment
	DigestNoConfig
	DigestRxMultiSegment
	DigestRxNoConfig
	// DoS filter: packets passed because their source is allowed, sources
	// established by a completed handshake, and the tables' evictions and
	// expiries (copied from the Filter's statistics; drops are DoSDropped).
	DoSAllowed
	DoSEstablished
	DoSSourceEvictions
	DoSFlowEvictions
	DoSFlowsExpired
	DoSFragmentEvictions
	// Classification (classify.go): packets that matched a rule; dropped,
	// marked, given a queue or rss fate, given TX tasks by a rule; tasks a
	// packet's headers could not take.
	ClassifyMatched
	ClassifyDrop
	ClassifyMarked
	ClassifyQueue
	ClassifyRSS
	ClassifyTasks
	ClassifyTaskSkipped

	numFixed
)

var fixedNames = [numFixed]string{
	DropRuntFrame:       "drop-runt-frame",
	FreedRxOnly:         "rxonly-freed",
	TxOnlyGenerated:     "txonly-generated",
	RxIPCksumGood:       "rx-ip-cksum-good",
	RxIPCksumBad:        "rx-ip-cksum-bad",
	RxL4CksumGood:       "rx-l4-cksum-good",
	RxL4CksumBad:        "rx-l4-cksum-bad",
	SegInputs:           "seg-inputs",
	SegOutputs:          "seg-outputs",
	DropNoSpare:         "drop-no-spare-mbuf",
	DropSegRefused:      "drop-seg-refused",
	CsumIPv4Software:    "csum-ipv4-software",
	CsumL4Software:      "csum-l4-software",
	TasksQuirk:          "tasks-quirk-to-software",
	DropPipeLeftover:    "drop-pipeline-leftover",
	DirectForwarded:     "direct-forwarded",
	CsumRxBadIP:         "csum-rx-bad-ip",
	CsumRxBadL4:         "csum-rx-bad-l4",
	GROIn:               "gro-in",
	GROHeld:             "gro-held",
	GROMerged:           "gro-merged",
	GROOut:              "gro-out",
	ReassIn:             "reassembly-in",
	ReassHeld:           "reassembly-held",
	ReassDone:           "reassembly-done",
	ReassJoined:         "reassembly-joined",
	VnetRequests:        "vnet-requests",
	VhostGSORequests:    "vhost-gso-requests",
	VhostCsumRequests:   "vhost-csum-requests",
	GuestSuperFrames:    "guest-super-frames",
	VhostLegacyRequests: "vhost-legacy-requests",
	ObserverRecordsLost: "observer-records-lost",
	ESPEncrypted:        "esp-encrypted",
	ESPDecrypted:        "esp-decrypted",
	ESPMultiSegment:     "esp-multi-segment",
	ESPCryptodevJobs:    "esp-cryptodev-jobs",
	ESPGoJobs:           "esp-go-jobs",
	ClassifyMatched:     "classify-matched",
	ClassifyDrop:        "classify-drop",
	ClassifyMarked:      "classify-marked",
	ClassifyQueue:       "classify-queue",
	ClassifyRSS:         "classify-rss",
	ClassifyTasks:       "classify-tasks",
	ClassifyTaskSkipped: "classify-task-skipped",
}

// Ranges: the counter for reason r of a kind is base + r.
var (
	numRefusals     = int(maxOf(offload.Refusals())) + 1
	numMalformed    = int(maxOf(header.MalformedReasons())) + 1
	numTasks        = offload.NumTasks
	numAsmReasons   = int(maxOf(assembly.Reasons())) + 1
	numFlushReasons = int(maxOf(assembly.FlushReasons())) + 1
	numESPReasons   = int(maxOf(esp.Reasons())) + 1
	numDigReasons   = int(maxOf(digest.Reasons())) + 1

	refusedBase      = int(numFixed)
	malformedBase    = refusedBase + numRefusals
	softwareTaskBase = malformedBase + numMalformed
	hardwareTaskBase = softwareTaskBase + numTasks
	refusedTaskBase  = hardwareTaskBase + numTasks
	groPassedBase    = refusedTaskBase + numTasks
	groFlushedBase   = groPassedBase + numAsmReasons
	reassPassedBase  = groFlushedBase + numFlushReasons
	reassDroppedBase = reassPassedBase + numAsmReasons
	reassAbortedBase = reassDroppedBase + numAsmReasons
	espDroppedBase   = reassAbortedBase + numAsmReasons
	digDroppedBase   = espDroppedBase + numESPReasons
	digUnverBase     = digDroppedBase + numDigReasons
	dosDroppedBase   = digUnverBase + numDigReasons
	numCounters      = dosDroppedBase + dos.NumReasons
)

func maxOf[T ~uint8](xs []T) T {
	var m T
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// Refused is the counter of packets dropped because their request was
// refused for reason r.
func Refused(r offload.Refusal) Counter { return Counter(refusedBase + int(r)) }

// Malformed is the counter of packets dropped for malformed headers.
func Malformed(m header.Malformed) Counter { return Counter(malformedBase + int(m)) }

// SoftwareTask counts tasks of kind t performed in software.
func SoftwareTask(t offload.Task) Counter { return Counter(softwareTaskBase + int(t)) }

// HardwareTask counts tasks of kind t left to the egress device.
func HardwareTask(t offload.Task) Counter { return Counter(hardwareTaskBase + int(t)) }

// RefusedTask counts packets refused because task t was asked for and not
// enabled, or enabled with no one to perform it (their reason is counted
// under Refused too).
func RefusedTask(t offload.Task) Counter { return Counter(refusedTaskBase + int(t)) }

// GROPassed counts packets GRO passed through for reason r.
func GROPassed(r assembly.Reason) Counter { return Counter(groPassedBase + int(r)) }

// GROFlushed counts held packets GRO let go for reason f.
func GROFlushed(f assembly.FlushReason) Counter { return Counter(groFlushedBase + int(f)) }

// ReassPassed counts packets reassembly passed through for reason r.
func ReassPassed(r assembly.Reason) Counter { return Counter(reassPassedBase + int(r)) }

// ReassDropped counts fragments reassembly dropped for reason r.
func ReassDropped(r assembly.Reason) Counter { return Counter(reassDroppedBase + int(r)) }

// ReassAborted counts datagrams reassembly gave up for reason r.
func ReassAborted(r assembly.Reason) Counter { return Counter(reassAbortedBase + int(r)) }

// ESPDropped counts packets ESP dropped for reason r.
func ESPDropped(r esp.Reason) Counter { return Counter(espDroppedBase + int(r)) }

// DigestDropped counts packets dropped because their digest request could
// not be met for reason r.
func DigestDropped(r digest.Reason) Counter { return Counter(digDroppedBase + int(r)) }

// DigestUnverified counts received packets whose digest was not checked
// for reason r (a wrong digest is DigestVerifiedBad).
func DigestUnverified(r digest.Reason) Counter { return Counter(digUnverBase + int(r)) }

// DoSDropped counts packets the DoS filter dropped for reason r.
func DoSDropped(r dos.Reason) Counter { return Counter(dosDroppedBase + int(r)) }

var counterNames = func() []string {
	n := make([]string, numCounters)
	copy(n, fixedNames[:])
	for _, r := range offload.Refusals() {
		n[Refused(r)] = "refused-" + r.String()
	}
	for _, m := range header.MalformedReasons() {
		n[Malformed(m)] = "drop-" + m.String()
	}
	for t := offload.TaskESPEncrypt; int(t) < numTasks; t++ {
		n[SoftwareTask(t)] = "software-" + t.String()
		n[HardwareTask(t)] = "hardware-" + t.String()
		n[RefusedTask(t)] = "refused-task-" + t.String()
	}
	for _, r := range assembly.Reasons() {
		n[GROPassed(r)] = "gro-passed-" + r.String()
		n[ReassPassed(r)] = "reassembly-passed-" + r.String()
		n[ReassDropped(r)] = "reassembly-dropped-" + r.String()
		n[ReassAborted(r)] = "reassembly-aborted-" + r.String()
	}
	for _, f := range assembly.FlushReasons() {
		n[GROFlushed(f)] = "gro-" + f.String()
	}
	for _, r := range esp.Reasons() {
		n[ESPDropped(r)] = r.String() // esp-...
	}
	for c, name := range map[Counter]string{
		DigestVerifiedGood: "digest-verified-good", DigestVerifiedBad: "digest-verified-bad",
		DigestMultiSegment: "drop-digest-multi-segment", DigestNoConfig: "drop-digest-no-config",
		DigestRxMultiSegment: "digest-multi-segment", DigestRxNoConfig: "digest-no-config",
	} {
		n[c] = name
	}
	for _, r := range digest.Reasons() {
		// Only the reasons each side can meet: a mismatch is verification's
		// verdict, appending fails where verifying cannot.
		if r != digest.Mismatch && r != digest.Short {
			n[DigestDropped(r)] = "drop-" + r.String() // drop-digest-...
		}
		if r != digest.Mismatch && r != digest.NoTailroom && r != digest.TooBig && r != digest.OutputShort {
			n[DigestUnverified(r)] = r.String() // digest-...
		}
	}
	for c, name := range map[Counter]string{
		DoSAllowed: "dos-allowed", DoSEstablished: "dos-established", DoSSourceEvictions: "dos-source-evictions",
		DoSFlowEvictions: "dos-flow-evictions", DoSFlowsExpired: "dos-flows-expired", DoSFragmentEvictions: "dos-fragment-evictions",
	} {
		n[c] = name
	}
	for _, r := range dos.Reasons() {
		n[DoSDropped(r)] = "dos-" + r.String()
	}
	return n
}()

func (c Counter) String() string {
	if c >= 0 && int(c) < len(counterNames) && counterNames[c] != "" {
		return counterNames[c]
	}
	return "unused"
}

// IsDrop reports whether the counter counts packets freed without being
// sent (drops with a reason, as opposed to work done).
func (c Counter) IsDrop() bool {
	switch {
	case c == DropRuntFrame, c == DropNoSpare, c == DropSegRefused, c == DropPipeLeftover, c == ESPMultiSegment,
		c == DigestMultiSegment, c == DigestNoConfig, c == ClassifyDrop:
		return true
	case int(c) >= refusedBase && int(c) < malformedBase+numMalformed:
		return true
	case int(c) >= reassDroppedBase && int(c) < reassDroppedBase+numAsmReasons:
		return true
	case int(c) >= espDroppedBase && int(c) < espDroppedBase+numESPReasons:
		return true
	case int(c) >= digDroppedBase && int(c) < digDroppedBase+numDigReasons:
		return true
	case int(c) >= dosDroppedBase && int(c) < dosDroppedBase+dos.NumReasons:
		return true
	}
	return false
}

// AllCounters lists every counter that has a name.
func AllCounters() []Counter {
	var cs []Counter
	for i, n := range counterNames {
		if n != "" {
			cs = append(cs, Counter(i))
		}
	}
	return cs
}
