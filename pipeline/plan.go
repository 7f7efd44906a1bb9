package pipeline

import (
	"fmt"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// StreamPlan is where one stream reads and writes.
type StreamPlan struct {
	RxPort, RxQueue, TxPort, TxQueue uint16
}

// LcorePlan is a forwarding lcore and the streams (indexes into
// Plan.Streams) it runs.
type LcorePlan struct {
	Lcore   uint
	Streams []int
}

// Plan is a forwarding layout: testpmd's cur_fwd_config.
type Plan struct {
	Ports   []uint16
	Streams []StreamPlan
	Lcores  []LcorePlan
}

// TxPortFor is the forwarding peer of the i-th forwarding port (an index
// into the port list) under topology t, as testpmd pairs them: paired
// sends 0<->1, 2<->3 (an odd last port to itself), chained i->i+1, loop
// i->i.
func TxPortFor(i, nports int, t config.Topology) int {
	switch t {
	case config.TopologyChained:
		return (i + 1) % nports
	case config.TopologyLoop:
		return i
	default:
		if i%2 == 0 {
			if i+1 < nports {
				return i + 1
			}
			return i
		}
		return i - 1
	}
}

// NewPlan lays out streams and lcores as testpmd's fwd_config_setup does.
// With several RX and TX queues there is one stream per port and queue
// (queue-major order: port 0 queue 0, port 1 queue 0, ..., port 0 queue 1,
// ...), RX queue q sending on TX queue q; otherwise one stream per port on
// queue 0. Streams are spread over at most nbCores of lcores, in order,
// the last lcores taking one extra stream when they do not divide evenly.
func NewPlan(ports []uint16, nbRxq, nbTxq uint16, t config.Topology, lcores []uint, nbCores int) (Plan, error) {
	if len(ports) == 0 {
		return Plan{}, fmt.Errorf("no forwarding ports")
	}
	if nbCores < 1 || nbCores > len(lcores) {
		return Plan{}, fmt.Errorf("nb-cores should be > 0 and <= %d (the worker lcores)", len(lcores))
	}
	nq := 1
	if nbRxq > 1 && nbTxq > 1 {
		nq = int(min(nbRxq, nbTxq))
	}
	p := Plan{Ports: ports}
	for q := 0; q < nq; q++ {
		for i, rx := range ports {
			p.Streams = append(p.Streams, StreamPlan{
				RxPort: rx, RxQueue: uint16(q),
				TxPort: ports[TxPortFor(i, len(ports), t)], TxQueue: uint16(q),
			})
		}
	}
	nfc := min(nbCores, len(p.Streams))
	perLcore, extra := 1, 0
	if len(p.Streams) > nfc {
		perLcore, extra = len(p.Streams)/nfc, len(p.Streams)%nfc
	}
	sm := 0
	for lc := 0; lc < nfc; lc++ {
		n := perLcore
		if lc >= nfc-extra {
			n++
		}
		lp := LcorePlan{Lcore: lcores[lc]}
		for k := 0; k < n; k++ {
			lp.Streams = append(lp.Streams, sm)
			sm++
		}
		p.Lcores = append(p.Lcores, lp)
	}
	return p, nil
}

// Build creates the plan's streams for engine e, each described by spec,
// and places them on their lcores in a Forwarder. With off, the streams run
// the offload stages and take the mbufs they create (segments) from
// off.SegPool, or pool if that is nil. On error, what was built is freed.
func Build(eal *pmd.EAL, plan Plan, e *Engine, pool *pmd.Mempool, off *Offload, spec func(StreamPlan) StreamSpec, busyPoll bool) (*Forwarder, error) {
	var lcs []*Lcore
	for _, lp := range plan.Lcores {
		l := &Lcore{ID: lp.Lcore}
		lcs = append(lcs, l)
		for _, si := range lp.Streams {
			sp := spec(plan.Streams[si])
			sp.RxPort, sp.RxQueue = plan.Streams[si].RxPort, plan.Streams[si].RxQueue
			sp.TxPort, sp.TxQueue = plan.Streams[si].TxPort, plan.Streams[si].TxQueue
			s, err := NewStream(si, sp, e, pool, off)
			if err != nil {
				_ = NewForwarder(eal, e, lcs, busyPoll).Close()
				return nil, err
			}
			l.Streams = append(l.Streams, s)
		}
	}
	return NewForwarder(eal, e, lcs, busyPoll), nil
}
