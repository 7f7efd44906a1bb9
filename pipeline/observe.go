package pipeline

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/assembly"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// Observation of single packets, for the control plane: testpmd's `set
// verbose` (a dump of every packet received and sent) and offloadpmd's
// `trace` (the next packets received followed through every stage, with
// each stage's decision).
//
// The lcores write fixed-size Records into a preallocated
// single-producer/single-consumer ring per stream half; the control plane
// drains them (Forwarder.DrainObserved) and formats them. Nothing on the
// lcore allocates or logs, and when nothing is asked for, a burst costs
// one atomic load (Observer.state). A full ring loses the record, counted
// under ObserverRecordsLost; the lcore never waits for the reader.
//
// A traced packet is followed by its mbuf: each stream half keeps a small
// table of the mbufs it traces, and the stages note their decisions for
// any packet of the table (checks hoisted out of the per-packet loops,
// or placed where the stage already does per-packet work: a decoded
// request, a drop). What GRO holds stays in the table until it leaves;
// what GRO merges or reassembly holds ends its trace there; what
// segmentation replaces ends with the number of segments queued. In
// pipeline mode the RX half hands its traces over to the TX half with the
// packets.

// Record sizes.
const (
	// RecordDataMax is how many bytes of a packet a Record keeps.
	RecordDataMax = 256
	// RecordEventsMax is how many stage decisions a trace Record keeps.
	RecordEventsMax = 24

	observeRingSize = 256 // records per stream half, a power of two
	traceSlots      = 64  // packets one stream half follows at once
)

// RecordKind says what a Record is.
type RecordKind uint8

// Record kinds.
const (
	// RecordReceived: a packet as the RX port/queue gave it (verbose 1).
	RecordReceived RecordKind = iota + 1
	// RecordSent: a packet as it goes to the TX port/queue (verbose 2).
	RecordSent
	// RecordTrace: a traced packet as received, and every stage's
	// decision on it.
	RecordTrace
)

// Dynamic flags a Record notes (offloadpmd's own, see Offload.UFO).
const (
	DynUFO uint8 = 1 << iota
	DynFixedID
	DynPartial
)

// Record is one observed packet. It holds no pointer: rings of them cost
// the garbage collector nothing.
type Record struct {
	Kind RecordKind
	// Stream is the stream's id; Port and Queue the RX port and queue
	// (received, trace) or the TX port and queue (sent).
	Stream      int32
	Port, Queue uint16
	// Burst is how many packets the burst this record belongs to held;
	// BurstSeq numbers the stream half's observed bursts, so records of
	// one burst share it.
	Burst    uint16
	BurstSeq uint32
	// Trace numbers traced packets from 1; 0 for verbose records.
	Trace uint32

	// The mbuf's fields, when it was received (trace) or dumped.
	PktLen     uint32
	DataLen    uint16
	NbSegs     uint16
	OlFlags    uint64
	PacketType uint32
	RSSHash    uint32
	VlanTCI    uint16
	L2Len      uint16
	L3Len      uint16
	L4Len      uint16
	TSOSegsz   uint16
	OuterL2Len uint16
	OuterL3Len uint16
	Dyn        uint8 // Dyn* flags set

	// Data holds the packet's first Captured bytes (all segments).
	Captured uint16
	Data     [RecordDataMax]byte

	// Events are a trace's stage decisions, in order; EventsLost says
	// more happened than the array holds (the fate is always last).
	NEvents    uint8
	EventsLost bool
	Events     [RecordEventsMax]Event
}

// Frame is the packet data the record holds.
func (r *Record) Frame() []byte { return r.Data[:r.Captured] }

// Stage is a step of the data path a trace notes decisions of.
type Stage uint8

// Stages, in data path order.
const (
	StageNone       Stage = iota
	StageValidate         // the requests a packet brought, checked against the RX port's table
	StageRxCksum          // RX checksum verification
	StageReassembly       // IPv4/IPv6 reassembly
	StageGRO              // TCP/UDP GRO
	StageEngine           // the forward engine
	StageTx               // the TX tasks, one event per task
	StageSegment          // software segmentation
	StagePipeline         // pipeline mode: the RX half hands the packet to the TX half
	StageFate             // what finally became of the packet
	numStages
)

var stageNames = [numStages]string{
	StageNone: "none", StageValidate: "validate", StageRxCksum: "rx-cksum", StageReassembly: "reassembly",
	StageGRO: "gro", StageEngine: "engine", StageTx: "tx", StageSegment: "segment", StagePipeline: "pipeline",
	StageFate: "fate",
}

