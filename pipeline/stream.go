package pipeline

import (
	"fmt"
	"net"

	"github.com/offloadpmd/offloadpmd/pmd"
)

// Stream is a forwarding stream: packets from one RX port/queue go to one
// TX port/queue. It wraps the pmd stream (burst arrays and I/O counters in
// C memory) with what the engines need to know about the ports.
type Stream struct {
	ID      int
	RxPort  uint16
	RxQueue uint16
	TxPort  uint16
	TxQueue uint16
	// PeerMAC is the destination MAC the mac and txonly engines write
	// (testpmd's --eth-peer for the TX port).
	PeerMAC [6]byte
	// TxMAC is the TX port's own MAC, the source the mac and txonly
	// engines write.
	TxMAC [6]byte

	io  *pmd.Stream
	cnt *pmd.Counters
	tx  txonlyState
	off *offloadState // nil: no offload stages

	// Pipeline mode: a stream is two halves on two lcores joined by a
	// single-producer/single-consumer ring. The RX half receives, runs the
	// RX stages and the engine, and sends to the ring; the TX half takes
	// from the ring, runs the TX stage and sends to the port.
	role Role
	peer *Stream   // the RX half's TX half
	ring *pmd.Ring // owned by the RX half

	// vnetRx, vnetTx: the RX or TX port is kernel-facing (pmd.TapPort):
	// frames come and go with a virtio_net_hdr.
	vnetRx, vnetTx bool
	vnetTxOffload  pmd.TapOffload // what the TX TAP's kernel took

	// inPlace: the burst the engine and TX stage work on is a prefix of
	// the RX array with nothing queued for TX ahead of it, so it is sent
	// (or freed) where it is.
	inPlace bool

	// ob is the stream's part of its forwarder's Observer (nil outside a
	// forwarder); tracing: the burst being handled has traced packets, so
	// the stages note their decisions (see observe.go).
	ob      *streamObs
	tracing bool
}

// Role is the part of its stream's work s does.
func (s *Stream) Role() Role { return s.role }

// Role is which part of a stream's work a Stream does.
type Role uint8

// Roles.
const (
	RoleWhole Role = iota // run to completion
	RoleRx                // pipeline mode, RX half
	RoleTx                // pipeline mode, TX half
)

// StreamSpec is what NewStream needs.
type StreamSpec struct {
	RxPort, RxQueue, TxPort, TxQueue uint16
	PeerMAC, TxMAC                   net.HardwareAddr
	Burst                            uint16
	Bursts                           uint16 // full bursts one poll may take
	TxRetry, TxRetryDelayUs          uint32
	Socket                           int
	TxOnly                           TxOnlySpec // packets the txonly engine and tx_first generate
}

