package assembly

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

// ident is a flow as the test sees it: what the specs vary among the
// fields of the engine's flow key.
type ident struct {
	udp, v6, vlan bool
	flow          int
}

func identOf(b *built) ident { return ident{b.udp, b.v6, b.vlan, b.flow} }

// gotOut is an output resolved to the inputs in it.
type gotOut struct {
	m   []int
	why FlushReason
}

// groRunner feeds inputs to a GRO engine and checks every output against
// a model built from the verdicts: a Held input starts its flow's packet,
// a Merged one joins it. Each output must be exactly one packet of the
// model (or an input passed through), byte for byte as the reference
// builds it, leave after the flow's earlier outputs, and be a legal merge
// according to the specs. Outputs are freed once checked.
type groRunner struct {
	t       testing.TB
	store   testStore
	g       *GRO
	ins     []*built
	raw     []bool // inputs that are not spec frames (fuzzed bytes)
	v       []Verdict
	byH     map[pkt.Handle]int
	cur     map[ident]int
	group   map[int][]int
	lastOut map[ident]int
	covered []bool
	got     []gotOut
	outs    []Output
	vs      []Verdict
	in      []Input
}

func newGRORunner(t testing.TB, cfg GROConfig, st testStore) *groRunner {
	if st == nil {
		st = &pkt.SliceStore{}
	}
	g, err := NewGRO(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &groRunner{t: t, store: st, g: g, byH: map[pkt.Handle]int{}, cur: map[ident]int{},
		group: map[int][]int{}, lastOut: map[ident]int{}}
}

// burst hands segs to the engine at now, then calls Flush(now).
func (r *groRunner) burst(now int64, segs []*built, raw []bool) {
	r.t.Helper()
	base := len(r.ins)
	r.in = r.in[:0]
	for k, b := range segs {
		h := r.store.Put(append([]byte(nil), b.frame...))
		r.byH[h] = base + k
		st := b.status()
		if raw != nil && raw[k] {
			st = checksum.Bad
		}
		in := Input{Pkt: h, L4Csum: st}
		if k%2 == 0 { // every other input with the caller's own parse
			var sg [1][]byte
			if segs := r.store.Segs(h, sg[:0]); len(segs) > 0 &&
				header.ParseHeadInto(segs[0], r.store.Len(h), &in.Layout) == header.OK {
				in.Parsed = true
			} else {
				in.Layout = header.Layout{}
			}
		}
		r.in = append(r.in, in)
		r.ins = append(r.ins, b)
		r.raw = append(r.raw, raw != nil && raw[k])
		r.covered = append(r.covered, false)
		r.v = append(r.v, Verdict{})
	}
	r.vs = append(r.vs[:0], make([]Verdict, len(segs))...)
	r.outs = append(r.outs[:0], make([]Output, 2*len(segs))...)
	n := r.g.Receive(now, r.in, r.vs, r.outs)
	for k, vd := range r.vs {
		i := base + k
		r.v[i] = vd
		id := identOf(r.ins[i])
		if r.raw[i] {
			if vd.Fate != Passed {
				r.t.Fatalf("input %d (raw, checksum bad): %v %v", i, vd.Fate, vd.Reason)
			}
			continue
		}
		switch vd.Fate {
		case Held:
			r.cur[id] = i
			r.group[i] = []int{i}
		case Merged:
			h, ok := r.cur[id]
			if !ok {
				r.t.Fatalf("input %d merged into no held packet of its flow", i)
			}
			r.group[h] = append(r.group[h], i)
			delete(r.byH, r.in[k].Pkt)
		case Passed:
			if vd.Reason == ReasonNone {
				r.t.Fatalf("input %d passed without a reason", i)
			}
		default:
			r.t.Fatalf("input %d: GRO dropped it", i)
		}
	}
	r.take(r.outs[:n])
	r.flush(now)
}

func (r *groRunner) flush(now int64) {
	r.t.Helper()
	out := make([]Output, 4)
	for {
		n := r.g.Flush(now, out)
		r.take(out[:n])
		if n < len(out) {
			return
		}
	}
}

func (r *groRunner) flushAll() {
	r.t.Helper()
	out := make([]Output, 3)
	for {
		n := r.g.FlushAll(out)
		r.take(out[:n])
		if n == 0 {
			break
		}
	}
	if r.g.Held() != 0 {
		r.t.Fatalf("%d held after FlushAll", r.g.Held())
	}
}

func (r *groRunner) take(outs []Output) {
	r.t.Helper()
	for _, o := range outs {
		i, ok := r.byH[o.Pkt]
		if !ok {
			r.t.Fatalf("output %v is no packet the test gave", o)
		}
		got := r.store.Bytes(o.Pkt)
		var m []int
		switch r.v[i].Fate {
		case Passed:
			m = []int{i}
			if o.Segs != 1 || o.Kind != KindNone || o.Flush != FlushNone || o.L4Csum != r.in0(i) || !bytes.Equal(got, r.ins[i].frame) {
				r.t.Fatalf("input %d passed through changed: %v", i, o)
			}
		case Held:
			m = r.group[i]
			r.checkMerged(o, m, got)
		default:
			r.t.Fatalf("output %v of input %d %v", o, i, r.v[i].Fate)
		}
		for _, k := range m {
			if r.covered[k] {
				r.t.Fatalf("input %d is in two outputs", k)
			}
			r.covered[k] = true
		}
		if !r.raw[i] && !(r.v[i].Fate == Passed && unkeyed(r.v[i].Reason)) {
			id := identOf(r.ins[i])
			if last, ok := r.lastOut[id]; ok && m[0] < last {
				r.t.Fatalf("flow %+v: output of inputs %v overtook input %d", id, m, last)
			}
			r.lastOut[id] = m[len(m)-1]
		}
		r.got = append(r.got, gotOut{m, o.Flush})
		delete(r.byH, o.Pkt)
		r.store.Free(o.Pkt)
	}
}

// unkeyed reports whether a packet passed for a reason found before the
// engine knew its flow: it may overtake that flow's held packet.
func unkeyed(r Reason) bool {
	switch r {
	case ReasonNotIP, ReasonMalformed, ReasonNotTCPUDP, ReasonDisabled, ReasonFragment,
		ReasonBadIPChecksum, ReasonExtHeader, ReasonHeadersTooLong:
		return true
	}
	return false
}

// in0 is the checksum status input i was given.
func (r *groRunner) in0(i int) checksum.Status {
	if r.raw[i] {
		return checksum.Bad
	}
	return r.ins[i].status()
}

func (r *groRunner) checkMerged(o Output, m []int, got []byte) {
	r.t.Helper()
	segs := make([]*built, len(m))
	for k, i := range m {
		segs[k] = r.ins[i]
	}
	f := segs[0]
	if int(o.Segs) != len(m) || o.L4Csum != checksum.Good || o.Flush == FlushNone {
		r.t.Fatalf("output %v of inputs %v", o, m)
	}
	if err := mergeLegal(segs); err != nil {
		r.t.Fatalf("inputs %v merged: %v", m, err)
	}
	if len(m) == 1 {
		if o.Kind != KindNone || o.SegSize != 0 ||
			!bytes.Equal(got, f.frame) && !bytes.Equal(got, f.frame[:f.shape.l2+f.shape.ipLen]) {
			r.t.Fatalf("lone held input %d changed: %v", m[0], o)
		}
		return
	}
	want := KindTCPv4
	switch {
	case f.udp:
		want = KindUDPL4
	case f.v6:
		want = KindTCPv6
	}
	if o.Kind != want || int(o.SegSize) != f.n {
		r.t.Fatalf("output %v of inputs %v: want kind %v segsize %d", o, m, want, f.n)
	}
	if exp := refMerge(segs); !bytes.Equal(got, exp) {
		r.t.Fatalf("inputs %v merged wrong:\n got %x\nwant %x", m, got[:min(len(got), 120)], exp[:min(len(exp), 120)])
	}
	for _, s := range segs {
		if s.corrupt {
			return // the merged checksum carries the error; tested apart
		}
	}
	refVerify(r.t, got)
}

// finish checks that every input left exactly once, the counters add up
// and no packet leaked.
func (r *groRunner) finish() {
	r.t.Helper()
	r.flushAll()
	for i, c := range r.covered {
		if !c {
			r.t.Fatalf("input %d (%v) never left", i, r.v[i])
		}
	}
	st := r.g.Stats()
	var passed, flushed uint64
	for _, n := range st.Passed {
		passed += n
	}
	for _, n := range st.Flushed {
		flushed += n
	}
	multi := 0
	for _, g := range r.got {
		if len(g.m) > 1 {
			multi++
		}
	}
	if st.In != uint64(len(r.ins)) || st.In != st.Held+st.Merged+passed || flushed != st.Held || st.Out != uint64(multi) {
		r.t.Fatalf("counters: %+v (inputs %d, merged outputs %d)", st, len(r.ins), multi)
	}
	if r.store.Live() != 0 {
		r.t.Fatalf("%d packets leaked", r.store.Live())
	}
}

// mergeLegal checks, from the specs alone, that segs may be one GRO packet
// (Linux's rules, as GRO documents them).
func mergeLegal(segs []*built) error {
	f := segs[0]
	for k, s := range segs {
		last := k == len(segs)-1
		switch {
		case s.bad:
			return fmt.Errorf("segment %d: checksum not good", k)
		case s.n == 0:
			return fmt.Errorf("segment %d: no payload", k)
		case !s.udp && s.flags&(header.TCPFlagSYN|header.TCPFlagRST|header.TCPFlagURG) != 0:
			return fmt.Errorf("segment %d: flags %#x", k, s.flags)
		case !s.udp && !last && s.flags&(header.TCPFlagFIN|header.TCPFlagPSH) != 0 && len(segs) > 1:
			return fmt.Errorf("segment %d: FIN or PSH not last", k)
		case s.n > f.n || !last && s.n != f.n:
			return fmt.Errorf("segment %d: %d bytes after %d", k, s.n, f.n)
		}
		if k == 0 {
			continue
		}
		p := segs[k-1]
		a, b := s.sp, f.sp
		switch {
		case identOf(s) != identOf(f):
			return fmt.Errorf("segment %d: another flow", k)
		case a.ttl != b.ttl || a.tos != b.tos || a.df != b.df || a.ipopt != b.ipopt || a.ext != b.ext ||
			a.label != b.label || a.routing || a.zeroCsum != b.zeroCsum:
			return fmt.Errorf("segment %d: IP or UDP fields differ", k)
		case !s.udp && (a.ack != b.ack || a.win != b.win || a.ts != b.ts || a.noACK != b.noACK ||
			(a.flags^b.flags)&^(header.TCPFlagFIN|header.TCPFlagPSH|header.TCPFlagCWR) != 0 || a.flags&header.TCPFlagCWR != 0):
			return fmt.Errorf("segment %d: TCP fields differ", k)
		case !s.udp && s.seq != p.seq+uint32(p.n):
			return fmt.Errorf("segment %d: seq %d after %d+%d", k, s.seq, p.seq, p.n)
		case !s.v6 && s.id != f.id+uint16(k) && !(f.df && s.id == f.id && (len(segs) < 2 || segs[1].id == f.id)):
			return fmt.Errorf("segment %d: IP ID %d after %d", k, s.id, f.id)
		}
	}
	return nil
}

// groCase is a scenario: inputs (bursts are runs of equal arrival time,
// each followed by Flush at that time), then Flush at idle if set, then
// FlushAll. verdicts has a letter per input (Passed, Held, Merged); out
// lists the outputs in order: the inputs in each and why it left.
type groCase struct {
	store    testStore
	name     string
	cfg      func(*GROConfig)
	segs     []sp
	idle     int64
	verdicts string
	out      []gotOut
}

func o(why FlushReason, m ...int) gotOut { return gotOut{m, why} }

func seq(from, to int) []int {
	r := []int{}
	for i := from; i <= to; i++ {
		r = append(r, i)
	}
	return r
}

func (c *groCase) run(t *testing.T) *groRunner {
	t.Helper()
	cfg := DefaultGROConfig()
	if c.cfg != nil {
		c.cfg(&cfg)
	}
	r := newGRORunner(t, cfg, c.store)
	for i := 0; i < len(c.segs); {
		j := i
		var burst []*built
		for ; j < len(c.segs) && c.segs[j].at == c.segs[i].at; j++ {
			burst = append(burst, build(t, c.segs[j]))
		}
		r.burst(c.segs[i].at, burst, nil)
		i = j
	}
	if c.idle != 0 {
		r.flush(c.idle)
	}
	r.finish()
	if got := verdicts(r.v); got != c.verdicts {
		t.Errorf("verdicts %s, want %s", got, c.verdicts)
	}
	if fmt.Sprint(r.got) != fmt.Sprint(c.out) {
		t.Errorf("outputs\n got %v\nwant %v", r.got, c.out)
	}
	return r
}

const (
	psh = header.TCPFlagPSH
	fin = header.TCPFlagFIN
	syn = header.TCPFlagSYN
	rst = header.TCPFlagRST
	urg = header.TCPFlagURG
	ece = header.TCPFlagECE
	cwr = header.TCPFlagCWR
	us  = int64(time.Microsecond)
)

// with is s changed by f.
func with(s sp, f func(*sp)) sp { f(&s); return s }

// edit changes segment i of a list.
func edit(l []sp, i int, f func(*sp)) []sp { f(&l[i]); return l }

func TestGROScenarios(t *testing.T) {
	tcp := sp{n: 1000, seq: 100, ack: 7, id: 50}
	tcp6 := with(tcp, func(s *sp) { s.v6 = true })
	udp := sp{udp: true, n: 1000, id: 9}
	udp6 := with(udp, func(s *sp) { s.v6 = true })
	flow := func(s sp, f int) sp { s.flow = f; return s }
	cases := []groCase{
		{name: "in-order run merges until FlushAll", segs: train(tcp, 4), verdicts: "HMMM",
			out: []gotOut{o(FlushAll, 0, 1, 2, 3)}},
		{name: "PSH is merged last and ends the packet", segs: edit(train(tcp, 4), 2, func(s *sp) { s.flags = psh }),
			verdicts: "HMMH", out: []gotOut{o(FlushFlags, 0, 1, 2), o(FlushAll, 3)}},
		{name: "FIN is merged last", segs: edit(train(tcp, 3), 2, func(s *sp) { s.flags = fin | psh }),
			verdicts: "HMM", out: []gotOut{o(FlushFlags, 0, 1, 2)}},
		{name: "PSH alone passes", segs: []sp{with(tcp, func(s *sp) { s.flags = psh })}, verdicts: "P",
			out: []gotOut{o(FlushNone, 0)}},
		{name: "SYN with data flushes and passes", segs: edit(train(tcp, 2), 1, func(s *sp) { s.flags = syn }),
			verdicts: "HP", out: []gotOut{o(FlushMismatch, 0), o(FlushNone, 1)}},
		{name: "RST flushes and passes", segs: cat(train(tcp, 2), []sp{with(tcp, func(s *sp) { s.seq += 2000; s.n = 0; s.flags = rst })}),
			verdicts: "HMP", out: []gotOut{o(FlushUnmergeable, 0, 1), o(FlushNone, 2)}},
		{name: "URG flushes and passes", segs: edit(train(tcp, 3), 2, func(s *sp) { s.flags = urg }),
			verdicts: "HMP", out: []gotOut{o(FlushMismatch, 0, 1), o(FlushNone, 2)}},
		{name: "CWR starts a new packet", segs: edit(train(tcp, 3), 1, func(s *sp) { s.flags = cwr }),
			verdicts: "HHM", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1, 2)}},
		{name: "ECE must match", segs: edit(train(tcp, 2), 0, func(s *sp) { s.flags = ece }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "gap flushes", segs: edit(train(tcp, 2), 1, func(s *sp) { s.seq += 1 }),
			verdicts: "HH", out: []gotOut{o(FlushOrder, 0), o(FlushAll, 1)}},
		{name: "retransmission flushes", segs: cat(train(tcp, 2), []sp{with(tcp, func(s *sp) { s.id += 2 })}),
			verdicts: "HMH", out: []gotOut{o(FlushOrder, 0, 1), o(FlushAll, 2)}},
		{name: "larger segment flushes", segs: []sp{with(tcp, func(s *sp) { s.n = 500 }), with(tcp, func(s *sp) { s.seq += 500; s.id++ })},
			verdicts: "HH", out: []gotOut{o(FlushLarger, 0), o(FlushAll, 1)}},
		{name: "smaller segment is merged last", segs: cat(edit(train(tcp, 3), 2, func(s *sp) { s.n = 400 }), []sp{with(tcp, func(s *sp) { s.seq += 2400; s.id += 3 })}),
			verdicts: "HMMH", out: []gotOut{o(FlushShort, 0, 1, 2), o(FlushAll, 3)}},
		{name: "odd-size segments", segs: edit(train(with(tcp, func(s *sp) { s.n = 999 }), 4), 3, func(s *sp) { s.n = 501 }),
			verdicts: "HMMM", out: []gotOut{o(FlushShort, 0, 1, 2, 3)}},
		{name: "ACK must match", segs: edit(train(tcp, 2), 1, func(s *sp) { s.ack++ }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "window must match", segs: edit(train(tcp, 2), 1, func(s *sp) { s.win = 9 }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "TTL must match", segs: edit(train(tcp, 2), 1, func(s *sp) { s.ttl = 9 }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "ToS must match", segs: edit(train(tcp, 2), 1, func(s *sp) { s.tos = 1 }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "DF must match", segs: edit(train(tcp, 2), 1, func(s *sp) { s.df = true }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "equal IP options merge", segs: train(with(tcp, func(s *sp) { s.ipopt = 1 }), 3),
			verdicts: "HMM", out: []gotOut{o(FlushAll, 0, 1, 2)}},
		{name: "IP options must match", segs: edit(train(with(tcp, func(s *sp) { s.ipopt = 1 }), 2), 1, func(s *sp) { s.ipopt = 2 }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "equal timestamps merge", segs: train(with(tcp, func(s *sp) { s.ts = 5 }), 3),
			verdicts: "HMM", out: []gotOut{o(FlushAll, 0, 1, 2)}},
		{name: "TCP options must match", segs: edit(train(with(tcp, func(s *sp) { s.ts = 5 }), 3), 2, func(s *sp) { s.ts = 6 }),
			verdicts: "HMH", out: []gotOut{o(FlushMismatch, 0, 1), o(FlushAll, 2)}},
		{name: "IP ID must increment", segs: edit(train(tcp, 2), 1, func(s *sp) { s.id += 5 }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "fixed IP ID with DF merges", segs: []sp{with(tcp, func(s *sp) { s.df = true }), with(tcp, func(s *sp) { s.df = true; s.seq += 1000 }), with(tcp, func(s *sp) { s.df = true; s.seq += 2000 })},
			verdicts: "HMM", out: []gotOut{o(FlushAll, 0, 1, 2)}},
		{name: "fixed IP ID without DF does not", segs: []sp{tcp, with(tcp, func(s *sp) { s.seq += 1000 })},
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "IP ID sequence is kept", segs: edit(train(with(tcp, func(s *sp) { s.df = true }), 3), 2, func(s *sp) { s.id-- }),
			verdicts: "HMH", out: []gotOut{o(FlushMismatch, 0, 1), o(FlushAll, 2)}},
		{name: "unverified checksum flushes and passes", segs: edit(train(tcp, 3), 1, func(s *sp) { s.bad = true }),
			verdicts: "HPH", out: []gotOut{o(FlushUnmergeable, 0), o(FlushNone, 1), o(FlushAll, 2)}},
		{name: "pure ACK flushes and passes", segs: cat(train(tcp, 2), []sp{with(tcp, func(s *sp) { s.seq += 2000; s.n = 0 })}),
			verdicts: "HMP", out: []gotOut{o(FlushUnmergeable, 0, 1), o(FlushNone, 2)}},
		{name: "64 KiB size limit", segs: train(with(tcp, func(s *sp) { s.n = 1448 }), 47),
			verdicts: "H" + string(bytes.Repeat([]byte("M"), 44)) + "HM", out: []gotOut{o(FlushSize, seq(0, 44)...), o(FlushAll, 45, 46)}},
		{name: "IPv6 64 KiB size limit", segs: train(with(tcp6, func(s *sp) { s.n = 1448 }), 46),
			verdicts: "H" + string(bytes.Repeat([]byte("M"), 44)) + "H", out: []gotOut{o(FlushSize, seq(0, 44)...), o(FlushAll, 45)}},
		{name: "MaxIPLen", cfg: func(c *GROConfig) { c.MaxIPLen = 40 + 2500 }, segs: train(tcp, 3),
			verdicts: "HMH", out: []gotOut{o(FlushSize, 0, 1), o(FlushAll, 2)}},
		{name: "MaxSegs", cfg: func(c *GROConfig) { c.MaxSegs = 3 }, segs: train(tcp, 4),
			verdicts: "HMMH", out: []gotOut{o(FlushSize, 0, 1, 2), o(FlushAll, 3)}},
		{name: "timeout after merging", segs: []sp{tcp, with(tcp, func(s *sp) { s.seq += 1000; s.id++; s.at = 10 * us }), with(tcp, func(s *sp) { s.seq += 2000; s.id += 2; s.at = 60 * us })},
			verdicts: "HMM", out: []gotOut{o(FlushTimeout, 0, 1, 2)}},
		{name: "timeout with no traffic", segs: train(tcp, 2), idle: 50 * us,
			verdicts: "HM", out: []gotOut{o(FlushTimeout, 0, 1)}},
		{name: "not yet timed out", segs: train(tcp, 2), idle: 50*us - 1,
			verdicts: "HM", out: []gotOut{o(FlushAll, 0, 1)}},
		{name: "timeout 0 merges within a burst", cfg: func(c *GROConfig) { c.Timeout = 0 },
			segs:     cat(train(tcp, 2), []sp{with(tcp, func(s *sp) { s.seq += 2000; s.id += 2; s.at = 1 })}),
			verdicts: "HMH", out: []gotOut{o(FlushTimeout, 0, 1), o(FlushTimeout, 2)}},
		{name: "a full table evicts the oldest", cfg: func(c *GROConfig) { c.Flows = 2 },
			segs:     []sp{flow(tcp, 0), flow(tcp, 1), flow(tcp, 2), with(tcp, func(s *sp) { s.seq += 1000; s.id++ })},
			verdicts: "HHHH", out: []gotOut{o(FlushEvict, 0), o(FlushEvict, 1), o(FlushAll, 2), o(FlushAll, 3)}},
		{name: "interleaved flows", segs: interleave(train(flow(tcp, 0), 3), train(flow(tcp, 1), 3)),
			verdicts: "HHMMMM", out: []gotOut{o(FlushAll, 0, 2, 4), o(FlushAll, 1, 3, 5)}},
		{name: "interleaved IPv4, IPv6 and UDP", segs: interleave(train(flow(tcp, 1), 2), train(flow(tcp6, 1), 2), train(flow(udp, 1), 2)),
			verdicts: "HHHMMM", out: []gotOut{o(FlushAll, 0, 3), o(FlushAll, 1, 4), o(FlushAll, 2, 5)}},
		{name: "IPv6 run", segs: train(tcp6, 3), verdicts: "HMM", out: []gotOut{o(FlushAll, 0, 1, 2)}},
		{name: "IPv6 extension headers and timestamps merge", segs: train(with(tcp6, func(s *sp) { s.ext = 3; s.ts = 9 }), 3),
			verdicts: "HMM", out: []gotOut{o(FlushAll, 0, 1, 2)}},
		{name: "IPv6 extension headers must match", segs: edit(train(with(tcp6, func(s *sp) { s.ext = 3 }), 2), 1, func(s *sp) { s.ext = 4 }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "IPv6 flow label must match", segs: edit(train(tcp6, 2), 1, func(s *sp) { s.label = 5 }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "IPv6 hop limit must match", segs: edit(train(tcp6, 2), 1, func(s *sp) { s.ttl = 5 }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "IPv6 traffic class must match", segs: edit(train(tcp6, 2), 1, func(s *sp) { s.tos = 4 }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "IPv6 routing header with segments left passes", segs: train(with(tcp6, func(s *sp) { s.routing = true }), 2),
			verdicts: "PP", out: []gotOut{o(FlushNone, 0), o(FlushNone, 1)}},
		{name: "VLAN run merges", segs: train(with(tcp, func(s *sp) { s.vlan = true }), 2),
			verdicts: "HM", out: []gotOut{o(FlushAll, 0, 1)}},
		{name: "tagged and untagged are two flows", segs: []sp{with(tcp, func(s *sp) { s.vlan = true }), with(tcp, func(s *sp) { s.seq += 1000; s.id++ })},
			verdicts: "HH", out: []gotOut{o(FlushAll, 0), o(FlushAll, 1)}},
		{name: "padded small segments merge", segs: train(with(tcp, func(s *sp) { s.n = 2; s.pad = 4 }), 3),
			verdicts: "HMM", out: []gotOut{o(FlushAll, 0, 1, 2)}},
		{name: "TCP GRO off", cfg: func(c *GROConfig) { c.TCP = false }, segs: train(tcp, 2),
			verdicts: "PP", out: []gotOut{o(FlushNone, 0), o(FlushNone, 1)}},
		{name: "UDP train", segs: train(udp, 4), verdicts: "HMMM", out: []gotOut{o(FlushAll, 0, 1, 2, 3)}},
		{name: "UDP shorter datagram ends the train", segs: edit(train(udp, 4), 2, func(s *sp) { s.n = 300 }),
			verdicts: "HMMH", out: []gotOut{o(FlushShort, 0, 1, 2), o(FlushAll, 3)}},
		{name: "UDP larger datagram starts a train", segs: []sp{with(udp, func(s *sp) { s.n = 500 }), with(udp, func(s *sp) { s.id++ })},
			verdicts: "HH", out: []gotOut{o(FlushLarger, 0), o(FlushAll, 1)}},
		{name: "UDP without checksum", segs: train(with(udp, func(s *sp) { s.zeroCsum = true }), 3),
			verdicts: "HMM", out: []gotOut{o(FlushAll, 0, 1, 2)}},
		{name: "UDP checksum presence must match", segs: edit(train(udp, 2), 1, func(s *sp) { s.zeroCsum = true }),
			verdicts: "HH", out: []gotOut{o(FlushMismatch, 0), o(FlushAll, 1)}},
		{name: "UDP over IPv6 with extension headers", segs: edit(train(with(udp6, func(s *sp) { s.ext = 1 }), 3), 2, func(s *sp) { s.n = 11 }),
			verdicts: "HMM", out: []gotOut{o(FlushShort, 0, 1, 2)}},
		{name: "UDP of 64 datagrams", segs: train(with(udp, func(s *sp) { s.n = 100 }), 65),
			verdicts: "H" + string(bytes.Repeat([]byte("M"), 63)) + "H", out: []gotOut{o(FlushSize, seq(0, 63)...), o(FlushAll, 64)}},
		{name: "UDP without payload passes", segs: []sp{udp, with(udp, func(s *sp) { s.n = 0; s.id++ })},
			verdicts: "HP", out: []gotOut{o(FlushUnmergeable, 0), o(FlushNone, 1)}},
		{name: "UDP GRO off", cfg: func(c *GROConfig) { c.UDP = false }, segs: train(udp, 2),
			verdicts: "PP", out: []gotOut{o(FlushNone, 0), o(FlushNone, 1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t) })
		// Again with packets in two segments, headers in the first.
		c.store = &chainStore{split: 150}
		t.Run(c.name+" chained", func(t *testing.T) { c.run(t) })
	}
}

// interleave takes one from each list in turn.
func interleave(ls ...[]sp) []sp {
	var r []sp
	for i := 0; ; i++ {
		added := false
		for _, l := range ls {
			if i < len(l) {
				r = append(r, l[i])
				added = true
			}
		}
		if !added {
			return r
		}
	}
}

// TestGROPassReasons checks the reason an input passes through with.
func TestGROPassReasons(t *testing.T) {
	tcp := sp{n: 100, seq: 1, ack: 1}
	frag := build(t, tcp)
	fragFrame := append([]byte(nil), frag.frame...)
	fragFrame[14+refV4Flags] |= 0x20 // MF
	ipSum := append([]byte(nil), build(t, tcp).frame...)
	ipSum[14+refV4Checksum]++
	arp := make([]byte, 60)
	arp[12], arp[13] = 0x08, 0x06
	cases := []struct {
		name  string
		frame []byte
		st    checksum.Status
		cfg   func(*GROConfig)
		want  Reason
	}{
		{"not IP", arp, checksum.Good, nil, ReasonNotIP},
		{"runt", make([]byte, 10), checksum.Good, nil, ReasonMalformed},
		{"fragment", fragFrame, checksum.Good, nil, ReasonFragment},
		{"IPv4 header checksum", ipSum, checksum.Good, nil, ReasonBadIPChecksum},
		{"checksum unknown", build(t, tcp).frame, checksum.Unknown, nil, ReasonChecksum},
		{"checksum bad", build(t, tcp).frame, checksum.Bad, nil, ReasonChecksum},
		{"no payload", build(t, with(tcp, func(s *sp) { s.n = 0 })).frame, checksum.Good, nil, ReasonNoPayload},
		{"SYN", build(t, with(tcp, func(s *sp) { s.flags = syn })).frame, checksum.Good, nil, ReasonTCPFlags},
		{"routing", build(t, with(tcp, func(s *sp) { s.v6, s.routing = true, true })).frame, checksum.Good, nil, ReasonExtHeader},
		{"disabled", build(t, tcp).frame, checksum.Good, func(c *GROConfig) { c.TCP = false }, ReasonDisabled},
	}
	for _, c := range cases {
		cfg := DefaultGROConfig()
		if c.cfg != nil {
			c.cfg(&cfg)
		}
		st := &pkt.SliceStore{}
		g, _ := NewGRO(st, cfg)
		in := []Input{{Pkt: st.Put(c.frame), L4Csum: c.st}}
		v, out := make([]Verdict, 1), make([]Output, 2)
		if n := g.Receive(0, in, v, out); n != 1 || v[0] != (Verdict{Passed, c.want}) || g.Stats().Passed[c.want] != 1 {
			t.Errorf("%s: %d outputs, %v %v, want passed %v", c.name, n, v[0].Fate, v[0].Reason, c.want)
		}
	}
}

// TestGROLayout: a Layout from the caller is used, and one that does not
// fit the packet is refused rather than trusted.
func TestGROLayout(t *testing.T) {
	segs := train(sp{n: 100, seq: 1, ack: 1, ts: 3}, 2)
	st := &pkt.SliceStore{}
	g, _ := NewGRO(st, DefaultGROConfig())
	v, out := make([]Verdict, 2), make([]Output, 4)
	var in []Input
	for _, s := range segs {
		b := build(t, s)
		l, m := header.Parse(b.frame)
		if m != header.OK {
			t.Fatal(m)
		}
		in = append(in, Input{Pkt: st.Put(b.frame), L4Csum: checksum.Good, Layout: l})
	}
	if g.Receive(0, in, v, out); verdicts(v) != "HM" {
		t.Fatalf("with layouts: %v", v)
	}
	for _, f := range []func(*header.Layout){
		func(l *header.Layout) { l.L4Len += 4 },
		func(l *header.Layout) { l.L4Proto = header.ProtoUDP; l.L4Len = header.UDPLen },
		func(l *header.Layout) { l.L3Len += 4 },
		func(l *header.Layout) { l.PktLen += 10 },
		func(l *header.Layout) { l.L2Len = 18 },
		func(l *header.Layout) { l.L3Len, l.L4Len = -l.L2Len, l.L4Len+l.L2Len+l.L3Len },
		func(l *header.Layout) { l.L3Len, l.L4Len = l.L3Len+l.L4Len+8, -8 },
		func(l *header.Layout) { l.L3Len, l.L4Len = l.L3Len+l.L4Len+100, -100 },
		func(l *header.Layout) { l.L2Len, l.L3Len = 200, l.L3Len-186 },
	} {
		bad := in[0].Layout
		f(&bad)
		in2 := []Input{{Pkt: st.Put(build(t, segs[0]).frame), L4Csum: checksum.Good, Layout: bad}}
		if n := g.Receive(0, in2, v, out); n != 1 || v[0].Reason != ReasonMalformed {
			t.Fatalf("bad layout %+v: %v", bad, v[0])
		}
	}
	// An IPv6 Layout whose protocol disagrees with the extension chain.
	b6 := build(t, sp{v6: true, ext: 1, n: 100, seq: 1, ack: 1})
	l6, _ := header.Parse(b6.frame)
	l6.L4Proto, l6.L4Len = header.ProtoUDP, header.UDPLen
	in3 := []Input{{Pkt: st.Put(b6.frame), L4Csum: checksum.Good, Layout: l6}}
	if n := g.Receive(0, in3, v, out); n != 1 || v[0].Reason != ReasonMalformed {
		t.Fatalf("IPv6 layout of another protocol: %v", v[0])
	}
}

// TestGROCorruptSegment: a segment reported Good whose checksum is in fact
// wrong leaves the merged checksum wrong: the error is not laundered.
func TestGROCorruptSegment(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		segs := edit(train(sp{v6: v6, n: 700, seq: 1, ack: 1}, 3), 1, func(s *sp) { s.corrupt = true })
		st := &pkt.SliceStore{}
		g, _ := NewGRO(st, DefaultGROConfig())
		var in []Input
		for _, s := range segs {
			in = append(in, Input{Pkt: st.Put(build(t, s).frame), L4Csum: checksum.Good})
		}
		out := make([]Output, 6)
		g.Receive(0, in, make([]Verdict, 3), out)
		if n := g.FlushAll(out); n != 1 || out[0].Segs != 3 {
			t.Fatalf("%v", out[:n])
		}
		b := st.Bytes(out[0].Pkt)
		sh := decode(t, b)
		ip := b[sh.l2:]
		if refSum(refPseudo(v6, ip, 6, len(ip)-sh.l3), ip[sh.l3:]) == 0xffff {
			t.Errorf("v6 %v: merged checksum verifies over a corrupt segment", v6)
		}
	}
}

// TestGROStoreRefuses: when the Store cannot chain more, the packet leaves
// and the segment starts the next. A padded segment is trimmed of its
// padding before the refusal and held so: merging the next one into it
// must not trim it again.
func TestGROStoreRefuses(t *testing.T) {
	for _, c := range []struct {
		name  string
		seg   sp
		limit int
	}{
		{"full", sp{n: 1000, seq: 1, ack: 1}, 14 + 40 + 2500},
		{"padded", sp{n: 1, seq: 1, ack: 1, pad: 5}, 14 + 40 + 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &pkt.SliceStore{Limit: c.limit}
			g, _ := NewGRO(st, DefaultGROConfig())
			var in []Input
			var bs []*built
			for _, s := range train(c.seg, 4) {
				b := build(t, s)
				bs = append(bs, b)
				in = append(in, Input{Pkt: st.Put(append([]byte(nil), b.frame...)), L4Csum: checksum.Good})
			}
			v, out := make([]Verdict, 4), make([]Output, 8)
			n := g.Receive(0, in, v, out)
			n += g.FlushAll(out[n:])
			if verdicts(v) != "HMHM" || n != 2 || out[0].Flush != FlushSize || out[0].Segs != 2 {
				t.Fatalf("%s %v", verdicts(v), out[:n])
			}
			for k, o := range out[:n] {
				if got, want := st.Bytes(o.Pkt), refMerge(bs[2*k:2*k+2]); !bytes.Equal(got, want) {
					t.Errorf("output %d: %x, want %x", k, got, want)
				}
				st.Free(o.Pkt)
			}
			if st.Live() != 0 {
				t.Error("leak")
			}
		})
	}
}

func TestGROConfig(t *testing.T) {
	st := &pkt.SliceStore{}
	for _, f := range []func(*GROConfig){
		func(c *GROConfig) { c.Flows = 0 },
		func(c *GROConfig) { c.Timeout = -1 },
		func(c *GROConfig) { c.MaxIPLen = 65536 },
		func(c *GROConfig) { c.MaxIPLen = 10 },
		func(c *GROConfig) { c.MaxSegs = 1 },
	} {
		c := DefaultGROConfig()
		f(&c)
		if _, err := NewGRO(st, c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if _, err := NewGRO(nil, DefaultGROConfig()); !errors.Is(err, ErrConfig) {
		t.Error("nil store accepted")
	}
}

// TestNames: every enum value has a distinct kebab-case name.
func TestNames(t *testing.T) {
	seen := map[string]bool{}
	check := func(s string) {
		if s == "" || s == "unknown" || seen[s] || bytes.ContainsAny([]byte(s), " _ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Errorf("bad or repeated name %q", s)
		}
		seen[s] = true
	}
	for _, r := range Reasons() {
		check(r.String())
	}
	for _, r := range FlushReasons() {
		check(r.String())
	}
	for k := KindNone; k < numKinds; k++ {
		check(k.String())
	}
	if Reason(200).String() != "unknown" || FlushReason(200).String() != "unknown" || Kind(200).String() != "unknown" || Fate(9).String() != "unknown" {
		t.Error("out-of-range names")
	}
}

// TestHdrSum: the engine's header sum, folded, is checksum.Sum.
func TestHdrSum(t *testing.T) {
	b := make([]byte, 80)
	for i := range b {
		b[i] = byte(i*37 + 11)
	}
	ones := bytes.Repeat([]byte{0xff}, 80)
	for n := range len(b) + 1 {
		for _, x := range [][]byte{b[:n], b[80-n:], ones[:n], make([]byte, n)} {
			if got, want := hdrFold(hdrWords(x)), checksum.Sum(x, 0); got != want {
				t.Errorf("%d bytes %x: hdrFold(hdrWords) %#04x, Sum %#04x", n, x, got, want)
			}
		}
	}
}

// TestGROIPCsum: GRO verifies an IPv4 header checksum unless the caller
// says RX found it Good (Input.IPCsum), as it trusts L4Csum.
func TestGROIPCsum(t *testing.T) {
	ipSum := append([]byte(nil), build(t, sp{n: 100, seq: 1, ack: 1}).frame...)
	ipSum[14+refV4Checksum]++
	for _, c := range []struct {
		st   checksum.Status
		want Verdict
	}{
		{checksum.Unknown, Verdict{Passed, ReasonBadIPChecksum}},
		{checksum.Bad, Verdict{Passed, ReasonBadIPChecksum}},
		{checksum.Good, Verdict{Held, ReasonNone}},
	} {
		st := &pkt.SliceStore{}
		g, _ := NewGRO(st, DefaultGROConfig())
		in := []Input{{Pkt: st.Put(append([]byte(nil), ipSum...)), L4Csum: checksum.Good, IPCsum: c.st}}
		v, out := make([]Verdict, 1), make([]Output, 2)
		if g.Receive(0, in, v, out); v[0] != c.want {
			t.Errorf("IPCsum %v: %v %v, want %v %v", c.st, v[0].Fate, v[0].Reason, c.want.Fate, c.want.Reason)
		}
	}
}
