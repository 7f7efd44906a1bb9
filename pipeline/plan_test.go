package pipeline

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/offloadpmd/offloadpmd/config"
)

func TestTxPortFor(t *testing.T) {
	cases := []struct {
		n    int
		topo config.Topology
		want []int
	}{
		{2, config.TopologyPaired, []int{1, 0}},
		{3, config.TopologyPaired, []int{1, 0, 2}},
		{4, config.TopologyPaired, []int{1, 0, 3, 2}},
		{3, config.TopologyChained, []int{1, 2, 0}},
		{1, config.TopologyChained, []int{0}},
		{3, config.TopologyLoop, []int{0, 1, 2}},
	}
	for _, c := range cases {
		var got []int
		for i := 0; i < c.n; i++ {
			got = append(got, TxPortFor(i, c.n, c.topo))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%d ports %v: got %v want %v", c.n, c.topo, got, c.want)
		}
	}
}

func streamsString(p Plan) string {
	s := ""
	for _, l := range p.Lcores {
		s += fmt.Sprintf("lc%d:", l.Lcore)
		for _, i := range l.Streams {
			st := p.Streams[i]
			s += fmt.Sprintf(" %d/%d>%d/%d", st.RxPort, st.RxQueue, st.TxPort, st.TxQueue)
		}
		s += ";"
	}
	return s
}

// The expected layouts are what dpdk-testpmd 22.11 printed for the same
// arguments on this machine (captured in its "Logical Core N forwards
// packets on M streams" lines).
func TestPlanMatchesTestpmd(t *testing.T) {
	cases := []struct {
		name     string
		ports    []uint16
		rxq, txq uint16
		topo     config.Topology
		lcores   []uint
		cores    int
		want     string
	}{
		{"2 ports 1 core", []uint16{0, 1}, 1, 1, config.TopologyPaired, []uint{1}, 1,
			"lc1: 0/0>1/0 1/0>0/0;"},
		{"2q 2 cores", []uint16{0, 1}, 2, 2, config.TopologyPaired, []uint{1, 2}, 2,
			"lc1: 0/0>1/0 1/0>0/0;lc2: 0/1>1/1 1/1>0/1;"},
		{"rxq 2 txq 1 is simple", []uint16{0, 1}, 2, 1, config.TopologyPaired, []uint{1}, 1,
			"lc1: 0/0>1/0 1/0>0/0;"},
		{"3 ports loop 2q 3 cores", []uint16{0, 1, 2}, 2, 2, config.TopologyLoop, []uint{1, 2, 3}, 3,
			"lc1: 0/0>0/0 1/0>1/0;lc2: 2/0>2/0 0/1>0/1;lc3: 1/1>1/1 2/1>2/1;"},
		{"uneven: extra streams go to the last lcores", []uint16{0, 1, 2}, 1, 1, config.TopologyChained, []uint{1, 2}, 2,
			"lc1: 0/0>1/0;lc2: 1/0>2/0 2/0>0/0;"},
		{"more cores than streams", []uint16{0, 1}, 1, 1, config.TopologyPaired, []uint{1, 2, 3}, 3,
			"lc1: 0/0>1/0;lc2: 1/0>0/0;"},
	}
	for _, c := range cases {
		p, err := NewPlan(c.ports, c.rxq, c.txq, c.topo, c.lcores, c.cores)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := streamsString(p); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
	if _, err := NewPlan([]uint16{0}, 1, 1, config.TopologyPaired, []uint{1}, 2); err == nil {
		t.Error("nb-cores beyond the worker lcores was accepted")
	}
	if _, err := NewPlan(nil, 1, 1, config.TopologyPaired, []uint{1}, 1); err == nil {
		t.Error("no ports was accepted")
	}
}