// NewStream allocates a stream for engine e. The engine decides where the
// stream's packets come from (txonly allocates them). With off, the stream
// runs the offload stages around the engine; pool then also provides the
// mbufs segmentation writes into.
func NewStream(id int, spec StreamSpec, e *Engine, pool *pmd.Mempool, off *Offload) (*Stream, error) {
	cfg := pmd.StreamConfig{
		RxPort: spec.RxPort, RxQueue: spec.RxQueue, TxPort: spec.TxPort, TxQueue: spec.TxQueue,
		Burst: spec.Burst, Bursts: spec.Bursts, RxMode: e.RxMode, TxRetry: spec.TxRetry, TxRetryDelayUs: spec.TxRetryDelayUs,
		Socket: spec.Socket,
	}
	if e.RxMode == pmd.RxAlloc {
		cfg.AllocPool = pool
	} else if off != nil {
		cfg.AllocPool = pool
		if off.SegPool != nil {
			cfg.AllocPool = off.SegPool
		}
	}
	// Kernel-facing ports: the stream reads and writes their queue's fd.
	if t := pmd.TapByID(spec.RxPort); t != nil && e.RxMode == pmd.RxEthdev {
		if int(spec.RxQueue) >= t.Queues() {
			return nil, fmt.Errorf("stream %d: tap %s has no queue %d", id, t.Name(), spec.RxQueue)
		}
		cfg.RxMode, cfg.RxFd = pmd.RxFd, t.Fd(int(spec.RxQueue))
		if cfg.AllocPool == nil {
			cfg.AllocPool = pool
		}
	}
	vnetTx, vnetTxOffload := false, pmd.TapOffload(0)
	if t := pmd.TapByID(spec.TxPort); t != nil {
		vnetTxOffload = t.Offload()
		if int(spec.TxQueue) >= t.Queues() {
			return nil, fmt.Errorf("stream %d: tap %s has no queue %d", id, t.Name(), spec.TxQueue)
		}
		cfg.TxToFd, cfg.TxFd, vnetTx = true, t.Fd(int(spec.TxQueue)), true
	}
	io, err := pmd.NewStream(cfg)
	if err != nil {
		return nil, fmt.Errorf("stream %d (port %d/%d -> %d/%d): %w", id, spec.RxPort, spec.RxQueue, spec.TxPort, spec.TxQueue, err)
	}
	s := &Stream{
		ID: id, RxPort: spec.RxPort, RxQueue: spec.RxQueue, TxPort: spec.TxPort, TxQueue: spec.TxQueue,
		io: io, cnt: pmd.NewCounters(numCounters, spec.Socket),
	}
	if off != nil {
		s.off = newOffloadState(off, io)
		if cfg.RxMode == pmd.RxFd {
			// The kernel's requests are checked against the port's
			// enabled table like any a port brings.
			s.vnetRx, off.Requests[spec.RxPort] = true, true
		}
	}
	s.vnetTx, s.vnetTxOffload = vnetTx, vnetTxOffload
	s.tx.spec = spec.TxOnly
	copy(s.PeerMAC[:], spec.PeerMAC)
	copy(s.TxMAC[:], spec.TxMAC)
	return s, nil
}

// Close frees the stream, flushing what it still holds.
func (s *Stream) Close() {
	if s.off != nil && s.off.esp.dev != nil {
		s.off.esp.dev.close()
	}
	if s.off != nil && s.off.cls != nil {
		s.off.cls.ctl.detach(s.off.cls.slot)
	}
	s.io.Close()
	s.cnt.Free()
	if s.ring != nil {
		// Whatever the TX half did not take is freed, not lost.
		if n := s.ring.FreeAll(); n > 0 {
			s.cnt.Add(int(DropPipeLeftover), uint64(n))
		}
		s.ring.Free()
		s.ring = nil
	}
}

// IO is the underlying pmd stream.
func (s *Stream) IO() *pmd.Stream { return s.io }

// Count adds n to counter c. Owner lcore only.
func (s *Stream) Count(c Counter, n uint64) { s.cnt.Add(int(c), n) }

// Counter reads counter c from any goroutine.
func (s *Stream) Counter(c Counter) uint64 { return s.cnt.Load(int(c)) }

// Stats is a snapshot of everything a stream counts.
type Stats struct {
	pmd.StreamCounters
	Counters []uint64 // indexed by Counter
}

// Stats reads the stream's counters. It allocates: for the control plane.
// In pipeline mode the RX half reports the whole stream: its RX, its TX
// half's TX, and both halves' drops and stage counters.
func (s *Stream) Stats() Stats {
	st := Stats{StreamCounters: s.io.Counters(), Counters: make([]uint64, numCounters)}
	for i := range st.Counters {
		st.Counters[i] = s.cnt.Load(i)
	}
	st.Counters[DirectForwarded] = st.DirectPackets
	if p := s.peer; p != nil {
		pc := p.io.Counters()
		// What the RX half "sent" went into the ring; what left is the
		// TX half's.
		st.TxDropped += pc.TxDropped
		st.TxPackets = pc.TxPackets
		st.TxPrepareFailed += pc.TxPrepareFailed
		st.SpareNoMbuf += pc.SpareNoMbuf
		st.TxRetries += pc.TxRetries
		for i := range st.Counters {
			st.Counters[i] += p.cnt.Load(i)
		}
	}
	return st
}

