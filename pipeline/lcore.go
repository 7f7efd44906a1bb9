package pipeline

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/offloadpmd/offloadpmd/pmd"
)

// Lcore is one forwarding lcore and the streams it owns.
type Lcore struct {
	ID      uint
	Streams []*Stream

	group *pmd.Group // the streams' C side, polled in one crossing

	_    [64]byte // keep stop off the neighbours' cache lines
	stop atomic.Bool
	_    [63]byte
}

// Idle back-off: after spinPolls empty rounds the lcore sleeps, starting
// at minSleep and doubling up to maxSleep, so a quiet port does not burn a
// core. Traffic resets it. maxSleep bounds the latency added when traffic
// resumes.
const (
	spinPolls = 1024
	minSleep  = 8 * time.Microsecond
	maxSleep  = 512 * time.Microsecond
)

// clock is the lcore's time in nanoseconds since it started, read at most
// once per iteration and only when a stage asks (reading it costs as much
// as a few packets of io forwarding).
type clock struct {
	start time.Time
	ns    int64
	valid bool
}

func (c *clock) now() int64 {
	if !c.valid {
		c.ns, c.valid = int64(time.Since(c.start)), true
	}
	return c.ns
}

type backoff struct {
	empty int
	sleep time.Duration
}

func (b *backoff) reset() { b.empty, b.sleep = 0, minSleep }

// idle waits after an empty poll; never longer than limit (a held
// packet's timeout) when limit > 0.
func (b *backoff) idle(limit time.Duration) {
	b.empty++
	if b.empty < spinPolls {
		return
	}
	d := b.sleep
	if limit > 0 {
		d = min(d, limit)
	}
	ts := unix.NsecToTimespec(int64(d))
	_ = unix.Nanosleep(&ts, nil)
	b.sleep = min(b.sleep*2, maxSleep)
}

// run is the lcore's loop: poll every stream in one cgo call (which also
// frees and sends what the previous iteration decided), hand each stream's
// burst to its stages and engine, let held packets out when their timeout
// passes, back off when nothing arrived. On stop it lets out everything
// still held and flushes the streams.
func (l *Lcore) run(e *Engine, busyPoll bool, timeout time.Duration) error {
	streams, g := l.Streams, l.group
	clk := clock{start: time.Now()}
	var b backoff
	b.reset()
	for !l.stop.Load() {
		got := g.Poll()
		clk.valid = false
		holding := false
		for _, s := range streams {
			switch {
			case s.io.NbRx() > 0:
				s.handle(e, s.io.Rx(), &clk)
			case s.off != nil && s.off.holding():
				s.flushTimers(e, clk.now(), false)
			}
			if s.off != nil && s.off.holding() {
				holding = true
			}
			if s.vnetTx {
				s.vnetEncodeQueued()
			}
		}
		if got > 0 {
			if b.empty != 0 {
				b.reset()
			}
			continue
		}
		if !busyPoll {
			limit := time.Duration(0)
			if holding {
				limit = timeout
			}
			b.idle(limit)
		}
	}
	for _, s := range streams {
		if s.off != nil && s.off.holding() {
			s.flushTimers(e, clk.now(), true)
			if s.vnetTx {
				s.vnetEncodeQueued()
			}
			s.io.Flush()
		}
	}
	for _, s := range streams {
		if s.role == RoleTx {
			// The RX half has stopped: send on what it left in the ring.
			for s.io.Poll() > 0 {
				s.handle(e, s.io.Rx(), &clk)
				if s.vnetTx {
					s.vnetEncodeQueued()
				}
			}
		}
		s.io.Undirect()
		s.io.Flush()
		s.classifyIdle()
	}
	return nil
}

// txHalves reports whether the lcore runs TX halves (pipeline mode).
func (l *Lcore) txHalves() bool { return len(l.Streams) > 0 && l.Streams[0].role == RoleTx }
