package pipeline

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// TestDirectStreamFollowsChanges forwards bursts of 32 UDP frames with the
// io engine between net_ring ports whose tables enable nothing, so the
// stream goes direct: C forwards its bursts and counts them, Go sees none.
// Each change the judgement rests on must reach the very next burst:
// enabling RX IPv4 checksum verification on the RX port (that burst's
// packets come out flagged good and counted), and `set verbose 1` (that
// burst is recorded). Once the change is undone the stream goes direct
// again after one burst of Go's.
func TestDirectStreamFollowsChanges(t *testing.T) {
	r, aRx, bTx, ports := plainPair(t, "direct", 4096)
	a := ports[0]
	f := r.start(&IOEngine, ports)
	s := f.Streams()[0]

	out := pmd.NewBurst(64)
	defer out.Close()
	seq := 0
	// burst sends one burst of 32 frames (one enqueue: the lcore takes it
	// whole) and returns how many of the packets that came out carry
	// RX_IP_CKSUM_GOOD.
	burst := func() (good int) {
		t.Helper()
		var frames [][]byte
		for range 32 {
			seq++
			frames = append(frames, udpFrame(t, seq, 100))
		}
		inject(t, aRx, r.pool, frames)
		waitFor(5*time.Second, func() bool {
			bTx.Dequeue(out)
			return out.Len() == 32
		})
		if out.Len() != 32 {
			t.Fatalf("%d of 32 packets came out", out.Len())
		}
		for _, m := range out.Pkts() {
			if m.OlFlags()&offload.OlRxIPCksumGood != 0 {
				good++
			}
		}
		pmd.FreeBulk(out)
		return good
	}
	direct := func() uint64 { return s.Stats().Counters[DirectForwarded] }
	// expect checks the direct count after a burst.
	expect := func(step string, want uint64) {
		t.Helper()
		if got := direct(); got != want {
			t.Fatalf("%s: %d packets forwarded directly, want %d", step, got, want)
		}
	}

	burst() // Go's: the stream judges itself plain and goes direct
	expect("first burst", 0)
	burst()
	expect("second burst", 32)

	if _, err := r.reg.Update(a.ID(), offload.Change{EnableRx: offload.RxIPv4Cksum, SoftwareRx: offload.RxIPv4Cksum}); err != nil {
		t.Fatal(err)
	}
	if good := burst(); good != 32 {
		t.Errorf("the burst after enabling RX IPv4 checksum verification: %d of 32 packets flagged good", good)
	}
	expect("verification on", 32)
	if got := s.Counter(RxIPCksumGood); got != 32 {
		t.Errorf("rx-ip-cksum-good %d, want 32", got)
	}

	if _, err := r.reg.Update(a.ID(), offload.Change{DisableRx: offload.RxIPv4Cksum}); err != nil {
		t.Fatal(err)
	}
	if good := burst(); good != 0 {
		t.Errorf("verification off: %d packets flagged", good)
	}
	expect("verification off, first burst", 32)
	burst()
	expect("verification off, second burst", 64)

	if err := f.Observer().SetVerbose(1); err != nil {
		t.Fatal(err)
	}
	burst()
	recs := 0
	waitFor(5*time.Second, func() bool { recs += f.DrainObserved(func(*Record) {}); return recs >= 32 })
	if recs != 32 {
		t.Errorf("set verbose 1: %d packets recorded of the next burst's 32", recs)
	}
	expect("verbose 1", 64)
	if err := f.Observer().SetVerbose(0); err != nil {
		t.Fatal(err)
	}
	burst()
	burst()
	expect("verbose 0", 96)

	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	if s.io.IsDirect() {
		t.Error("the stream is still direct after Stop")
	}
	if st := s.Stats(); st.RxPackets != 8*32 || st.TxPackets != 8*32 || st.Dropped() != 0 {
		t.Errorf("rx %d tx %d dropped %d; want %d, %d, 0", st.RxPackets, st.TxPackets, st.Dropped(), 8*32, 8*32)
	}
}

// TestDirectStreamToggleUnderTraffic streams 20000 UDP frames through io
// forwarding while RX IPv4 checksum verification is switched on and off
// every couple of milliseconds, so the stream keeps going direct and
// coming back to Go: every frame must come out once, in order, unchanged,
// and both paths must have carried traffic.
func TestDirectStreamToggleUnderTraffic(t *testing.T) {
	r, aRx, bTx, ports := plainPair(t, "dirtog", 8192)
	a := ports[0]
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, ports)
	const n = 20000
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = udpFrame(t, i, 80)
	}
	produced := make(chan error, 1)
	go func() {
		defer close(produced)
		b := pmd.NewBurst(64)
		defer b.Close()
		for i := 0; i < n; i += 64 {
			for _, fr := range frames[i:min(i+64, n)] {
				m := r.pool.Alloc()
				if m == nil || !m.SetData(fr) {
					produced <- errors.New("cannot build an mbuf")
					return
				}
				b.Push(m)
			}
			for deadline := time.Now().Add(5 * time.Second); b.Len() > 0 && time.Now().Before(deadline); {
				if aRx.Enqueue(b) == 0 {
					time.Sleep(20 * time.Microsecond)
				}
			}
			if b.Len() > 0 {
				pmd.FreeBulk(b)
				produced <- errors.New("the RX ring stayed full for 5 s")
				return
			}
			time.Sleep(20 * time.Microsecond)
		}
	}()
	on, switches := false, 0
	for done := false; !done; {
		select {
		case err := <-produced:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		case <-time.After(2 * time.Millisecond):
			ch := offload.Change{EnableRx: offload.RxIPv4Cksum, SoftwareRx: offload.RxIPv4Cksum}
			if on {
				ch = offload.Change{DisableRx: offload.RxIPv4Cksum}
			}
			if _, err := r.reg.Update(a.ID(), ch); err != nil {
				t.Error(err)
			}
			on, switches = !on, switches+1
		}
	}
	waitFor(10*time.Second, func() bool { got, _ := sink.seen(); return got >= n })
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	out := sink.close()
	if len(out) != n {
		t.Fatalf("%d frames out of %d", len(out), n)
	}
	for i, fr := range out {
		if !bytes.Equal(fr, frames[i]) {
			t.Fatalf("frame %d out is not frame %d in: lost, reordered or changed", i, i)
		}
	}
	st := total(f)
	if st.Counters[DirectForwarded] == 0 || st.Counters[RxIPCksumGood] == 0 {
		t.Errorf("direct %d, verified %d: both paths should have carried traffic (%d switches)",
			st.Counters[DirectForwarded], st.Counters[RxIPCksumGood], switches)
	}
	if st.Dropped() != 0 {
		t.Errorf("drops: %s", st.nonZero())
	}
}

// plainPair makes a rig with a pool of mbufs and two net_ring ports, a
// (ports[0], fed through aRx) and b (ports[1], drained from bTx), whose
// tables enable nothing.
func plainPair(t *testing.T, name string, mbufs uint) (r *e2eRig, aRx, bTx *pmd.Ring, ports [2]*pmd.EthPort) {
	r = newRig(t, mbufs)
	ports[0], aRx, _ = ringPort(t, name+"_a", r.pool)
	ports[1], _, bTx = ringPort(t, name+"_b", r.pool)
	r.publish(ports[0], offload.Change{})
	r.publish(ports[1], offload.Change{})
	return r, aRx, bTx, ports
}
