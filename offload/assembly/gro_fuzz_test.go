package assembly

import (
	"math/rand/v2"
	"testing"
	"time"
)

// script reads choices from bytes; when they run out every choice is 0.
type script struct{ b []byte }

func (s *script) more() bool { return len(s.b) > 0 }

func (s *script) pick(n int) int {
	if len(s.b) == 0 || n <= 1 {
		return 0
	}
	c := int(s.b[0]) % n
	s.b = s.b[1:]
	return c
}

// streamFlow is a flow the script sends segments of.
type streamFlow struct {
	base sp
	seq  uint32
	id   uint16
}

// runGROScript interprets data as a stream of segments of a few flows, in
// order or not, with flags, unverified checksums, header changes,
// corrupted frames, bursts, time and flushes, and runs it through a
// groRunner, which checks every output against the model, the reference
// merge and Linux's merge rules, and that every input left exactly once.
func runGROScript(t testing.TB, data []byte) GROStats {
	s := &script{b: data}
	var st testStore
	if s.pick(2) == 1 {
		st = &chainStore{split: 80 + s.pick(100)} // headers may not fit: those pass
	}
	cfg := DefaultGROConfig()
	cfg.Flows = 1 + s.pick(4)
	cfg.Timeout = []time.Duration{0, 5 * time.Microsecond, 50 * time.Microsecond}[s.pick(3)]
	if s.pick(2) == 1 {
		cfg.MaxSegs = 2 + s.pick(8)
	}
	if s.pick(2) == 1 {
		cfg.MaxIPLen = 1000 + 1000*s.pick(20)
	}
	r := newGRORunner(t, cfg, st)
	nf := 1 + s.pick(5)
	flows := make([]streamFlow, nf)
	mss := []int{1, 7, 100, 999, 1448}
	for i := range flows {
		b := sp{flow: i, ack: 1, n: mss[s.pick(len(mss))], udp: s.pick(3) == 0, v6: s.pick(2) == 1, vlan: s.pick(4) == 0}
		switch s.pick(4) {
		case 1:
			b.ts = 100
		case 2:
			if b.v6 {
				b.ext = 1
			} else {
				b.ipopt = 1
			}
		case 3:
			b.df = true
		}
		flows[i] = streamFlow{base: b, seq: uint32(s.pick(256)) << 24, id: uint16(s.pick(256))}
	}
	var now int64
	var burst []*built
	var raw []bool
	for count := 0; s.more() && count < 400; count++ {
		f := &flows[s.pick(nf)]
		seg := f.base
		seg.seq, seg.id, seg.seed = f.seq, f.id, byte(count)
		advance := true
		switch ev := s.pick(20); {
		case ev < 10: // the next full segment
		case ev == 10:
			seg.n = 1 + s.pick(seg.n)
		case ev == 11:
			seg.flags = []uint8{psh, fin, syn, rst, urg, ece, cwr, psh | fin}[s.pick(8)]
		case ev == 12: // a retransmission, or for UDP a larger datagram
			seg.seq -= uint32(seg.n)
			if seg.udp {
				seg.n += 1 + s.pick(100)
			}
		case ev == 13: // a gap
			seg.seq += uint32(1 + s.pick(3000))
		case ev == 14:
			seg.bad = true
		case ev == 15:
			seg.n = 0
		case ev == 16: // the flow's headers change from here on
			switch s.pick(6) {
			case 0:
				f.base.ttl++
			case 1:
				f.base.win++
			case 2:
				f.base.ts++
			case 3:
				f.base.tos++
			case 4:
				f.base.ack++
			case 5:
				if f.base.v6 {
					f.base.label++
				} else {
					f.base.df = !f.base.df
				}
			}
			seg = f.base
			seg.seq, seg.id, seg.seed = f.seq, f.id, byte(count)
		case ev == 17: // an IP ID out of sequence
			seg.id += uint16(2 + s.pick(5))
			advance = false
		case ev == 18: // a corrupted frame, reported bad
			b := build(t, seg)
			fr := append([]byte(nil), b.frame...)
			fr[s.pick(len(fr))] ^= byte(1 + s.pick(255))
			c := *b
			c.frame = fr
			burst, raw = append(burst, &c), append(raw, true)
			continue
		case ev == 19: // end the burst, let time pass, flush
			if len(burst) > 0 {
				r.burst(now, burst, raw)
				burst, raw = nil, nil
			}
			now += int64(s.pick(40)) * int64(time.Microsecond)
			r.flush(now)
			continue
		}
		burst, raw = append(burst, build(t, seg)), append(raw, false)
		if advance {
			f.seq = seg.seq + uint32(seg.n)
			f.id++
		}
		if len(burst) == 32 {
			r.burst(now, burst, raw)
			burst, raw = nil, nil
		}
	}
	if len(burst) > 0 {
		r.burst(now, burst, raw)
	}
	r.finish()
	return r.g.Stats()
}

// TestGRORandomStreams: random streams keep every byte, merge only what
// may be merged, keep each flow's order and leak nothing.
func TestGRORandomStreams(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 30
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var total GROStats
	for i := range n {
		data := make([]byte, 50+rng.IntN(600))
		for k := range data {
			data[k] = byte(rng.Uint32())
		}
		// Mostly in-order full segments, so that packets grow.
		for k := 8; k < len(data); k += 2 {
			if rng.IntN(3) != 0 {
				data[k] = byte(rng.IntN(10))
			}
		}
		t.Run("", func(t *testing.T) {
			st := runGROScript(t, data)
			if t.Failed() {
				t.Logf("seed %d: %x", i, data)
			}
			total.Out += st.Out
			total.Merged += st.Merged
			for k, v := range st.Flushed {
				total.Flushed[k] += v
			}
			for k, v := range st.Passed {
				total.Passed[k] += v
			}
		})
	}
	// The streams must exercise the engine, not just pass everything.
	if testing.Short() {
		return
	}
	t.Logf("merged %d segments into %d packets; flushed %v; passed %v", total.Merged, total.Out, total.Flushed, total.Passed)
	for _, r := range FlushReasons() {
		if total.Flushed[r] == 0 {
			t.Errorf("no packet flushed with %v", r)
		}
	}
	for _, r := range []Reason{ReasonChecksum, ReasonNoPayload, ReasonTCPFlags, ReasonMalformed, ReasonBadIPChecksum} {
		if total.Passed[r] == 0 {
			t.Errorf("nothing passed with %v", r)
		}
	}
}

func FuzzGRO(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 2, 0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{3, 1, 1, 5, 1, 3, 1, 1, 0, 2, 1, 0, 4, 3, 1, 1, 5, 2, 0, 1, 0, 0, 1, 0, 2, 10, 1, 11, 0, 0, 1, 0, 19, 9, 0, 14, 1, 18, 7, 7})
	f.Add([]byte{1, 2, 0, 0, 2, 2, 3, 0, 1, 2, 1, 0, 7, 0, 1, 0, 1, 16, 2, 1, 0, 0, 1, 12, 0, 13, 5, 0, 19, 30, 1, 0, 0, 17, 3, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) { runGROScript(t, data) })
}
