package pipeline

import (
	"fmt"

	"github.com/offloadpmd/offloadpmd/pmd"
)

// PipeRingSize is the size of the ring between a stream's two halves: a
// few bursts, so the RX half rarely waits and little sits in flight.
const PipeRingSize = 1024

// BuildPipelined builds the plan in pipeline mode: each planned stream
// becomes an RX half on its planned lcore (RX, RX stages, engine) and a TX
// half (TX stage, TX) on txLcores[i], where i is the planned lcore's
// index, joined by a single-producer/single-consumer ring. Every other
// argument is as for Build.
func BuildPipelined(eal *pmd.EAL, plan Plan, e *Engine, pool *pmd.Mempool, off *Offload, spec func(StreamPlan) StreamSpec, busyPoll bool, txLcores []uint) (*Forwarder, error) {
	if len(txLcores) < len(plan.Lcores) {
		return nil, fmt.Errorf("pipeline mode: %d TX lcores for %d RX lcores", len(txLcores), len(plan.Lcores))
	}
	var lcs []*Lcore
	var logical []*Stream
	fail := func(err error) (*Forwarder, error) {
		_ = (&Forwarder{eal: eal, engine: e, lcores: lcs}).Close()
		return nil, err
	}
	for i, lp := range plan.Lcores {
		rxL := &Lcore{ID: lp.Lcore}
		txL := &Lcore{ID: txLcores[i]}
		lcs = append(lcs, rxL, txL)
		for _, si := range lp.Streams {
			sp := spec(plan.Streams[si])
			sp.RxPort, sp.RxQueue = plan.Streams[si].RxPort, plan.Streams[si].RxQueue
			sp.TxPort, sp.TxQueue = plan.Streams[si].TxPort, plan.Streams[si].TxQueue
			ring, err := pmd.NewRing(fmt.Sprintf("opmd_pipe_%d_%d", si, pipeSeq()), PipeRingSize, sp.Socket, pmd.RingSPSC)
			if err != nil {
				return fail(err)
			}
			rx, err := newHalf(si, sp, e, pool, off, RoleRx, ring)
			if err != nil {
				ring.Free()
				return fail(err)
			}
			rx.ring = ring
			rxL.Streams = append(rxL.Streams, rx)
			tx, err := newHalf(si, sp, e, pool, off, RoleTx, ring)
			if err != nil {
				return fail(err)
			}
			rx.peer = tx
			txL.Streams = append(txL.Streams, tx)
			logical = append(logical, rx)
		}
	}
	f := NewForwarder(eal, e, lcs, busyPoll)
	f.logical = logical
	return f, nil
}

var pipeCount int

func pipeSeq() int { pipeCount++; return pipeCount }

// newHalf makes one half of a pipelined stream.
func newHalf(id int, sp StreamSpec, e *Engine, pool *pmd.Mempool, off *Offload, role Role, ring *pmd.Ring) (*Stream, error) {
	if pmd.TapByID(sp.RxPort) != nil || pmd.TapByID(sp.TxPort) != nil {
		return nil, fmt.Errorf("stream %d: pipeline mode does not run kernel-facing (TAP) ports yet: run to completion", id)
	}
	cfg := pmd.StreamConfig{
		RxPort: sp.RxPort, RxQueue: sp.RxQueue, TxPort: sp.TxPort, TxQueue: sp.TxQueue,
		Burst: sp.Burst, Bursts: sp.Bursts, RxMode: e.RxMode, TxRetry: sp.TxRetry, TxRetryDelayUs: sp.TxRetryDelayUs,
		Socket: sp.Socket, AllocPool: pool,
	}
	if off != nil && off.SegPool != nil && role == RoleTx {
		cfg.AllocPool = off.SegPool
	}
	switch role {
	case RoleRx:
		// The ring may be briefly full while the TX half catches up:
		// wait for it rather than drop.
		cfg.TxRing, cfg.TxRetry, cfg.TxRetryDelayUs = ring, max(cfg.TxRetry, 64), max(cfg.TxRetryDelayUs, 1)
	case RoleTx:
		cfg.RxMode, cfg.RxRing = pmd.RxRing, ring
	}
	io, err := pmd.NewStream(cfg)
	if err != nil {
		return nil, fmt.Errorf("stream %d (%v half): %w", id, role, err)
	}
	s := &Stream{
		ID: id, RxPort: sp.RxPort, RxQueue: sp.RxQueue, TxPort: sp.TxPort, TxQueue: sp.TxQueue,
		io: io, cnt: pmd.NewCounters(numCounters, sp.Socket), role: role,
	}
	s.tx.spec = sp.TxOnly
	copy(s.PeerMAC[:], sp.PeerMAC)
	copy(s.TxMAC[:], sp.TxMAC)
	if off != nil {
		s.off = newOffloadState(off, io)
	}
	return s, nil
}

func (r Role) String() string {
	switch r {
	case RoleRx:
		return "rx"
	case RoleTx:
		return "tx"
	}
	return "whole"
}
