package pipeline

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// TestVhostUserPair connects a net_vhost port (vhost-user server) and a
// virtio_user port (its client) over a unix socket in this process, sends
// a burst each way with tx_first, and lets io forwarding bounce the
// packets between them: both ports must receive well over the first burst.
func TestVhostUserPair(t *testing.T) {
	pmdtest.Need(t)
	pool := pmdtest.Pool(t, 4096, 0)
	sock := filepath.Join(t.TempDir(), "vhost.sock")
	vh, err := pmd.ProbeVdev("net_vhost_t0,iface=" + sock + ",queues=1")
	if err != nil {
		t.Fatal(err)
	}
	startPort(t, vh, pool)
	vu, err := pmd.ProbeVdev("virtio_user_t0,path=" + sock + ",queues=1")
	if err != nil {
		t.Fatal(err)
	}
	startPort(t, vu, pool)
	if !waitFor(5*time.Second, func() bool {
		l, err := vh.Link()
		return err == nil && l.Up
	}) {
		t.Fatal("vhost link did not come up")
	}
	eal := pmdtest.Need(t)
	plan, err := NewPlan([]uint16{vu.ID(), vh.ID()}, 1, 1, config.TopologyPaired, eal.Workers()[:1], 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Build(eal, plan, &IOEngine, pool, nil, func(StreamPlan) StreamSpec {
		return StreamSpec{Burst: 32, TxOnly: TxOnlySpec{SrcIP: []byte{198, 18, 0, 1}, DstIP: []byte{198, 18, 0, 2}, SrcPort: 9, DstPort: 9}}
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.TxFirst(1, pool); err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	ok := waitFor(5*time.Second, func() bool {
		a, _ := vh.Stats()
		b, _ := vu.Stats()
		return a.IPackets > 1000 && b.IPackets > 1000
	})
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	a, _ := vh.Stats()
	b, _ := vu.Stats()
	if !ok {
		t.Fatalf("vhost received %d, virtio_user %d packets; want both over 1000", a.IPackets, b.IPackets)
	}
}
