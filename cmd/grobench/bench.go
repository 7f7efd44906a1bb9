package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/offloadpmd/offloadpmd/offload/assembly"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// mode is what the loop does after parsing a burst.
type mode uint8

const (
	modeCopy    mode = iota // nothing: the harness's own cost
	modeGRO                 // GRO, segments trusted good (--gro-no-verify)
	modeGROCsum             // checksums verified, then GRO
)

func (m mode) String() string {
	switch m {
	case modeGRO:
		return "gro"
	case modeGROCsum:
		return "grocsum"
	}
	return "copy"
}

func parseMode(s string) (mode, error) {
	for _, m := range []mode{modeCopy, modeGRO, modeGROCsum} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, usagef("bad mode %q: want copy, gro or grocsum (gro_bench's groctx and gso have no grobench counterpart)", s)
}

// Pool as gro_bench makes it: 16384 mbufs, cache 256, a data room of the
// longest frame plus headroom, at least DPDK's default.
const (
	poolMbufs = 16384
	poolCache = 256
)

// dataRoom is the mbuf data room for frames of up to maxLen bytes.
func dataRoom(maxLen int) (uint16, error) {
	room := max(maxLen+pmd.DefaultHeadroom, pmd.DefaultDataRoom)
	if room > 0xffff {
		return 0, fmt.Errorf("a %d-byte frame does not fit an mbuf (data room at most %d with %d bytes of headroom)",
			maxLen, 0xffff, pmd.DefaultHeadroom)
	}
	return uint16(room), nil
}

// newPool creates the benchmark's mbuf pool.
func newPool(name string, maxLen int) (*pmd.Mempool, error) {
	room, err := dataRoom(maxLen)
	if err != nil {
		return nil, err
	}
	p, err := pmd.NewMempool(pmd.MempoolConfig{Name: name, Size: poolMbufs, Cache: poolCache, DataRoom: room, Socket: -1})
	if err != nil {
		return nil, fmt.Errorf("pool: %w (%d mbufs of %d bytes: is -m large enough?)", err, poolMbufs, room)
	}
	return p, nil
}

// bench is one run's working set, all allocated by newBench.
type bench struct {
	mode   mode
	frames [][]byte
	burst  int
	pool   *pmd.Mempool
	// stream allocates each burst (RxAlloc: rte_pktmbuf_alloc_bulk) and
	// frees what the previous one dropped (rte_pktmbuf_free_bulk), in
	// one cgo call per burst. It is bound to no port: nothing is ever
	// queued for TX.
	stream *pmd.Stream
	store  *pmd.MbufStore
	gro    *assembly.GRO

	in       []assembly.Input
	verdicts []assembly.Verdict
	out      []assembly.Output
	one      [1][]byte // a single-segment packet's view, for VerifyL4
}

// groConfig is the engine's configuration: the defaults (64 flows, 64
// segments, 64 KiB), with Timeout 0 so that Flush lets everything go at
// the end of each burst, as librte_gro's lightweight mode does.
func groConfig() assembly.GROConfig {
	cfg := assembly.DefaultGROConfig()
	cfg.Timeout = 0
	return cfg
}

func newBench(m mode, frames [][]byte, burst int, pool *pmd.Mempool) (*bench, error) {
	if burst < 1 || burst > pmd.BurstMax {
		return nil, fmt.Errorf("burst %d outside 1..%d", burst, pmd.BurstMax)
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("no frames")
	}
	s, err := pmd.NewStream(pmd.StreamConfig{Burst: uint16(burst), RxMode: pmd.RxAlloc, AllocPool: pool, Socket: -1})
	if err != nil {
		return nil, err
	}
	cfg := groConfig()
	b := &bench{
		mode: m, frames: frames, burst: burst, pool: pool,
		stream:   s,
		store:    pmd.NewMbufStore(s),
		in:       make([]assembly.Input, burst),
		verdicts: make([]assembly.Verdict, burst),
		// Receive needs 2 per input; Flush at most one per flow.
		out: make([]assembly.Output, 2*burst+cfg.Flows),
	}
	if m != modeCopy {
		if b.gro, err = assembly.NewGRO(b.store, cfg); err != nil {
			s.Close()
			return nil, err
		}
	}
	return b, nil
}

// close frees the stream (after flushing what it still has to free).
func (b *bench) close() {
	if b.stream != nil {
		b.stream.Close()
		b.stream = nil
	}
}

// result is what a run measured.
type result struct {
	bursts            uint64
	inPkts, inBytes   uint64
	outPkts, outBytes uint64
	bad               uint64 // grocsum: inputs whose IPv4 or L4 checksum is bad
	secs              float64
	mallocs           uint64 // Go heap allocations while the loop ran
	stats             assembly.GROStats
}

