package assembly

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

// runReasmScript interprets data as fragments of a few datagrams: regular
// pieces in any order, duplicates, arbitrary spans (overlapping, unaligned,
// past the end, too big), time passing, with small limits. Every datagram
// that comes out must be the reference datagram of its data up to the end
// its last fragment gave; the counters must add up and nothing may leak.
// Then it feeds byte-flipped fragments to a second engine, which must not
// fail, leak, or put out a datagram with inconsistent headers.
func runReasmScript(t testing.TB, data []byte) ReassemblyStats {
	s := &script{b: data}
	cfg := DefaultReassemblyConfig()
	cfg.Datagrams = 1 + s.pick(4)
	if s.pick(2) == 1 {
		cfg.FragmentsPerDatagram = 2 + s.pick(12)
	}
	if s.pick(2) == 1 {
		cfg.MaxBytes = 1500 * (1 + s.pick(10))
	}
	cfg.Timeout = []time.Duration{time.Second, 30 * time.Second}[s.pick(2)]
	nd := 1 + s.pick(3)
	var dgs []*dgram
	type plan struct{ todo []fp }
	plans := make([]plan, nd)
	for i := range nd {
		sp := dgSpec{v6: s.pick(2) == 1, size: 8*s.pick(300) + s.pick(8), id: uint32(i + 1), hbh: s.pick(2) == 1, dstopt: s.pick(2) == 1, vlan: s.pick(5) == 0}
		d := makeDgram(t, sp)
		dgs = append(dgs, d)
		plans[i].todo = pieces(i, len(d.data), 8*(1+s.pick(200)))
	}
	var st testStore
	if s.pick(2) == 1 {
		st = &chainStore{split: 60 + s.pick(100)}
	}
	rr := newReasmRunner(t, cfg, dgs, st)
	rr.wantEnd = nil
	var now int64
	var burst, sent []fp
	for count := 0; s.more() && count < 200; count++ {
		dg := s.pick(nd)
		switch op := s.pick(10); {
		case op < 5:
			p := &plans[dg]
			if len(p.todo) == 0 {
				continue
			}
			k := s.pick(len(p.todo))
			f := p.todo[k]
			p.todo = append(p.todo[:k], p.todo[k+1:]...)
			burst, sent = append(burst, f), append(sent, f)
		case op == 5 && len(sent) > 0:
			burst = append(burst, sent[s.pick(len(sent))])
		case op == 6:
			off := min(8*s.pick(256)*(1+s.pick(40)), 65528) // the offset field's range
			f := fp{dg: dg, off: off, end: off + s.pick(256)*(1+s.pick(8)), last: s.pick(3)}
			if f.off == 0 && f.last != 1 {
				f.last = 1 // not an atomic fragment
			}
			burst, sent = append(burst, f), append(sent, f)
		case op == 7:
			now += int64(s.pick(4)) * int64(10*time.Second)
			fallthrough
		default:
			if len(burst) > 0 {
				rr.burst(now, burst)
				burst = nil
			}
		}
	}
	if len(burst) > 0 {
		rr.burst(now, burst)
	}
	rr.stop()
	stats := rr.r.Stats()

	// Byte-flipped fragments.
	st = &pkt.SliceStore{}
	r, _ := NewReassembler(st, cfg)
	var in []Input
	var frames [][]byte
	for count := 0; s.more() && count < 64; count++ {
		d := dgs[s.pick(nd)]
		off := 8 * s.pick(64)
		f := d.frag(off, off+8*(1+s.pick(20)), s.pick(3) != 0)
		for range 1 + s.pick(3) {
			f[s.pick(len(f))] ^= byte(1 + s.pick(255))
		}
		if s.pick(4) == 0 {
			f = f[:s.pick(len(f))]
		}
		frames = append(frames, f)
		in = append(in, Input{Pkt: st.Put(append([]byte(nil), f...)), L4Csum: checksum.Unknown})
	}
	v, out := make([]Verdict, len(in)), make([]Output, len(in))
	n := r.Receive(now, in, v, out)
	for _, o := range out[:n] {
		got := st.Bytes(o.Pkt)
		if o.Kind != KindNone {
			l, m := header.Parse(got)
			if m != header.OK && m != header.BadUDPLength && m != header.ShortUDP && m != header.ShortTCP && m != header.BadTCPDataOffset ||
				l.Fragment || l.PktLen != len(got) {
				t.Fatalf("reassembled %v: %+v %v", o, l, m)
			}
			if l.L3 == header.L3IPv4 && checksum.VerifyIPv4(header.IPv4(got[l.L2Len:])) != checksum.Good {
				t.Fatalf("reassembled %v: IPv4 header checksum", o)
			}
		} else {
			k := 0
			for k < len(in) && in[k].Pkt != o.Pkt {
				k++
			}
			if k == len(in) || !bytes.Equal(got, frames[k]) {
				t.Fatal("passed through changed")
			}
		}
		st.Free(o.Pkt)
	}
	r.FlushAll()
	stt := r.Stats()
	var sum uint64
	for k := range stt.Passed {
		sum += stt.Passed[k] + stt.Dropped[k]
	}
	if st.Live() != 0 || stt.In != sum+stt.Joined {
		t.Fatalf("live %d, counters %+v", st.Live(), stt)
	}
	return stats
}

// TestReassemblyRandom: random fragment sets (in any order, duplicated,
// overlapping, missing, beyond limits) give only correct datagrams, count
// every drop and leak nothing.
func TestReassemblyRandom(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 40
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var total ReassemblyStats
	for i := range n {
		data := make([]byte, 30+rng.IntN(300))
		for k := range data {
			data[k] = byte(rng.Uint32())
		}
		// Mostly regular pieces, so that datagrams complete.
		for k := 12; k < len(data); k += 2 {
			if rng.IntN(2) == 0 {
				data[k] = byte(rng.IntN(5))
			}
		}
		t.Run("", func(t *testing.T) {
			st := runReasmScript(t, data)
			if t.Failed() {
				t.Logf("seed %d: %x", i, data)
			}
			total.Reassembled += st.Reassembled
			for k := range st.Dropped {
				total.Dropped[k] += st.Dropped[k]
			}
		})
	}
	if testing.Short() {
		return
	}
	t.Logf("reassembled %d; dropped %v", total.Reassembled, total.Dropped)
	if total.Reassembled == 0 {
		t.Error("nothing reassembled")
	}
	for _, r := range []Reason{ReasonBadLength, ReasonDuplicate, ReasonOverlap, ReasonInconsistent, ReasonTooManyFragments,
		ReasonMemoryLimit, ReasonTableFull, ReasonAborted, ReasonTimeout, ReasonStopped, ReasonTooBig} {
		if total.Dropped[r] == 0 {
			t.Errorf("nothing dropped with %v", r)
		}
	}
}

func FuzzReassembly(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 120, 3, 1, 1, 1, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9})
	f.Add([]byte{2, 1, 5, 1, 3, 1, 1, 2, 44, 1, 0, 0, 2, 3, 7, 0, 200, 5, 1, 0, 0, 1, 0, 1, 6, 0, 0, 4, 7, 3, 0, 0, 1, 1, 5, 0, 6, 9, 9, 9, 2, 0, 0, 0, 0, 8})
	f.Add([]byte{1, 0, 0, 1, 1, 2, 1, 200, 3, 0, 1, 1, 0, 100, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 3, 1, 6, 1, 5, 1, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) { runReasmScript(t, data) })
}