func (s Stage) String() string {
	if s < numStages {
		return stageNames[s]
	}
	return "unknown"
}

// Outcome is a stage's decision on a packet.
type Outcome uint8

// Outcomes. Which Event fields they use is said for each.
const (
	OutNone Outcome = iota // validate, tx: the packet asks for nothing
	// OutAccepted: validate: the request is valid and allowed; Value is
	// the bit set of the Tasks asked for (1<<Task).
	OutAccepted
	// OutRefused: validate, tx: Task (TaskNone: the request as a whole)
	// refused for Reason (an offload.Refusal); Value is the
	// header.Malformed reason when Reason is RefMalformed.
	OutRefused
	OutHardware // tx: Task left to the egress device
	OutSoftware // tx: Task done in software
	// OutQuirk: tx: the egress device would spoil a task it does (its
	// quirks): software does it; the task events follow.
	OutQuirk
	// OutVerified: rx-cksum: verified in software; Value is the IPv4
	// header's checksum.Status, and the L4 one's shifted left 8.
	OutVerified
	// OutDevice: rx-cksum: not verified in software: the RX flags are the
	// device's (Value as for OutVerified).
	OutDevice
	OutSkipped // rx-cksum, assembly: the packet carries TX requests: not for this stage
	// OutPassed: assembly: passed through for Reason (assembly.Reason).
	OutPassed
	OutHeld   // assembly: held (GRO: followed until it leaves)
	OutMerged // assembly: joined to a packet the engine holds
	// OutFlushed: gro: a held packet leaves for Reason (an
	// assembly.FlushReason), Value segments merged into it, Task the
	// assembly.Kind it became.
	OutFlushed
	// OutReassembled: reassembly: the datagram is complete; Value
	// fragments joined, Task the assembly.Kind.
	OutReassembled
	OutKept     // engine: kept for TX
	OutDropped  // any stage, fate: freed, counted under Counter
	OutFinished // tx: the engine performed every task itself (the csum engine's quick path)
	// OutSegmented: segment: cut into Value segments.
	OutSegmented
	OutHandedOver // pipeline: into the ring to the TX half
	// OutQueued: fate: queued for TX on Port/Queue; Value packets (the
	// segments, or 1).
	OutQueued
	OutEnded // fate: the packet became part of another (merged, held by reassembly): not followed further
	OutLost  // fate: the trace lost the packet (sent before the end of its burst, or never seen again)
	numOutcomes
)

// Event is one stage decision on a traced packet.
type Event struct {
	Stage   Stage
	Outcome Outcome
	Task    offload.Task // or assembly.Kind, see the Outcome
	Reason  uint8        // a refusal, an assembly reason or flush reason, see the Outcome
	Port    uint16
	Queue   uint16
	Value   uint32
	// Counter is the Counter a drop counted under, -1 for none; see
	// DropCounter.
	Counter int16
}

// DropCounter is the counter a drop counted under, or -1.
func (e Event) DropCounter() Counter { return Counter(e.Counter) }