// Dropped is the total of the stream's drop-reason counters plus what the
// TX queue and tx_prepare refused.
func (st Stats) Dropped() uint64 {
	n := st.TxDropped + st.TxPrepareFailed
	for i, v := range st.Counters {
		if Counter(i).IsDrop() {
			n += v
		}
	}
	return n
}

// handle runs one burst through the stream: the offload stages around the
// engine when the stream has them and something can need them, the engine
// alone otherwise. clk is the lcore's clock. When the control plane
// observes packets (set verbose, trace), the burst is recorded around
// that.
func (s *Stream) handle(e *Engine, pkts []*pmd.Mbuf, clk *clock) {
	// A pass-through engine's plain stream may go direct (handleBurst):
	// the epoch is read before anything the judgement reads (observer,
	// tables), so a change made after it moves it, and C then hands the
	// next burst back.
	var epoch uint64
	if e.PassThrough {
		epoch = pmd.Epoch()
	}
	if st, on := s.observing(); on {
		s.observeBegin(st, pkts)
		s.handleBurst(e, pkts, clk, false, 0)
		s.observeEnd(st)
		return
	}
	s.handleBurst(e, pkts, clk, e.PassThrough, epoch)
}

// handleBurst runs one burst. mayDirect: nobody observes and the engine
// passes packets through, so a plain burst lets the stream go direct as
// of epoch.
func (s *Stream) handleBurst(e *Engine, pkts []*pmd.Mbuf, clk *clock, mayDirect bool, epoch uint64) {
	o := s.off
	if s.role == RoleTx {
		s.txHalf(e, pkts)
		return
	}
	if o == nil || s.plain(e) {
		s.inPlace = true
		if s.tracing {
			s.traceCall(pkts)
			n := e.Fwd(s, pkts)
			s.traceEngine(e, pkts[:n])
			s.io.SendRx(n)
			return
		}
		s.io.SendRx(e.Fwd(s, pkts))
		if mayDirect && s.directOK() {
			s.io.Direct(epoch)
		}
		return
	}
	if s.vnetRx {
		pkts = s.vnetDecode(pkts)
	}
	if o.cfg.LROAsRequest[s.RxPort] {
		s.lroAsRequest(pkts)
	}
	var b burstView
	s.loadBurst(&b)
	brought := o.cfg.Requests[s.RxPort]
	if brought {
		pkts = s.validate(pkts, &b)
	}
	if b.dos || b.dosObserve {
		b.now = dosNow(clk)
	}
	if b.dos {
		pkts = s.dosFilter(pkts, b.now)
	}
	if b.espIn {
		pkts = s.decrypt(pkts, &b)
	}
	if s.tracing {
		s.traceUnnoted(Event{Stage: StageValidate, Outcome: OutNone}, false)
	}
	if b.rxVerifyIP || b.rxVerifyL4 {
		s.verifyRx(pkts, &b)
	}
	if s.tracing {
		s.traceRxCksum(b.rxVerifyIP || b.rxVerifyL4)
	}
	if b.dig.verify {
		s.verifyDigests(pkts, &b)
	}
	if b.clsIn != nil {
		pkts = s.classifyRx(pkts, &b)
	}
	inPlace := true
	if o.gro != nil || o.reass != nil {
		s.retire(e, &b)
	}
	if b.gro || b.reass {
		pkts = s.assemble(pkts, &b, clk.now())
		inPlace = false
	}
	s.forward(e, pkts, &b, brought, inPlace)
}

