package assembly

import (
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// groBench cycles a stream of frames through a GRO engine in bursts, over
// a poolStore, freeing what comes out.
type groBench struct {
	ps     testStore
	g      *GRO
	frames [][]byte
	// layouts are the frames' Layouts, handed to the engine as a caller
	// that parsed them does (cmd/grobench); nil: the engine parses.
	layouts []header.Layout
	in      []Input
	v       []Verdict
	out     []Output
	pos     int
	now     int64
	step    int64
	bytes   int64 // input bytes
	segs    int64 // inputs
	outs    int64 // outputs
}

// newGROBench: copy selects a poolStore (Append copies the payload, as a
// flat buffer must) instead of a chainStore (Append links segments, as
// mbufs do).
func newGROBench(tb testing.TB, cfg GROConfig, frames [][]byte, burst int, step time.Duration, copy bool) *groBench {
	var ps testStore
	if copy {
		ps = newPoolStore(cfg.Flows+2*burst+8, 65536+512)
	} else {
		n := (cfg.Flows + 2*burst + 8) * 2
		ps = newChainStore(n, n*cfg.MaxSegs, 2048)
	}
	g, err := NewGRO(ps, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return &groBench{ps: ps, g: g, frames: frames, in: make([]Input, burst), v: make([]Verdict, burst),
		out: make([]Output, 2*burst+cfg.Flows), step: int64(step)}
}

// burst puts the next burst's frames, receives them, flushes, and frees
// the outputs.
func (b *groBench) burst() {
	for k := range b.in {
		f := b.frames[b.pos]
		b.in[k] = Input{Pkt: b.ps.Put(f), L4Csum: checksum.Good}
		if b.layouts != nil {
			b.in[k].Layout = b.layouts[b.pos]
		}
		if b.pos++; b.pos == len(b.frames) {
			b.pos = 0
		}
		b.bytes += int64(len(f))
	}
	n := b.g.Receive(b.now, b.in, b.v, b.out)
	n += b.g.Flush(b.now, b.out[n:])
	for _, o := range b.out[:n] {
		b.ps.Free(o.Pkt)
	}
	b.segs += int64(len(b.in))
	b.outs += int64(n)
	b.now += b.step
}

func (b *groBench) stop() {
	for n := b.g.FlushAll(b.out); n > 0; n = b.g.FlushAll(b.out) {
		for _, o := range b.out[:n] {
			b.ps.Free(o.Pkt)
		}
	}
}

// groStream is nf flows of ns segments of mss bytes each (a TCP timestamp
// option, DF, IDs counting up, as Linux sends them), flows interleaved in
// runs of run segments (run 1: round robin).
func groStream(tb testing.TB, udp, v6 bool, nf, ns, mss, run int) [][]byte {
	segs := make([][][]byte, nf)
	for f := range segs {
		base := sp{udp: udp, v6: v6, flow: f, ack: 1, n: mss, df: true, seq: uint32(f) << 20, id: uint16(f * 100)}
		if !udp {
			base.ts = 1000
		}
		for _, s := range train(base, ns) {
			segs[f] = append(segs[f], build(tb, s).frame)
		}
	}
	var r [][]byte
	for from := 0; from < ns; from += run {
		for f := range segs {
			r = append(r, segs[f][from:min(from+run, ns)]...)
		}
	}
	return r
}

// TestGROAllocs: a GRO burst allocates nothing.
func TestGROAllocs(t *testing.T) {
	for _, c := range []struct {
		name   string
		frames [][]byte
	}{
		{"tcp4", groStream(t, false, false, 2, 64, 1448, 32)},
		{"tcp6", groStream(t, false, true, 2, 64, 1448, 16)},
		{"udp", groStream(t, true, false, 4, 32, 1000, 8)},
		{"round robin", groStream(t, false, false, 64, 4, 1000, 1)},
	} {
		for _, copy := range []bool{false, true} {
			cfg := DefaultGROConfig()
			cfg.Flows = 16
			b := newGROBench(t, cfg, c.frames, 32, time.Microsecond, copy)
			if a := testing.AllocsPerRun(100, b.burst); a != 0 {
				t.Errorf("%s copy %v: %v allocations per burst", c.name, copy, a)
			}
			if b.outs == 0 || b.outs >= b.segs && c.name != "round robin" {
				t.Errorf("%s: %d segments gave %d packets", c.name, b.segs, b.outs)
			}
			b.stop()
			if b.ps.Live() != 0 {
				t.Errorf("%s: %d packets leaked", c.name, b.ps.Live())
			}
		}
	}
}

// reasmBench cycles datagrams' fragments through a Reassembler.
type reasmBench struct {
	ps     testStore
	r      *Reassembler
	frames [][]byte
	in     []Input
	v      []Verdict
	out    []Output
	outs   int
}

func newReasmBench(tb testing.TB, d *dgram, size int, copy bool) *reasmBench {
	var frames [][]byte
	for _, p := range pieces(0, len(d.data), size) {
		frames = append(frames, d.frag(p.off, p.end, p.end < len(d.data)))
	}
	var ps testStore = newChainStore(len(frames)+4, len(frames)+4, 2048)
	if copy {
		ps = newPoolStore(len(frames)+4, 65536+512)
	}
	r, err := NewReassembler(ps, DefaultReassemblyConfig())
	if err != nil {
		tb.Fatal(err)
	}
	return &reasmBench{ps: ps, r: r, frames: frames, in: make([]Input, 32), v: make([]Verdict, 32), out: make([]Output, 32)}
}

// datagram feeds one datagram's fragments in bursts of 32.
func (b *reasmBench) datagram() {
	for from := 0; from < len(b.frames); from += len(b.in) {
		fs := b.frames[from:min(from+len(b.in), len(b.frames))]
		in := b.in[:len(fs)]
		for k, f := range fs {
			in[k] = Input{Pkt: b.ps.Put(f)}
		}
		n := b.r.Receive(0, in, b.v, b.out)
		for _, o := range b.out[:n] {
			b.ps.Free(o.Pkt)
		}
		b.outs += n
	}
}

// TestReassemblyAllocs: reassembling a datagram allocates nothing.
func TestReassemblyAllocs(t *testing.T) {
	for _, s := range []dgSpec{{size: 65507, id: 1}, {v6: true, size: 65000, id: 2, hbh: true, dstopt: true}} {
		for _, copy := range []bool{false, true} {
			b := newReasmBench(t, makeDgram(t, s), 1232, copy)
			if a := testing.AllocsPerRun(20, b.datagram); a != 0 {
				t.Errorf("v6 %v copy %v: %v allocations per datagram", s.v6, copy, a)
			}
			if b.outs != 21 || b.ps.Live() != 0 || b.r.Datagrams() != 0 {
				t.Errorf("v6 %v: %d datagrams out, %d packets live", s.v6, b.outs, b.ps.Live())
			}
		}
	}
}

func benchGRO(b *testing.B, cfg GROConfig, frames [][]byte, step time.Duration, copy bool) {
	benchGROLayouts(b, cfg, frames, step, copy, false)
}

func benchGROLayouts(b *testing.B, cfg GROConfig, frames [][]byte, step time.Duration, copy, layouts bool) {
	g := newGROBench(b, cfg, frames, 32, step, copy)
	if layouts {
		for _, f := range frames {
			l, m := header.Parse(f)
			if m != header.OK {
				b.Fatal(m)
			}
			g.layouts = append(g.layouts, l)
		}
	}
	for range 4 * len(frames) / 32 { // warm up: fill the table
		g.burst()
	}
	g.bytes, g.segs, g.outs = 0, 0, 0
	b.ResetTimer()
	for range b.N {
		g.burst()
	}
	b.StopTimer()
	b.SetBytes(g.bytes / int64(b.N))
	b.ReportMetric(float64(g.segs)/b.Elapsed().Seconds(), "segments/s")
	b.ReportMetric(float64(g.segs)/float64(max(g.outs, 1)), "segs/out")
	g.stop()
}

// BenchmarkGRO: 64 flows of 1448-byte TCP segments (1514-byte frames, a
// timestamp option) or UDP datagrams, bursts of 32, each frame first
// copied into a buffer (as the DPDK anchor's harness copies it into an
// mbuf). Over a chaining Store (mbufs) unless the name says copy. One b.N
// is one burst.
func BenchmarkGRO(b *testing.B) {
	runs32 := groStream(b, false, false, 64, 64, 1448, 32)
	rr := groStream(b, false, false, 64, 64, 1448, 1)
	perBurst := DefaultGROConfig()
	perBurst.Timeout = 0
	held := DefaultGROConfig()
	us := time.Microsecond
	b.Run("tcp4-runs32", func(b *testing.B) { benchGRO(b, perBurst, runs32, us, false) })
	b.Run("tcp4-runs32-copy", func(b *testing.B) { benchGRO(b, perBurst, runs32, us, true) })
	b.Run("tcp4-interleaved", func(b *testing.B) { benchGRO(b, perBurst, rr, us, false) })
	b.Run("tcp4-interleaved-held", func(b *testing.B) { benchGRO(b, held, rr, us, false) })
	b.Run("tcp6-runs32", func(b *testing.B) { benchGRO(b, perBurst, groStream(b, false, true, 64, 64, 1448, 32), us, false) })
	b.Run("udp4-runs32", func(b *testing.B) { benchGRO(b, perBurst, groStream(b, true, false, 64, 64, 1448, 32), us, false) })
	// 64-byte payloads: the frame copy is small, the engine's per-segment
	// cost shows. With Layouts from the caller, as cmd/grobench gives.
	small := groStream(b, false, false, 64, 64, 64, 32)
	b.Run("tcp4-runs32-small", func(b *testing.B) { benchGROLayouts(b, perBurst, small, us, false, false) })
	b.Run("tcp4-runs32-small-layout", func(b *testing.B) { benchGROLayouts(b, perBurst, small, us, false, true) })
}

// BenchmarkReassembly: a 64 KiB datagram (65535 IP bytes) from 1480-byte
// fragments (45), fed in bursts of 32, over a chaining Store unless the
// name says copy. One b.N is one datagram.
func BenchmarkReassembly(b *testing.B) {
	for _, c := range []struct {
		name string
		s    dgSpec
		size int
		copy bool
	}{
		{"ipv4-64KiB-1480", dgSpec{size: 65535 - 28, id: 1}, 1480, false},
		{"ipv4-64KiB-1480-copy", dgSpec{size: 65535 - 28, id: 1}, 1480, true},
		{"ipv6-64KiB-1448", dgSpec{v6: true, size: 65535 - 8, id: 1}, 1448, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := newReasmBench(b, makeDgram(b, c.s), c.size, c.copy)
			r.datagram()
			r.outs = 0
			b.ResetTimer()
			for range b.N {
				r.datagram()
			}
			b.StopTimer()
			if r.outs != b.N {
				b.Fatalf("%d datagrams for %d", r.outs, b.N)
			}
			b.SetBytes(65535)
			b.ReportMetric(float64(b.N*len(r.frames))/b.Elapsed().Seconds(), "fragments/s")
		})
	}
}