// line is gro_bench's output line, plus go_mallocs; scripts/bench-offload.sh
// reads it by its keys.
func (r *result) line(m mode, pcap string, frames, burst int) string {
	dt := r.secs
	out := r.outPkts
	if out == 0 {
		out = 1
	}
	return fmt.Sprintf("mode=%s pcap=%s frames=%d burst=%d secs=%.2f in_Mpps=%.3f in_Gbps=%.3f out_Mpps=%.3f out_Gbps=%.3f merge_ratio=%.2f bad_csum=%d go_mallocs=%d",
		m, pcap, frames, burst, dt, float64(r.inPkts)/dt/1e6, float64(r.inBytes)*8/dt/1e9,
		float64(r.outPkts)/dt/1e6, float64(r.outBytes)*8/dt/1e9, float64(r.inPkts)/float64(out), r.bad, r.mallocs)
}

// run runs the loop for secs seconds, or, if maxBursts > 0, for exactly
// that many bursts (tests). As in gro_bench, the clock is read every 64
// bursts. Call it on an EAL lcore's thread.
func (b *bench) run(secs float64, maxBursts uint64) (result, error) {
	var r result
	s, frames, burst := b.stream, b.frames, b.burst
	nfr, idx := len(frames), 0
	verify := b.mode == modeGROCsum
	trust := checksum.Good // gro: what --gro-no-verify assumes, of both checksums
	if verify {
		trust = checksum.Unknown
	}
	dur := time.Duration(secs * float64(time.Second))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	t0 := time.Now()
	t1 := t0
	var err error
	for {
		if maxBursts > 0 {
			if r.bursts == maxBursts {
				t1 = time.Now()
				break
			}
		} else if r.bursts&63 == 0 {
			if t1 = time.Now(); t1.Sub(t0) >= dur {
				break
			}
		}
		r.bursts++
		// Frees the previous burst's output, allocates this one.
		if s.Poll() != burst {
			err = fmt.Errorf("burst %d: allocating %d mbufs failed (%d of %d in use)", r.bursts, burst, b.pool.InUse(), b.pool.Size())
			break
		}
		pkts := s.Rx()
		for i, m := range pkts {
			f := frames[idx]
			if idx++; idx == nfr {
				idx = 0
			}
			copy(m.Room(), f)
			m.SetFrame(len(f))
			r.inBytes += uint64(len(f))
			in := &b.in[i]
			in.Pkt, in.L4Csum, in.IPCsum, in.Parsed = pmd.Handle(m), trust, trust, true
			data := m.Data()
			l := &in.Layout
			if header.ParseHeadInto(data, len(data), l) != header.OK {
				// The engine parses a zero Layout itself, finds the
				// packet malformed and passes it through.
				*l = header.Layout{}
				continue
			}
			if !verify {
				continue
			}
			ipBad := l.L3 == header.L3IPv4 && checksum.VerifyIPv4(header.IPv4(data[l.L3Off():])) != checksum.Good
			st := checksum.Unknown
			if l.L4Len > 0 {
				b.one[0] = data
				st = checksum.VerifyL4(b.one[:], l)
			}
			if ipBad || st == checksum.Bad {
				r.bad++
			}
			in.L4Csum = st
			if l.L3 == header.L3IPv4 && !ipBad {
				in.IPCsum = checksum.Good // verified: GRO need not again
			}
		}
		r.inPkts += uint64(burst)
		if b.gro == nil {
			for _, m := range pkts {
				r.outBytes += uint64(m.PktLen())
			}
			r.outPkts += uint64(burst)
			s.FreeRx(burst)
			continue
		}
		now := int64(r.bursts) // any non-decreasing clock: Timeout is 0
		k := b.gro.Receive(now, b.in[:burst], b.verdicts[:burst], b.out)
		for b.gro.Held() > 0 {
			j := b.gro.Flush(now, b.out[k:])
			if j == 0 {
				break
			}
			k += j
		}
		for _, o := range b.out[:k] {
			m := pmd.HandleMbuf(o.Pkt)
			r.outBytes += uint64(m.PktLen())
			s.Drop(m)
		}
		r.outPkts += uint64(k)
		if b.gro.Held() != 0 {
			err = fmt.Errorf("burst %d: GRO still holds %d packets after Flush", r.bursts, b.gro.Held())
			break
		}
	}
	runtime.ReadMemStats(&ms)
	r.mallocs = ms.Mallocs - mallocs
	r.secs = t1.Sub(t0).Seconds()
	if b.gro != nil {
		// Nothing is held after a burst; a failed one may leave some.
		for k := b.gro.FlushAll(b.out); k > 0; k = b.gro.FlushAll(b.out) {
			for _, o := range b.out[:k] {
				s.Drop(pmd.HandleMbuf(o.Pkt))
			}
		}
		r.stats = b.gro.Stats()
	}
	s.Flush() // the last burst's output (the next Poll would have)
	return r, err
}
