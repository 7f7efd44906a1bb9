package pipeline

import (
	"bytes"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// ringPort makes a net_ring port over two rings of our own: we enqueue to
// its RX ring and dequeue from its TX ring.
func ringPort(t *testing.T, name string, pool *pmd.Mempool) (p *pmd.EthPort, rx, tx *pmd.Ring) {
	t.Helper()
	var err error
	if rx, err = pmd.NewRing(name+"_rx", 4096, -1, pmd.RingSPSC); err != nil {
		t.Fatal(err)
	}
	if tx, err = pmd.NewRing(name+"_tx", 4096, -1, pmd.RingSPSC); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-registered first: the port closes (in startPort)
	// before its rings are freed.
	t.Cleanup(func() { rx.Free(); tx.Free() })
	if p, err = pmd.NewRingPort("net_ring_"+name, []*pmd.Ring{rx}, []*pmd.Ring{tx}, -1); err != nil {
		t.Fatal(err)
	}
	startPort(t, p, pool)
	return p, rx, tx
}

// inject puts frames into ring r as mbufs from pool.
func inject(t *testing.T, r *pmd.Ring, pool *pmd.Mempool, frames [][]byte) {
	t.Helper()
	b := pmd.NewBurst(len(frames))
	defer b.Close()
	for _, f := range frames {
		m := pool.Alloc()
		if m == nil || !m.SetData(f) {
			t.Fatal("cannot build an mbuf")
		}
		b.Push(m)
	}
	if n := r.Enqueue(b); n != len(frames) {
		t.Fatalf("enqueued %d of %d", n, len(frames))
	}
}

// drain takes up to n packets out of ring r within d, copies their bytes
// and frees them.
func drain(r *pmd.Ring, n int, d time.Duration) [][]byte {
	b := pmd.NewBurst(n)
	defer b.Close()
	waitFor(d, func() bool { r.Dequeue(b); return b.Len() == n })
	var out [][]byte
	for _, m := range b.Pkts() {
		out = append(out, m.Bytes())
	}
	pmd.FreeBulk(b)
	return out
}

// TestRingPairIO sends N packets each way through a pair of net_ring ports
// with io forwarding and checks that N come out, byte-identical and in
// order, and that the mempool's in-use count returns to its baseline.
func TestRingPairIO(t *testing.T) {
	pool := pmdtest.Pool(t, 8192, 0)
	a, aRx, aTx := ringPort(t, "a", pool)
	b, bRx, bTx := ringPort(t, "b", pool)
	base := pool.InUse()

	const n = 3000
	var ab, ba [][]byte
	for i := range n {
		ab = append(ab, udpFrame(t, i, 60+i%1455))
		ba = append(ba, udpFrame(t, n+i, 1514-i%1455))
	}
	stop := forward(t, []*pmd.EthPort{a, b}, config.TopologyPaired, &IOEngine, pool)
	for i := 0; i < n; i += 1000 {
		inject(t, aRx, pool, ab[i:i+1000])
		inject(t, bRx, pool, ba[i:i+1000])
		// The rings hold 4095: let the lcore keep up.
		gotB := drain(bTx, 1000, 5*time.Second)
		gotA := drain(aTx, 1000, 5*time.Second)
		for j := range gotB {
			if !bytes.Equal(gotB[j], ab[i+j]) {
				t.Fatalf("a->b packet %d differs", i+j)
			}
		}
		for j := range gotA {
			if !bytes.Equal(gotA[j], ba[i+j]) {
				t.Fatalf("b->a packet %d differs", i+j)
			}
		}
		if len(gotA) != 1000 || len(gotB) != 1000 {
			t.Fatalf("round %d: got %d a->b and %d b->a of 1000", i/1000, len(gotB), len(gotA))
		}
	}
	st := stop()
	var rx, tx, drop uint64
	for _, s := range st {
		rx += s.RxPackets
		tx += s.TxPackets
		drop += s.Dropped()
	}
	if rx != 2*n || tx != 2*n || drop != 0 {
		t.Errorf("streams counted rx %d tx %d dropped %d, want %d %d 0", rx, tx, drop, 2*n, 2*n)
	}
	if got := pool.InUse(); got != base {
		t.Errorf("mempool in use %d after traffic and stop, baseline %d", got, base)
	}
	for _, p := range []*pmd.EthPort{a, b} {
		st, err := p.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if st.IPackets != n || st.OPackets != n {
			t.Errorf("%s: ethdev counted %d in %d out, want %d each", p.Name(), st.IPackets, st.OPackets, n)
		}
	}
}

// TestRingTxFullDropsAreCounted fills a TX ring so tx_burst refuses
// packets: each refused mbuf is freed and counted, none leaks.
func TestRingTxFullDropsAreCounted(t *testing.T) {
	pool := pmdtest.Pool(t, 8192, 0)
	a, aRx, _ := ringPort(t, "full_a", pool)
	b, _, bTx := ringPort(t, "full_b", pool)
	base := pool.InUse()
	stop := forward(t, []*pmd.EthPort{a, b}, config.TopologyPaired, &IOEngine, pool)
	const n = 6000 // the TX ring holds 4095
	for i := 0; i < n; i += 1000 {
		var frames [][]byte
		for j := range 1000 {
			frames = append(frames, udpFrame(t, i+j, 64))
		}
		inject(t, aRx, pool, frames)
		waitFor(5*time.Second, func() bool { return aRx.Count() == 0 })
	}
	st := stop()
	var tx, drop uint64
	for _, s := range st {
		tx += s.TxPackets
		drop += s.TxDropped
	}
	if tx != 4095 || tx+drop != n {
		t.Errorf("sent %d dropped %d, want 4095 sent and %d in all", tx, drop, n)
	}
	got := drain(bTx, 4095, time.Second)
	if len(got) != 4095 {
		t.Errorf("TX ring held %d, want 4095", len(got))
	}
	if in := pool.InUse(); in != base {
		t.Errorf("in use %d, baseline %d: %d mbufs lost", in, base, in-base)
	}
}