func (e Event) String() string {
	switch e.Outcome {
	case OutNone:
		return "no request"
	case OutAccepted:
		s := "accepted"
		var names string
		for t := offload.Task(1); int(t) < offload.NumTasks; t++ {
			if e.Value&(1<<t) != 0 {
				if names != "" {
					names += " "
				}
				names += t.String()
			}
		}
		if names != "" {
			s += ": " + names
		}
		return s
	case OutRefused:
		why := offload.Refusal(e.Reason).String()
		if offload.Refusal(e.Reason) == offload.RefMalformed {
			why += " (" + header.Malformed(e.Value).String() + ")"
		}
		if e.Task == offload.TaskNone {
			return "refused: " + why
		}
		return fmt.Sprintf("%s refused: %s (%s)", e.Task, why, RefusedTask(e.Task))
	case OutHardware:
		return e.Task.String() + " hardware"
	case OutSoftware:
		return e.Task.String() + " software"
	case OutQuirk:
		return "the device would spoil its tasks (quirk): software instead"
	case OutVerified, OutDevice:
		s := "verified in software"
		if e.Outcome == OutDevice {
			s = "as flagged on RX"
		}
		return fmt.Sprintf("%s: ip %s, l4 %s", s, checksum.Status(e.Value&0xff), checksum.Status(e.Value>>8&0xff))
	case OutSkipped:
		return "skipped: carries TX requests"
	case OutPassed:
		return "passed: " + assembly.Reason(e.Reason).String()
	case OutHeld:
		return "held"
	case OutMerged:
		return "merged into a held packet"
	case OutFlushed:
		return fmt.Sprintf("flushed (%s): %s of %d segments", assembly.FlushReason(e.Reason), assembly.Kind(e.Task), e.Value)
	case OutReassembled:
		return fmt.Sprintf("reassembled: %s of %d fragments", assembly.Kind(e.Task), e.Value)
	case OutKept:
		return "kept"
	case OutDropped:
		if e.Counter < 0 {
			return "dropped"
		}
		return "dropped: " + e.DropCounter().String()
	case OutFinished:
		return "nothing left: the engine performed the requests"
	case OutSegmented:
		return fmt.Sprintf("%d segments", e.Value)
	case OutHandedOver:
		return "to the TX half"
	case OutQueued:
		if e.Value > 1 {
			return fmt.Sprintf("queued %d packets for TX on port %d/queue %d", e.Value, e.Port, e.Queue)
		}
		return fmt.Sprintf("queued for TX on port %d/queue %d", e.Port, e.Queue)
	case OutEnded:
		return "not followed further"
	case OutLost:
		return "lost track of the packet"
	}
	return "unknown"
}

// noCounter marks a drop no counter names (an engine freeing packets).
const noCounter int16 = -1

// Observer is a forwarder's packet observation: the verbose level and the
// trace budget the control plane sets, and each stream half's ring.
type Observer struct {
	// state is read once per burst by every lcore: the verbose level in
	// its low bits, obsTracing while traces are asked for or under way.
	state atomic.Uint32
	_     [60]byte
	// budget is how many packets are still to be traced; inflight how many
	// are being followed (claimed, record not yet written).
	budget   atomic.Int64
	inflight atomic.Int64
	ids      atomic.Uint32

	mu      sync.Mutex // control plane: settings and Drain
	streams []*streamObs
	ready   bool // the streams' rings and tables are allocated
}

const (
	obsVerboseMask uint32 = 0xff
	obsTracing     uint32 = 1 << 8
)

// ErrObserve is wrapped by the errors of bad observation settings.
var ErrObserve = errors.New("observe")

// newObserver attaches an observer to streams (every half a forwarder runs).
func newObserver(streams []*Stream) *Observer {
	o := &Observer{}
	for _, s := range streams {
		s.ob = &streamObs{o: o, s: s}
		o.streams = append(o.streams, s.ob)
	}
	return o
}

// allocate gives every stream half its ring and trace table, the first
// time observation is asked for; the lcores see them after the state
// store that follows (an atomic store, so they are published).
func (o *Observer) allocate() {
	if o.ready {
		return
	}
	for _, ob := range o.streams {
		ob.recs = make([]Record, observeRingSize)
		ob.slots = make([]traceSlot, traceSlots)
		ob.rxReal = ob.s.role != RoleTx && ob.s.io.Config().RxMode != pmd.RxAlloc
		if ob.s.role == RoleRx && ob.s.peer != nil && ob.s.peer.ob != nil {
			h := &handoff{slots: make([]handoffSlot, traceSlots)}
			ob.hand, ob.s.peer.ob.hand = h, h
		}
	}
	o.ready = true
}