// forward runs the engine and the TX stage on packets past the RX stages
// (the TX stage is the TX half's in pipeline mode). inPlace says pkts is
// a prefix of the RX array, which is then sent in place unless packets are
// already queued ahead of it.
func (s *Stream) forward(e *Engine, pkts []*pmd.Mbuf, b *burstView, brought, inPlace bool) {
	s.inPlace = inPlace && s.io.TxQueued() == 0
	if e.OwnRequests && s.off != nil {
		s.off.plan = makeCsumPlan(b, s.role == RoleWhole)
		s.off.finished = false
	}
	if s.tracing {
		s.traceCall(pkts)
	}
	n := e.Fwd(s, pkts)
	if s.tracing {
		s.traceEngine(e, pkts[:n])
	}
	if b.dosObserve {
		s.dosObserve(pkts[:n], b.now)
	}
	// toGuest: assembled packets may leave to a vhost-user guest as GSO
	// frames (Stream.assembledToGuest).
	toGuest := b.guest && b.gro
	if s.role != RoleRx && (brought || e.OwnRequests || len(b.espOut) > 0 || b.clsTx || toGuest) {
		if !s.off.finished || len(b.espOut) > 0 || b.clsTx || toGuest {
			s.txTasks(pkts[:n], b, e.OwnRequests)
			if s.tracing {
				s.traceUnnoted(Event{Stage: StageTx, Outcome: OutNone}, true)
			}
			return
		}
		s.io.SetTxPrepare(false) // nothing is left for the device
		if s.tracing {
			s.traceUnnoted(Event{Stage: StageTx, Outcome: OutFinished}, true)
		}
	}
	s.send(pkts[:n])
}

// send queues the packets the engine kept: in place if they are the RX
// array's, after what is queued otherwise.
func (s *Stream) send(pkts []*pmd.Mbuf) {
	if s.inPlace {
		s.io.SendRx(len(pkts))
	} else {
		s.io.SendBurst(pkts)
	}
}

// free frees a burst the engine keeps none of.
func (s *Stream) free(pkts []*pmd.Mbuf) {
	if s.inPlace {
		s.io.FreeRx(len(pkts))
		return
	}
	for _, m := range pkts {
		s.io.Drop(m)
	}
}

// txHalf is the TX half's work in pipeline mode: the TX stage on what the
// RX half handed over.
func (s *Stream) txHalf(e *Engine, pkts []*pmd.Mbuf) {
	s.inPlace = true
	if s.off == nil {
		s.io.SendRx(len(pkts))
		return
	}
	var b burstView
	s.loadBurst(&b)
	if !(s.off.cfg.Requests[s.RxPort] || e.OwnRequests || len(b.espOut) > 0 || b.clsTx) {
		s.io.SendRx(len(pkts))
		return
	}
	s.txTasks(pkts, &b, e.OwnRequests)
	if s.tracing {
		s.traceUnnoted(Event{Stage: StageTx, Outcome: OutNone}, true)
	}
}

// flushTimers sends on what the stream's assembly engines let go by
// timeout (all of it at stop).
func (s *Stream) flushTimers(e *Engine, now int64, all bool) {
	if st, on := s.observing(); on {
		s.tracing = s.ob.live > 0
		s.flushHeld(e, now, all)
		s.observeEnd(st)
		return
	}
	s.flushHeld(e, now, all)
}

func (s *Stream) flushHeld(e *Engine, now int64, all bool) {
	for {
		pkts := s.flushAssembly(now, all)
		if len(pkts) == 0 {
			return
		}
		var b burstView
		s.loadBurst(&b)
		s.forward(e, pkts, &b, false, false)
	}
}

// ResetStats zeroes the stream's counters; only while it is not running.
func (s *Stream) ResetStats() {
	s.io.ResetCounters()
	s.cnt.Reset()
}

func (s *Stream) String() string {
	return fmt.Sprintf("RX P=%d/Q=%d -> TX P=%d/Q=%d", s.RxPort, s.RxQueue, s.TxPort, s.TxQueue)
}
