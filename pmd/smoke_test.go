package pmd_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// TestGroupForwardsNullPorts runs a bare io loop over two net_null ports
// through a Group on a worker lcore: every packet received is sent, nothing
// is dropped, and every mbuf is back in the pool after the ports close.
func TestGroupForwardsNullPorts(t *testing.T) {
	eal := pmdtest.Need(t)
	pool := pmdtest.Pool(t, 8192, 0)
	var ports []*pmd.EthPort
	for _, d := range []string{"net_null_g0", "net_null_g1"} {
		p, err := pmd.ProbeVdev(d)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pmdtest.StartPort(t, p, pool)
		ports = append(ports, p)
	}
	s0, err := pmd.NewStream(pmd.StreamConfig{RxPort: ports[0].ID(), TxPort: ports[1].ID(), Burst: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer s0.Close()
	s1, err := pmd.NewStream(pmd.StreamConfig{RxPort: ports[1].ID(), TxPort: ports[0].ID(), Burst: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	g, err := pmd.NewGroup([]*pmd.Stream{s0, s1}, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var stop atomic.Bool
	w := eal.Workers()[0]
	if err := eal.Launch(w, func(uint) error {
		for !stop.Load() {
			if g.Poll() > 0 {
				for _, s := range [...]*pmd.Stream{s0, s1} {
					s.SendRx(s.NbRx())
				}
			}
		}
		s0.Flush()
		s1.Flush()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	if err := eal.Wait(w); err != nil {
		t.Fatal(err)
	}
	polls, _, _ := g.Polls()
	for i, s := range []*pmd.Stream{s0, s1} {
		c := s.Counters()
		if c.RxPackets == 0 || c.RxPackets != c.TxPackets || c.TxDropped != 0 {
			t.Errorf("stream %d: rx %d tx %d dropped %d; want rx = tx > 0, no drops", i, c.RxPackets, c.TxPackets, c.TxDropped)
		}
		if c.RxPackets > polls*32 {
			t.Errorf("stream %d: %d packets in %d polls of at most 32", i, c.RxPackets, polls)
		}
	}
}
