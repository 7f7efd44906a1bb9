package pmd_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

func TestSmokeNullIO(t *testing.T) {
	eal := pmdtest.Need(t)
	pool := pmdtest.Pool(t, 8192, 0)
	var ports []*pmd.EthPort
	for _, d := range []string{"net_null0", "net_null1"} {
		p, err := pmd.ProbeVdev(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Configure(pmd.PortConfig{RxQueues: 1, TxQueues: 1, Pool: pool}); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	s0, _ := pmd.NewStream(pmd.StreamConfig{RxPort: ports[0].ID(), TxPort: ports[1].ID(), Burst: 32})
	s1, _ := pmd.NewStream(pmd.StreamConfig{RxPort: ports[1].ID(), TxPort: ports[0].ID(), Burst: 32})
	var stop atomic.Bool
	w := eal.Workers()[0]
	if err := eal.Launch(w, func(uint) error {
		for !stop.Load() {
			for _, s := range [...]*pmd.Stream{s0, s1} {
				if s.Poll() > 0 {
					s.SendBurst(s.Rx())
				}
			}
		}
		s0.Flush()
		s1.Flush()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	stop.Store(true)
	if err := eal.Wait(w); err != nil {
		t.Fatal(err)
	}
	c := s0.Counters()
	t.Logf("s0 %+v  => %.1f Mpps", c, float64(c.RxPackets)/2e6)
	s0.Close()
	s1.Close()
	for _, p := range ports {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}
}
