package pipeline

import (
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
	r := newRig(t, 4096)
	a, aRx, _ := ringPort(t, "direct_a", r.pool)
	b, _, bTx := ringPort(t, "direct_b", r.pool)
	r.publish(a, offload.Change{})
	r.publish(b, offload.Change{})
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
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
