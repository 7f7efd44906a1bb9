package main

import (
	"errors"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// The app's state (ports, forwarder, tables) belongs to the goroutine that
// runs commands. Readers elsewhere (DPDK telemetry's thread, /metrics
// handlers) hand it a function through query and wait for it to run
// between two commands.

// errBusy is returned to a reader when the command goroutine did not take
// its request in time (a long command, or still setting up).
var errBusy = errors.New("offloadpmd is busy (setting up or running a long command); try again")

// queryWait bounds how long a reader waits for the command goroutine.
const queryWait = 2 * time.Second

// query runs f on the command goroutine and waits for it.
func (a *app) query(f func()) error { return a.onCommandGoroutine(queryWait)(f) }

// guestPoll is how often the vhost-user ports' guests are looked at.
const guestPoll = 50 * time.Millisecond

// onCommandGoroutine returns a function that runs f on the command
// goroutine, between commands, as query does, but gives up after wait
// (errBusy) instead of queryWait: for periodic work that can skip a turn,
// and must not hold up a shutdown.
func (a *app) onCommandGoroutine(wait time.Duration) func(func()) error {
	return func(f func()) error {
		done := make(chan struct{})
		select {
		case a.requests <- func() { f(); close(done) }:
		case <-time.After(wait):
			return errBusy
		}
		<-done
		return nil
	}
}

// serve runs the readers' functions waiting now, without blocking.
func (a *app) serve() {
	for {
		select {
		case f := <-a.requests:
			f()
		default:
			return
		}
	}
}

// snapshot is one consistent reading of what the CLI's monitor, DPDK
// telemetry and /metrics report.
type snapshot struct {
	At      time.Time
	Engine  string
	Running bool
	Ports   []portSnapshot
	// Counters, indexed by pipeline.Counter, count from the start of the
	// process: they never go back (forward statistics are cleared at each
	// start; these are not).
	Counters []uint64
}

// portSnapshot is one port in a snapshot.
type portSnapshot struct {
	ID     uint16
	Name   string
	Driver string
	Kernel bool   // a kernel-facing TAP port
	Netns  string // its namespace
	LinkUp bool
	Stats  pmd.Stats
	Table  *offload.Table // its capability table (nil before it has one)
}

// snapshot reads the ports and counters. It runs on the command goroutine.
func (a *app) snapshot() snapshot {
	s := snapshot{At: time.Now(), Counters: a.counterTotals()}
	if a.engine != nil {
		s.Engine = a.engine.Name
	}
	s.Running = a.fwd != nil && a.fwd.Running()
	for _, p := range a.ports {
		ps := portSnapshot{ID: p.ID(), Name: p.Name(), Driver: p.Info().Driver, Table: a.tables.Load(p.ID())}
		if l, err := p.Link(); err == nil {
			ps.LinkUp = l.Up
		}
		ps.Stats, _ = p.Stats()
		s.Ports = append(s.Ports, ps)
	}
	for _, t := range a.taps {
		ps := portSnapshot{ID: t.ID(), Name: t.Name(), Driver: "net_opmdtap", Kernel: true, Netns: t.Netns(), Table: a.tables.Load(t.ID())}
		ps.LinkUp, _ = t.Up()
		ps.Stats, _ = t.Stats()
		s.Ports = append(s.Ports, ps)
	}
	return s
}

// counterTotals is every pipeline counter since the process started: what
// earlier forwarders and cleared statistics counted, plus the current
// streams.
func (a *app) counterTotals() []uint64 {
	out := make([]uint64, len(a.retired))
	copy(out, a.retired)
	if a.fwd != nil {
		for _, s := range a.fwd.Streams() {
			out = addCounters(out, s.Stats().Counters)
		}
	}
	return out
}

// retireCounters folds the current streams' counters into the process
// totals; call it before the streams' counters are reset or closed.
func (a *app) retireCounters() {
	if a.fwd == nil {
		return
	}
	for _, s := range a.fwd.Streams() {
		a.retired = addCounters(a.retired, s.Stats().Counters)
	}
}

func addCounters(sum, c []uint64) []uint64 {
	if len(sum) < len(c) {
		sum = append(sum, make([]uint64, len(c)-len(sum))...)
	}
	for i, v := range c {
		sum[i] += v
	}
	return sum
}

// taskRow is one task's line in `show offload stats`, telemetry's
// /offloadpmd/tasks and the task metrics.
type taskRow struct {
	Task     string `json:"task"`
	Software uint64 `json:"software"` // performed by offloadpmd
	Hardware uint64 `json:"hardware"` // left to the egress device
	Refused  uint64 `json:"refused"`  // asked for and not enabled (or no performer)
}

// taskRows lists the TX tasks, then the RX ones, from counter totals.
func taskRows(c []uint64) []taskRow {
	at := func(k pipeline.Counter) uint64 {
		if int(k) < len(c) {
			return c[k]
		}
		return 0
	}
	var rows []taskRow
	for t := offload.Task(1); int(t) < offload.NumTasks; t++ {
		rows = append(rows, taskRow{Task: t.String(),
			Software: at(pipeline.SoftwareTask(t)), Hardware: at(pipeline.HardwareTask(t)), Refused: at(pipeline.RefusedTask(t))})
	}
	rows = append(rows,
		taskRow{Task: "rx_ip_cksum_verify", Software: at(pipeline.RxIPCksumGood) + at(pipeline.RxIPCksumBad)},
		taskRow{Task: "rx_l4_cksum_verify", Software: at(pipeline.RxL4CksumGood) + at(pipeline.RxL4CksumBad)},
		taskRow{Task: "gro", Software: at(pipeline.GROIn)},
		taskRow{Task: "reassembly", Software: at(pipeline.ReassIn)},
	)
	return rows
}
