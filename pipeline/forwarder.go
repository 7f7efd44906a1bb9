package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/offloadpmd/offloadpmd/pmd"
)

// Forwarder runs one engine over streams placed on worker lcores.
// Start and Stop are for the control plane; the lcores touch only their
// own streams.
type Forwarder struct {
	eal      *pmd.EAL
	engine   *Engine
	lcores   []*Lcore
	logical  []*Stream // pipeline mode: the RX halves, which report for their streams
	busyPoll bool
	running  bool
	obs      *Observer
	rounds   int // direct rounds per poll (SetDirectRounds)
}

// DefaultDirectRounds is SetDirectRounds' default.
const DefaultDirectRounds = 8

// SetDirectRounds sets how many bursts an lcore may forward in C per
// crossing into Go while its streams are direct (see pmd.Group.SetRounds):
// 1 hands every burst to Go. It applies from the next Start.
func (f *Forwarder) SetDirectRounds(n int) { f.rounds = max(n, 1) }

// NewForwarder prepares a forwarder; lcores carry their streams.
func NewForwarder(eal *pmd.EAL, e *Engine, lcores []*Lcore, busyPoll bool) *Forwarder {
	f := &Forwarder{eal: eal, engine: e, lcores: lcores, busyPoll: busyPoll, rounds: DefaultDirectRounds}
	f.obs = newObserver(f.halves())
	linkDoSPeers(lcores)
	return f
}

// Observer is the forwarder's packet observation (set verbose, trace).
func (f *Forwarder) Observer() *Observer { return f.obs }

// DrainObserved calls fn for every packet record the lcores have written
// since the last call (see Observer.Drain) and returns how many there
// were. fn must not keep the record.
func (f *Forwarder) DrainObserved(fn func(*Record)) int { return f.obs.Drain(fn) }

// Engine is the forwarder's engine.
func (f *Forwarder) Engine() *Engine { return f.engine }

// Lcores are the forwarding lcores and their streams.
func (f *Forwarder) Lcores() []*Lcore { return f.lcores }

// Streams lists every stream, lcore by lcore; in pipeline mode, each
// stream once (its RX half, which reports for both).
func (f *Forwarder) Streams() []*Stream {
	if f.logical != nil {
		return f.logical
	}
	return f.halves()
}

// halves lists every Stream the lcores run.
func (f *Forwarder) halves() []*Stream {
	var ss []*Stream
	for _, l := range f.lcores {
		ss = append(ss, l.Streams...)
	}
	return ss
}

// Running reports whether the lcores are forwarding.
func (f *Forwarder) Running() bool { return f.running }

// ResetStats zeroes every stream's counters; only while stopped.
func (f *Forwarder) ResetStats() {
	for _, s := range f.halves() {
		s.ResetStats()
	}
}

// TxFirst sends n bursts of txonly packets from pool on every stream, before
// forwarding starts (testpmd's `start tx_first n`). They count as the
// streams' TX.
func (f *Forwarder) TxFirst(n int, pool *pmd.Mempool) error {
	if f.running {
		return errors.New("tx_first: forwarding already started")
	}
	b := pmd.NewBurst(pmd.BurstMax)
	defer b.Close()
	for _, s := range f.Streams() {
		if err := prepareTxOnly(s, pool); err != nil {
			return err
		}
		burst := int(s.io.Config().Burst)
		for range n {
			if !pool.AllocBulk(b, burst) {
				return fmt.Errorf("tx_first: %w: cannot allocate %d mbufs from %s", pmd.ErrNoMemory, burst, pool.Name())
			}
			fillTxOnly(s, b.Pkts())
			s.io.SendBurst(b.Pkts())
			b.SetLen(0)
			s.io.Flush()
		}
	}
	return nil
}

// Start runs the engine's Begin on every stream and launches the lcores.
// Counters carry on from where they were (see ResetStats).
func (f *Forwarder) Start() error {
	if f.running {
		return errors.New("forwarding already started")
	}
	for _, s := range f.halves() {
		if f.engine.Begin != nil && s.role != RoleTx {
			if err := f.engine.Begin(s); err != nil {
				return fmt.Errorf("%s engine, stream %s: %w", f.engine.Name, s, err)
			}
		}
	}
	e, busy, timeout := f.engine, f.busyPoll, f.holdTimeout()
	// Direct streams rest on the tables: a table published moves the
	// epoch. Moving it now as well retires any judgement made for an
	// earlier start (another engine, other tables).
	for _, s := range f.halves() {
		if s.off != nil {
			s.off.cfg.Tables.OnChange(pmd.BumpEpoch)
		}
	}
	pmd.BumpEpoch()
	for i, l := range f.lcores {
		if l.group == nil {
			ios := make([]*pmd.Stream, len(l.Streams))
			for j, s := range l.Streams {
				ios[j] = s.io
			}
			g, err := pmd.NewGroup(ios, -1)
			if err != nil {
				return fmt.Errorf("lcore %d: %w", l.ID, err)
			}
			l.group = g
		}
		l.group.SetRounds(f.rounds)
		l.stop.Store(false)
		if err := f.eal.Launch(l.ID, func(uint) error { return l.run(e, busy, timeout) }); err != nil {
			for _, started := range f.lcores[:i] {
				started.stop.Store(true)
				_ = f.eal.Wait(started.ID)
			}
			return err
		}
	}
	f.running = true
	return nil
}

// Stop tells the lcores to stop, waits for them (each flushes its
// streams), and runs the engine's End.
func (f *Forwarder) Stop() error {
	if !f.running {
		return nil
	}
	// RX work stops first; in pipeline mode the TX lcores then drain
	// their rings before they stop.
	var errs []error
	for _, txFirst := range []bool{false, true} {
		for _, l := range f.lcores {
			if l.txHalves() == txFirst {
				l.stop.Store(true)
			}
		}
		for _, l := range f.lcores {
			if l.txHalves() == txFirst {
				if err := f.eal.Wait(l.ID); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if f.engine.End != nil {
		for _, s := range f.halves() {
			if s.role != RoleTx {
				f.engine.End(s)
			}
		}
	}
	f.running = false
	return errors.Join(errs...)
}

// holdTimeout is the shortest time an assembly engine may hold a packet:
// an idle lcore never sleeps longer while it holds any.
func (f *Forwarder) holdTimeout() time.Duration {
	for _, s := range f.halves() {
		if s.off != nil {
			return min(s.off.cfg.GRO.Timeout, s.off.cfg.Reassembly.Timeout)
		}
	}
	return 0
}

// Close stops forwarding and frees the streams.
func (f *Forwarder) Close() error {
	err := f.Stop()
	for _, l := range f.lcores {
		if l.group != nil {
			l.group.Close()
		}
		for _, s := range l.Streams {
			s.Close()
		}
	}
	f.lcores = nil
	return err
}
