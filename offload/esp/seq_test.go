package esp

import (
	"sync"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// seqOf encrypts one packet with sa through b and returns its sequence
// number, or the refusal.
func seqOf(t *testing.T, sa *SA, b *SeqBlock) (uint64, Reason) {
	t.Helper()
	var j Job
	why := sa.PrepareEncryptSeq(inBuffer(frame(t, false, false, 10), 64, 64), header.EthernetLen, &j, b)
	return j.Seq, why
}

// TestSeqBlockConsecutive: one lcore with a block, released after each
// burst, sends exactly the numbers it would without one (1, 2, 3, ...),
// and SA.Seq is the last sent between bursts.
func TestSeqBlockConsecutive(t *testing.T) {
	_, out, _ := pair(t, AESGCM128, Tunnel, false, false)
	var b SeqBlock
	want := uint64(1)
	for _, burst := range []int{1, 5, SeqBlockSize, SeqBlockSize + 1, 2*SeqBlockSize + 3, 0, 7} {
		for range burst {
			got, why := seqOf(t, out, &b)
			if why != OK || got != want {
				t.Fatalf("got %d (%v), want %d", got, why, want)
			}
			want++
		}
		b.Release()
		if out.Seq() != want-1 {
			t.Fatalf("after a burst of %d: SA.Seq %d, want %d", burst, out.Seq(), want-1)
		}
	}
	// Without a block, the next number follows.
	if got, why := seqOf(t, out, nil); why != OK || got != want {
		t.Fatalf("without a block: %d (%v), want %d", got, why, want)
	}
}

// TestSeqBlockTwoSAs: a block holds one SA's numbers; another SA's packets
// in the same burst take theirs from their SA, and both stay consecutive.
func TestSeqBlockTwoSAs(t *testing.T) {
	_, a, _ := pair(t, AESGCM128, Tunnel, false, false)
	_, c, _ := pair(t, AESCBC128SHA256, Tunnel, false, false)
	var b SeqBlock
	next := map[*SA]uint64{a: 1, c: 1}
	for round := range 3 {
		for i := range 40 {
			sa := a
			if i%3 == 1 {
				sa = c
			}
			got, why := seqOf(t, sa, &b)
			if why != OK || got != next[sa] {
				t.Fatalf("round %d packet %d: got %d (%v), want %d", round, i, got, why, next[sa])
			}
			next[sa]++
		}
		b.Release()
		if a.Seq() != next[a]-1 || c.Seq() != next[c]-1 {
			t.Fatalf("round %d: Seq %d and %d, want %d and %d", round, a.Seq(), c.Seq(), next[a]-1, next[c]-1)
		}
	}
}

// TestSeqBlockShared: lcores sharing an SA, each with its block, never
// send a number twice; a block that cannot give its numbers back (another
// lcore took some since) leaves a gap, nothing worse.
func TestSeqBlockShared(t *testing.T) {
	_, out, _ := pair(t, AESGCM128, Tunnel, false, false)
	const workers, bursts = 4, 200
	seen := make([][]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b SeqBlock
			for i := range bursts {
				for range 1 + (i*7+w)%(2*SeqBlockSize) {
					s, ok := out.nextSeq(&b)
					if !ok {
						t.Error("overflow")
						return
					}
					seen[w] = append(seen[w], s)
				}
				b.Release()
			}
		}()
	}
	wg.Wait()
	all := map[uint64]bool{}
	n := 0
	for _, ss := range seen {
		for k, s := range ss {
			if all[s] {
				t.Fatalf("sequence number %d sent twice", s)
			}
			if k > 0 && s <= ss[k-1] {
				t.Fatalf("one lcore's numbers went back: %d after %d", s, ss[k-1])
			}
			all[s] = true
			n++
		}
	}
	if top := out.Seq(); top < uint64(n) {
		t.Fatalf("SA.Seq %d below the %d numbers sent", top, n)
	}
}

// TestSeqBlockOverflow: a block near the end takes only what is left; the
// last number is sent once, then SeqOverflow, and the counter stays at the
// limit (with and without ESN), block released or not.
func TestSeqBlockOverflow(t *testing.T) {
	for _, c := range []struct {
		esn  bool
		last uint64
	}{{false, 1<<32 - 1}, {true, 1<<64 - 1}} {
		_, out, _ := pair(t, AESGCM128, Transport, false, c.esn)
		out.seq.Store(c.last - 3)
		var b SeqBlock
		for want := c.last - 2; want <= c.last && want != 0; want++ {
			if got, why := seqOf(t, out, &b); why != OK || got != want {
				t.Fatalf("esn %v: got %#x (%v), want %#x", c.esn, got, why, want)
			}
		}
		for range 2 {
			if _, why := seqOf(t, out, &b); why != SeqOverflow {
				t.Fatalf("esn %v: after the last: %v", c.esn, why)
			}
		}
		b.Release()
		if out.Seq() != c.last {
			t.Fatalf("esn %v: counter %#x, want %#x", c.esn, out.Seq(), c.last)
		}
		if _, why := seqOf(t, out, nil); why != SeqOverflow {
			t.Fatalf("esn %v: without a block after the last: %v", c.esn, why)
		}
	}
}

// TestSeqBlockRefusalUsesNone: a refused packet takes no number from the
// block either.
func TestSeqBlockRefusalUsesNone(t *testing.T) {
	_, out, _ := pair(t, AESGCM128, Tunnel, false, false)
	var b SeqBlock
	if got, why := seqOf(t, out, &b); why != OK || got != 1 {
		t.Fatalf("first: %d (%v)", got, why)
	}
	var j Job
	f := frame(t, false, false, 10)
	if why := out.PrepareEncryptSeq(inBuffer(f, 0, 64), header.EthernetLen, &j, &b); why != NoHeadroom {
		t.Fatalf("no headroom: %v", why)
	}
	if got, why := seqOf(t, out, &b); why != OK || got != 2 {
		t.Fatalf("after a refusal: %d (%v), want 2", got, why)
	}
	b.Release()
	if out.Seq() != 2 {
		t.Fatalf("SA.Seq %d, want 2", out.Seq())
	}
}
