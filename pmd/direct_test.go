package pmd_test

import (
	"testing"

	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// TestGroupDirectStream drives a direct stream over a net_ring port by
// hand: while the epoch holds, one Poll forwards burst after burst in C
// (Go sees none of them) until the RX ring runs dry, in order and counted;
// once the epoch moves, the next burst is Go's and the stream is no longer
// direct.
func TestGroupDirectStream(t *testing.T) {
	pmdtest.Need(t)
	pool := pmdtest.Pool(t, 4096, 0)
	rx, err := pmd.NewRing("direct_rx", 1024, -1, pmd.RingSPSC)
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Free()
	tx, err := pmd.NewRing("direct_tx", 1024, -1, pmd.RingSPSC)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Free()
	p, err := pmd.NewRingPort("net_ring_direct", []*pmd.Ring{rx}, []*pmd.Ring{tx}, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pmdtest.StartPort(t, p, pool)
	s, err := pmd.NewStream(pmd.StreamConfig{RxPort: p.ID(), TxPort: p.ID(), Burst: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g, err := pmd.NewGroup([]*pmd.Stream{s}, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.SetRounds(8)

	b := pmd.NewBurst(1024)
	defer b.Close()
	// put enqueues n packets numbered from seq (in their first byte).
	put := func(seq, n int) {
		t.Helper()
		for i := range n {
			m := pool.Alloc()
			if m == nil || !m.SetData([]byte{byte(seq + i), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) {
				t.Fatal("cannot build an mbuf")
			}
			b.Push(m)
		}
		if k := rx.Enqueue(b); k != n {
			t.Fatalf("enqueued %d of %d", k, n)
		}
		b.SetLen(0)
	}
	// take dequeues what the port sent and checks it is seq, seq+1, ...
	take := func(seq, n int) {
		t.Helper()
		tx.Dequeue(b)
		if b.Len() != n {
			t.Fatalf("port sent %d packets, want %d", b.Len(), n)
		}
		for i, m := range b.Pkts() {
			if got := int(m.Bytes()[0]); got != byte0(seq+i) {
				t.Fatalf("packet %d is number %d, want %d: out of order", i, got, byte0(seq+i))
			}
		}
		pmd.FreeBulk(b)
	}
	base, _, _ := g.Polls()

	// Four bursts wait; the stream is direct at the current epoch. One
	// Poll takes all four (and a fifth round that finds the ring empty).
	put(0, 128)
	s.Direct(pmd.Epoch())
	if got := g.Poll(); got != 128 || s.NbRx() != 0 {
		t.Fatalf("direct Poll: %d received, NbRx %d; want 128 forwarded in C, none for Go", got, s.NbRx())
	}
	if polls, _, calls := g.Polls(); calls != 1 || polls-base != 5 {
		t.Errorf("one Poll took %d rounds in %d calls; want 5 rounds (4 bursts, then empty) in 1", polls-base, calls)
	}
	s.Flush()
	take(0, 128)
	if c := s.Counters(); c.DirectPackets != 128 || c.RxPackets != 128 || c.TxPackets != 128 {
		t.Errorf("counters %+v; want 128 received, sent and direct", c)
	}

	// The epoch moves: the next burst is handed to Go, once, and the
	// stream is no longer direct.
	pmd.BumpEpoch()
	put(128, 64)
	if got := g.Poll(); got != 32 || s.NbRx() != 32 || s.IsDirect() {
		t.Fatalf("after the epoch moved: Poll %d, NbRx %d, direct %v; want one burst of 32 for Go, not direct", got, s.NbRx(), s.IsDirect())
	}
	s.SendRx(s.NbRx())
	if got := g.Poll(); got != 32 || s.NbRx() != 32 {
		t.Fatalf("second burst: Poll %d, NbRx %d; want 32 for Go", got, s.NbRx())
	}
	s.SendRx(s.NbRx())
	s.Flush()
	take(128, 64)
	if c := s.Counters(); c.DirectPackets != 128 {
		t.Errorf("direct packets %d after the epoch moved, want still 128", c.DirectPackets)
	}

	// Undirect takes effect at once, whatever the epoch.
	s.Direct(pmd.Epoch())
	s.Undirect()
	put(192, 32)
	if got := g.Poll(); got != 32 || s.NbRx() != 32 {
		t.Fatalf("after Undirect: Poll %d, NbRx %d; want the burst for Go", got, s.NbRx())
	}
	s.SendRx(s.NbRx())
	s.Flush()
	take(192, 32)
}

func byte0(n int) int { return n & 0xff }