// SetVerbose sets testpmd's verbose level: 0 off, 1 received packets, 2
// sent packets, 3 and more both.
func (o *Observer) SetVerbose(level int) error {
	if level < 0 || level > int(obsVerboseMask) {
		return fmt.Errorf("%w: verbose level %d: want 0..%d", ErrObserve, level, obsVerboseMask)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if level > 0 {
		o.allocate()
	}
	for {
		st := o.state.Load()
		if o.state.CompareAndSwap(st, st&^obsVerboseMask|uint32(level)) {
			pmd.BumpEpoch() // direct streams show their next burst to Go
			return nil
		}
	}
}

// Verbose is the verbose level.
func (o *Observer) Verbose() int { return int(o.state.Load() & obsVerboseMask) }

// Trace asks for the next n packets received, over all streams, to be
// traced; it replaces what was still pending. 0 cancels what has not
// started (traces under way finish).
func (o *Observer) Trace(n int) error {
	if n < 0 {
		return fmt.Errorf("%w: trace count %d: want 0 or more", ErrObserve, n)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if n > 0 {
		o.allocate()
		o.budget.Store(int64(n))
		o.state.Or(obsTracing)
		pmd.BumpEpoch()
		return nil
	}
	o.budget.Store(0)
	return nil
}

// TracePending is how many packets are still to be traced (not yet
// received).
func (o *Observer) TracePending() int { return int(max(o.budget.Load(), 0)) }

// Tracing reports whether traces are pending or under way.
func (o *Observer) Tracing() bool { return o.state.Load()&obsTracing != 0 }

// Drain calls fn for every record the lcores have written, stream half by
// stream half, oldest first, and returns how many there were. fn must not
// keep the pointer. Any goroutine, one at a time with the observer's
// other methods.
func (o *Observer) Drain(fn func(*Record)) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	if o.ready {
		for _, ob := range o.streams {
			n += ob.drain(fn)
		}
	}
	// Every trace asked for has been written (or lost): the lcores may
	// stop looking. No packet is claimed with the budget at 0, and a
	// claim counts as under way before it takes from the budget.
	if o.state.Load()&obsTracing != 0 && o.budget.Load() <= 0 && o.inflight.Load() == 0 {
		o.state.And(^obsTracing)
	}
	return n
}

// streamObs is one stream half's observation state. recs is the ring the
// control plane drains; the rest is the lcore's.
type streamObs struct {
	o      *Observer
	s      *Stream
	rxReal bool // its packets come from a port (not txonly, not the pipeline ring)

	recs []Record
	_    [64]byte
	head atomic.Uint32 // next record the control plane reads
	_    [60]byte
	tail atomic.Uint32 // next record the lcore writes
	_    [60]byte

	bursts uint32
	slots  []traceSlot
	live   int
	hand   *handoff // pipeline mode: traces from the RX half to the TX half
	rxSeen uint64   // TX half: packets received from the ring (for handoff expiry)
}

// reserve is the next free record, or nil if the ring is full (the caller
// counts the loss). commit publishes it.
func (ob *streamObs) reserve() *Record {
	t := ob.tail.Load()
	if t-ob.head.Load() >= observeRingSize {
		return nil
	}
	return &ob.recs[t%observeRingSize]
}

func (ob *streamObs) commit() { ob.tail.Add(1) }

func (ob *streamObs) drain(fn func(*Record)) int {
	h, t := ob.head.Load(), ob.tail.Load()
	n := 0
	for ; h != t; h++ {
		fn(&ob.recs[h%observeRingSize])
		ob.head.Store(h + 1)
		n++
	}
	return n
}

// snapshot copies m's fields and first bytes into r.
func (s *Stream) snapshot(r *Record, m *pmd.Mbuf) {
	r.Stream = int32(s.ID)
	r.PktLen, r.DataLen, r.NbSegs = m.PktLen(), m.DataLen(), m.NbSegs()
	r.OlFlags, r.PacketType, r.RSSHash, r.VlanTCI = m.OlFlags(), m.PacketType(), m.RSSHash(), m.VlanTCI()
	t := m.TxLengths()
	r.L2Len, r.L3Len, r.L4Len, r.TSOSegsz, r.OuterL2Len, r.OuterL3Len = t.L2, t.L3, t.L4, t.TSOSegsz, t.OuterL2, t.OuterL3
	if s.off != nil {
		c := s.off.cfg
		if c.UFO.Mask() != 0 && c.UFO.Test(m) {
			r.Dyn |= DynUFO
		}
		if c.FixedID.Mask() != 0 && c.FixedID.Test(m) {
			r.Dyn |= DynFixedID
		}
		if c.Partial.Mask() != 0 && c.Partial.Test(m) {
			r.Dyn |= DynPartial
		}
	}
	r.Captured = uint16(m.CopyOut(r.Data[:]))
}

// dump writes a verbose record for each packet of a burst (received on,
// or sent to, port/queue).
func (s *Stream) dump(kind RecordKind, port, queue uint16, burst int, pkts []*pmd.Mbuf) {
	ob := s.ob
	for i, m := range pkts {
		r := ob.reserve()
		if r == nil {
			s.cnt.Add(int(ObserverRecordsLost), uint64(len(pkts)-i))
			return
		}
		*r = Record{}
		s.snapshot(r, m)
		r.Kind, r.Port, r.Queue, r.Burst, r.BurstSeq = kind, port, queue, uint16(min(burst, 0xffff)), ob.bursts
		ob.commit()
	}
}

// observing reports whether the observer asks for anything: one atomic
// load, once per burst.
func (s *Stream) observing() (uint32, bool) {
	if s.ob == nil {
		return 0, false
	}
	st := s.ob.o.state.Load()
	return st, st != 0
}

// observeBegin is the observed burst's start: received packets dumped and
// traces claimed (RX), traces handed over taken in (TX half).
func (s *Stream) observeBegin(st uint32, pkts []*pmd.Mbuf) {
	ob := s.ob
	ob.bursts++
	if v := st & obsVerboseMask; ob.rxReal && (v == 1 || v > 2) {
		s.dump(RecordReceived, s.RxPort, s.RxQueue, len(pkts), pkts)
	}
	if ob.rxReal && st&obsTracing != 0 {
		s.claim(pkts)
	}
	if s.role == RoleTx && ob.hand != nil {
		s.intake(pkts)
	}
	s.tracing = ob.live > 0
}

// observeEnd is the observed burst's end: packets queued for TX dumped,
// and every trace that ended written.
func (s *Stream) observeEnd(st uint32) {
	if s.role != RoleRx && st&obsVerboseMask >= 2 {
		a, b := s.io.Queued()
		s.ob.bursts++
		s.dump(RecordSent, s.TxPort, s.TxQueue, len(a)+len(b), a)
		s.dump(RecordSent, s.TxPort, s.TxQueue, len(a)+len(b), b)
	}
	if s.tracing {
		s.fates()
		s.tracing = s.ob.live > 0
	}
}

// traceSlot is one packet a stream half follows.
type traceSlot struct {
	m      *pmd.Mbuf
	state  slotState
	inCall bool   // in the burst the current engine or TX stage call handles
	stages uint16 // the stages that noted a decision (1<<Stage)
	seen   uint64 // TX half: rxSeen when the trace was taken in
	rec    Record
}

type slotState uint8

const (
	slotFree     slotState = iota
	slotActive             // in the burst being handled
	slotHeld               // held by GRO, followed until it leaves
	slotAwaiting           // TX half: handed over, its mbuf not yet out of the ring
	slotMerged             // joined to another packet this burst (ends unless it leaves as the joined packet's head)
	slotDone               // its fate is noted: written at the burst's end
	slotToTxHalf           // RX half: queued into the ring to the TX half
)

// add notes an event; the fate always fits (it takes the last place).
func (sl *traceSlot) add(e Event) {
	r := &sl.rec
	if int(r.NEvents) >= RecordEventsMax-1 && e.Stage != StageFate {
		r.EventsLost = true
		return
	}
	if int(r.NEvents) >= RecordEventsMax {
		r.EventsLost = true
		r.NEvents = RecordEventsMax - 1
	}
	r.Events[r.NEvents] = e
	r.NEvents++
	sl.stages |= 1 << e.Stage
}

func (sl *traceSlot) has(st Stage) bool { return sl.stages&(1<<st) != 0 }

// claim starts traces on the burst's first packets while the budget and
// the table allow.
func (s *Stream) claim(pkts []*pmd.Mbuf) {
	ob, o := s.ob, s.ob.o
	free := 0
	for _, m := range pkts {
		if ob.live == len(ob.slots) || o.budget.Load() <= 0 {
			return
		}
		// Counted under way before it takes from the budget, so Drain
		// never sees neither.
		o.inflight.Add(1)
		if !o.takeOne() {
			o.inflight.Add(-1)
			return
		}
		for ob.slots[free].state != slotFree {
			free++
		}
		sl := &ob.slots[free]
		*sl = traceSlot{m: m, state: slotActive}
		r := &sl.rec
		s.snapshot(r, m)
		r.Kind, r.Port, r.Queue, r.Burst, r.BurstSeq = RecordTrace, s.RxPort, s.RxQueue, uint16(len(pkts)), ob.bursts
		r.Trace = o.ids.Add(1)
		ob.live++
	}
}

func (o *Observer) takeOne() bool {
	for {
		b := o.budget.Load()
		if b <= 0 {
			return false
		}
		if o.budget.CompareAndSwap(b, b-1) {
			return true
		}
	}
}

// find is the slot following m in one of the states of mask (1<<state).
func (s *Stream) find(m *pmd.Mbuf, mask uint8) *traceSlot {
	ob := s.ob
	for i := range ob.slots {
		if sl := &ob.slots[i]; sl.m == m && mask&(1<<sl.state) != 0 {
			return sl
		}
	}
	return nil
}

const (
	inBurst = 1 << slotActive
	anyLive = 1<<slotActive | 1<<slotHeld | 1<<slotMerged
)

// emit writes a finished trace and frees its slot.
func (s *Stream) emit(sl *traceSlot) {
	ob := s.ob
	if r := ob.reserve(); r != nil {
		*r = sl.rec
		ob.commit()
	} else {
		s.cnt.Inc(int(ObserverRecordsLost))
	}
	sl.state, sl.m = slotFree, nil
	ob.live--
	ob.o.inflight.Add(-1)
}

// traceDropped notes that m was freed, counted under c.
func (s *Stream) traceDropped(m *pmd.Mbuf, c Counter) {
	if sl := s.find(m, inBurst); sl != nil {
		sl.add(Event{Stage: StageFate, Outcome: OutDropped, Counter: int16(c)})
		sl.state = slotDone
	}
}

// dropCounted frees m, counted under c, and notes it for a trace.
func (s *Stream) dropCounted(m *pmd.Mbuf, c Counter) {
	s.io.Drop(m)
	s.cnt.Inc(int(c))
	if s.tracing {
		s.traceDropped(m, c)
	}
}

// traceBatch notes the decoded request of m (o.batch) at stage st: the
// request refused, or, at validation, accepted with its tasks, and at TX
// each task's verdict.
func (s *Stream) traceBatch(m *pmd.Mbuf, st Stage, quirk bool) {
	sl := s.find(m, inBurst)
	if sl == nil {
		return
	}
	b := &s.off.batch
	if b.Refusal != offload.RefusalNone {
		sl.add(Event{Stage: st, Outcome: OutRefused, Reason: uint8(b.Refusal), Value: uint32(b.Malformed)})
		return
	}
	if quirk {
		sl.add(Event{Stage: st, Outcome: OutQuirk})
	}
	if st == StageValidate {
		var tasks uint32
		for _, x := range b.Tasks() {
			if x.Verdict == offload.Refused {
				sl.add(Event{Stage: st, Outcome: OutRefused, Task: x.Task, Reason: uint8(x.Refusal)})
				return
			}
			tasks |= 1 << x.Task
		}
		sl.add(Event{Stage: st, Outcome: OutAccepted, Value: tasks})
		return
	}
	for _, x := range b.Tasks() {
		out := OutSoftware
		switch x.Verdict {
		case offload.Hardware:
			out = OutHardware
		case offload.Refused:
			out = OutRefused
		}
		sl.add(Event{Stage: st, Outcome: out, Task: x.Task, Reason: uint8(x.Refusal)})
	}
}

// traceUnnoted notes ev for every packet of the burst (or of the current
// call) that has no decision at ev's stage yet.
func (s *Stream) traceUnnoted(ev Event, inCall bool) {
	ob := s.ob
	for i := range ob.slots {
		sl := &ob.slots[i]
		if sl.state == slotActive && (!inCall || sl.inCall) && !sl.has(ev.Stage) {
			sl.add(ev)
		}
	}
}

// traceRxCksum notes the RX checksum stage's result for the burst's
// traced packets, from their RX flags.
func (s *Stream) traceRxCksum(software bool) {
	ob := s.ob
	for i := range ob.slots {
		sl := &ob.slots[i]
		if sl.state != slotActive {
			continue
		}
		m := sl.m
		if software && s.off.hasRequest(m) {
			sl.add(Event{Stage: StageRxCksum, Outcome: OutSkipped})
			continue
		}
		out := OutDevice
		if software {
			out = OutVerified
		}
		f := m.OlFlags()
		sl.add(Event{Stage: StageRxCksum, Outcome: out, Value: uint32(rxStatus(f&offload.OlRxIPCksumMask, offload.OlRxIPCksumGood, offload.OlRxIPCksumBad)) |
			uint32(rxStatus(f&offload.OlRxL4CksumMask, offload.OlRxL4CksumGood, offload.OlRxL4CksumBad))<<8})
	}
}

func rxStatus(f, good, bad uint64) checksum.Status {
	switch f {
	case good:
		return checksum.Good
	case bad:
		return checksum.Bad
	case good | bad:
		return checksum.None
	}
	return checksum.Unknown
}

// traceAssembly notes an assembly engine's verdicts on the first n inputs
// of o.in (gro: GRO, otherwise reassembly); packets that went round it
// (TX requests) are noted as skipped.
func (s *Stream) traceAssembly(gro bool, n int) {
	o := s.off
	st := StageReassembly
	if gro {
		st = StageGRO
	}
	for i := range o.in[:n] {
		sl := s.find(pmd.HandleMbuf(o.in[i].Pkt), inBurst)
		if sl == nil {
			continue
		}
		v := o.verdict[i]
		switch v.Fate {
		case assembly.Passed:
			sl.add(Event{Stage: st, Outcome: OutPassed, Reason: uint8(v.Reason)})
		case assembly.Held:
			sl.add(Event{Stage: st, Outcome: OutHeld})
			if gro {
				sl.state = slotHeld
			} else {
				// Reassembly may free what it holds on a timeout: the
				// trace cannot follow it there.
				sl.add(Event{Stage: StageFate, Outcome: OutEnded})
				sl.state = slotDone
			}
		case assembly.Merged:
			sl.add(Event{Stage: st, Outcome: OutMerged})
			sl.state = slotMerged
		case assembly.Dropped:
			c := int16(ReassDropped(v.Reason))
			sl.add(Event{Stage: st, Outcome: OutDropped, Reason: uint8(v.Reason), Counter: c})
			sl.add(Event{Stage: StageFate, Outcome: OutDropped, Counter: c})
			sl.state = slotDone
		}
	}
	s.traceUnnoted(Event{Stage: st, Outcome: OutSkipped}, false)
}

// traceAssembled notes the traced packets among what left the assembly
// engines: a held packet flushed, a datagram completed with a traced
// fragment at its head.
func (s *Stream) traceAssembled(outs []assembly.Output) {
	for _, out := range outs {
		sl := s.find(pmd.HandleMbuf(out.Pkt), 1<<slotHeld|1<<slotMerged)
		if sl == nil {
			continue
		}
		switch out.Kind {
		case assembly.KindIPv4Reassembled, assembly.KindIPv6Reassembled:
			sl.add(Event{Stage: StageReassembly, Outcome: OutReassembled, Task: offload.Task(out.Kind), Value: uint32(out.Segs)})
		default:
			sl.add(Event{Stage: StageGRO, Outcome: OutFlushed, Task: offload.Task(out.Kind), Reason: uint8(out.Flush), Value: uint32(out.Segs)})
		}
		sl.state = slotActive
	}
}

// traceCall marks the traced packets of a burst handed to the engine.
func (s *Stream) traceCall(pkts []*pmd.Mbuf) {
	ob := s.ob
	for i := range ob.slots {
		sl := &ob.slots[i]
		sl.inCall = false
		if sl.state != slotActive {
			continue
		}
		for _, m := range pkts {
			if m == sl.m {
				sl.inCall = true
				break
			}
		}
	}
}

// traceEngine notes the engine's decision on the packets of the call:
// kept, or dropped (under the counter a drop noted, if any).
func (s *Stream) traceEngine(e *Engine, kept []*pmd.Mbuf) {
	ob := s.ob
	for i := range ob.slots {
		sl := &ob.slots[i]
		if !sl.inCall {
			continue
		}
		if sl.state == slotDone {
			sl.add(Event{Stage: StageEngine, Outcome: OutDropped, Counter: sl.rec.Events[sl.rec.NEvents-1].Counter})
			sl.inCall = false
			continue
		}
		found := false
		for _, m := range kept {
			if m == sl.m {
				found = true
				break
			}
		}
		if found {
			sl.add(Event{Stage: StageEngine, Outcome: OutKept})
			continue
		}
		c := noCounter
		if e == &RxOnlyEngine {
			c = int16(FreedRxOnly)
		}
		sl.add(Event{Stage: StageEngine, Outcome: OutDropped, Counter: c})
		sl.add(Event{Stage: StageFate, Outcome: OutDropped, Counter: c})
		sl.state, sl.inCall = slotDone, false
	}
}

// traceSegmented notes that m was cut into n segments, queued for TX.
func (s *Stream) traceSegmented(m *pmd.Mbuf, n int) {
	if sl := s.find(m, inBurst); sl != nil {
		sl.add(Event{Stage: StageSegment, Outcome: OutSegmented, Value: uint32(n)})
		sl.add(Event{Stage: StageFate, Outcome: OutQueued, Port: s.TxPort, Queue: s.TxQueue, Value: uint32(n)})
		sl.state = slotDone
	}
}

// fates ends the burst's traces: a packet queued for TX is noted so (or,
// in an RX half, handed to the TX half with its trace); one dropped,
// merged or segmented is written as noted; a packet GRO holds, or one the
// TX half still waits for, stays.
func (s *Stream) fates() {
	ob := s.ob
	a, b := s.io.Queued()
	for _, q := range [2][]*pmd.Mbuf{a, b} {
		for _, m := range q {
			sl := s.find(m, inBurst)
			switch {
			case sl == nil:
			case s.role == RoleRx:
				sl.state = slotToTxHalf
			default:
				sl.add(Event{Stage: StageFate, Outcome: OutQueued, Port: s.TxPort, Queue: s.TxQueue, Value: 1})
				sl.state = slotDone
			}
		}
	}
	// In table order: the burst's traces in the order they started.
	for i := range ob.slots {
		sl := &ob.slots[i]
		switch sl.state {
		case slotToTxHalf:
			s.handOver(sl)
		case slotActive:
			if sl.has(StageEngine) && s.role != RoleRx || s.role == RoleTx {
				// Kept, and sent before the burst ended (a full TX
				// array is flushed at once).
				sl.add(Event{Stage: StageFate, Outcome: OutQueued, Port: s.TxPort, Queue: s.TxQueue, Value: 1})
			} else {
				sl.add(Event{Stage: StageFate, Outcome: OutLost})
			}
			s.emit(sl)
		case slotMerged:
			sl.add(Event{Stage: StageFate, Outcome: OutEnded})
			s.emit(sl)
		case slotDone:
			s.emit(sl)
		}
		sl.inCall = false
	}
}

// handoff carries traces from a pipelined stream's RX half to its TX half:
// single producer, single consumer.
type handoff struct {
	slots []handoffSlot
	_     [64]byte
	head  atomic.Uint32
	_     [60]byte
	tail  atomic.Uint32
	_     [60]byte
}

type handoffSlot struct {
	m      *pmd.Mbuf
	stages uint16
	rec    Record
}

// handOver passes a trace to the TX half (its packet goes into the ring
// at the next poll), or ends it if the handoff is full.
func (s *Stream) handOver(sl *traceSlot) {
	h := s.ob.hand
	if h == nil || h.tail.Load()-h.head.Load() >= uint32(len(h.slots)) {
		sl.add(Event{Stage: StageFate, Outcome: OutLost})
		s.emit(sl)
		return
	}
	sl.add(Event{Stage: StagePipeline, Outcome: OutHandedOver})
	t := h.tail.Load()
	x := &h.slots[t%uint32(len(h.slots))]
	x.m, x.stages, x.rec = sl.m, sl.stages, sl.rec
	h.tail.Add(1)
	// Still under way: the TX half writes the record.
	sl.state, sl.m = slotFree, nil
	s.ob.live--
}

// intake takes the traces the RX half handed over into the TX half's
// table and finds their packets in the burst. A trace whose packet does
// not come out of the ring within a ring's worth of packets was dropped
// there (the ring was full).
func (s *Stream) intake(pkts []*pmd.Mbuf) {
	ob, h := s.ob, s.ob.hand
	ob.rxSeen += uint64(len(pkts))
	free := 0
	for hd, t := h.head.Load(), h.tail.Load(); hd != t && ob.live < len(ob.slots); hd++ {
		x := &h.slots[hd%uint32(len(h.slots))]
		for ob.slots[free].state != slotFree {
			free++
		}
		sl := &ob.slots[free]
		*sl = traceSlot{m: x.m, state: slotAwaiting, stages: x.stages, seen: ob.rxSeen - uint64(len(pkts)), rec: x.rec}
		ob.live++
		h.head.Store(hd + 1)
	}
	for i := range ob.slots {
		sl := &ob.slots[i]
		if sl.state != slotAwaiting {
			continue
		}
		for _, m := range pkts {
			if m == sl.m {
				sl.state, sl.inCall = slotActive, true
				break
			}
		}
		if sl.state == slotAwaiting && ob.rxSeen-sl.seen > PipeRingSize+pmd.BurstMax {
			sl.add(Event{Stage: StageFate, Outcome: OutLost})
			s.emit(sl)
		}
	}
}
