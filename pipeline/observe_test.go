package pipeline

import (
	"bytes"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/assembly"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// collect drains f's observer until it has given want records (or 5 s
// pass), then once more after a pause so that extra records show.
func collect(t *testing.T, f *Forwarder, want int) []Record {
	t.Helper()
	var recs []Record
	take := func(r *Record) { recs = append(recs, *r) }
	waitFor(5*time.Second, func() bool { f.DrainObserved(take); return len(recs) >= want })
	time.Sleep(30 * time.Millisecond)
	f.DrainObserved(take)
	return recs
}

// byKind splits records by kind.
func byKind(recs []Record) map[RecordKind][]Record {
	m := map[RecordKind][]Record{}
	for _, r := range recs {
		m[r.Kind] = append(m[r.Kind], r)
	}
	return m
}

// describe is a trace's events, one per line, for failure messages.
func describe(r *Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "trace %d (port %d/queue %d, %d bytes):", r.Trace, r.Port, r.Queue, r.PktLen)
	for _, e := range r.Events[:r.NEvents] {
		fmt.Fprintf(&b, "\n  %s: %s", e.Stage, e)
	}
	return b.String()
}

// expectEvents checks that a trace's events are want, in order.
func expectEvents(t *testing.T, r *Record, want ...Event) {
	t.Helper()
	got := r.Events[:r.NEvents]
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i] == want[i]
	}
	if !ok {
		var w strings.Builder
		for _, e := range want {
			fmt.Fprintf(&w, "\n  %s: %s", e.Stage, e)
		}
		t.Errorf("%s\nwant:%s", describe(r), w.String())
	}
}

// TestObserveVerbose forwards packets between net_ring ports with io
// forwarding at each verbose level: nothing is recorded (or even
// allocated) at 0; 1 records every received packet with its RX port and
// queue and bytes, 2 every sent one with its TX port and queue, 3 both.
func TestObserveVerbose(t *testing.T) {
	r := newRig(t, 4096)
	a, aRx, _ := ringPort(t, "obsv_a", r.pool)
	b, _, bTx := ringPort(t, "obsv_b", r.pool)
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	sent := 0
	send := func(frames [][]byte) {
		inject(t, aRx, r.pool, frames)
		sent += len(frames)
		if !waitFor(5*time.Second, func() bool { n, _ := sink.seen(); return n == sent }) {
			n, _ := sink.seen()
			t.Fatalf("%d packets out of %d", n, sent)
		}
	}
	frames := [][]byte{udpFrame(t, 1, 60), udpFrame(t, 2, 300), udpFrame(t, 3, 1400)}

	send(frames)
	if n := f.DrainObserved(func(*Record) {}); n != 0 || f.obs.ready {
		t.Fatalf("verbose 0: %d records, rings allocated %v", n, f.obs.ready)
	}
	for _, level := range []int{1, 2, 3, 0} {
		if err := f.Observer().SetVerbose(level); err != nil {
			t.Fatal(err)
		}
		send(frames)
		want := map[RecordKind]bool{RecordReceived: level == 1 || level == 3, RecordSent: level >= 2}
		n := 0
		for _, w := range want {
			if w {
				n += len(frames)
			}
		}
		got := byKind(collect(t, f, n))
		for kind, on := range want {
			rs := got[kind]
			if !on {
				if len(rs) != 0 {
					t.Errorf("verbose %d: %d records of kind %d", level, len(rs), kind)
				}
				continue
			}
			if len(rs) != len(frames) {
				t.Errorf("verbose %d: %d records of kind %d, want %d", level, len(rs), kind, len(frames))
				continue
			}
			port := a.ID()
			if kind == RecordSent {
				port = b.ID()
			}
			for i, rec := range rs {
				fr := frames[i]
				if rec.Port != port || rec.Queue != 0 || rec.PktLen != uint32(len(fr)) || rec.NbSegs != 1 || rec.Trace != 0 ||
					!bytes.Equal(rec.Frame(), fr[:min(len(fr), RecordDataMax)]) {
					t.Errorf("verbose %d, kind %d, packet %d: port %d/queue %d, %d bytes (%d kept), nb_segs %d, bytes equal %v; want port %d/queue 0, %d bytes",
						level, kind, i, rec.Port, rec.Queue, rec.PktLen, rec.Captured, rec.NbSegs, bytes.Equal(rec.Frame(), fr[:min(len(fr), RecordDataMax)]), port, len(fr))
				}
			}
		}
		if len(got[RecordTrace]) != 0 {
			t.Errorf("verbose %d: %d trace records", level, len(got[RecordTrace]))
		}
	}
	if st := total(f); st.Counters[ObserverRecordsLost] != 0 {
		t.Errorf("records lost: %s", st.nonZero())
	}
}

// tsoMbuf is a 4000-byte-payload TCP packet of flow id asking for TSO at
// 1448 and its checksums (3 segments), as an OS hands it to a NIC.
func tsoMbuf(t *testing.T, r *e2eRig, id int) *pmd.Mbuf {
	fl := e2eFlow{id: id, mss: 1448}
	fr := fl.frame(t, 0, bytes.Repeat([]byte{0x5a}, 4000), uint16(id), true)
	fl.spoil(fr)
	m := chainOf(t, r.pool, fr, 2048)
	fl.request(m, 4000)
	return m
}

func plainMbuf(t *testing.T, r *e2eRig, seq int) *pmd.Mbuf {
	m := r.pool.Alloc()
	if m == nil || !m.SetData(udpFrame(t, seq, 100)) {
		t.Fatal("cannot build an mbuf")
	}
	return m
}

// TestObserveTrace traces packets that bring TX requests through a
// net_ring port with io forwarding: exactly the next n packets are
// traced, each with every stage's decision: a TSO request done in
// software (3 segments, checksums in software), a packet with no request,
// and a TSO request the port does not enable (refused, counted).
func TestObserveTrace(t *testing.T) {
	r := newRig(t, 4096)
	a, aRx, _ := ringPort(t, "obst_a", r.pool)
	b, _, bTx := ringPort(t, "obst_b", r.pool)
	r.publish(a, offload.Change{EnableTx: allCsums | allSegs})
	r.publish(b, offload.Change{})
	r.off.Requests[a.ID()] = true
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	obs := f.Observer()

	if err := obs.Trace(2); err != nil {
		t.Fatal(err)
	}
	enqueue(t, aRx, []*pmd.Mbuf{tsoMbuf(t, r, 1), plainMbuf(t, r, 2), plainMbuf(t, r, 3), tsoMbuf(t, r, 4)})
	if !waitFor(5*time.Second, func() bool { n, _ := sink.seen(); return n == 3+1+1+3 }) {
		t.Fatalf("packets out: %s", total(f).nonZero())
	}
	recs := byKind(collect(t, f, 2))
	tr := recs[RecordTrace]
	if len(tr) != 2 || len(recs) != 1 {
		t.Fatalf("%d trace records (%d kinds), want 2", len(tr), len(recs))
	}
	if obs.Tracing() || obs.TracePending() != 0 {
		t.Errorf("still tracing after the 2 traces: pending %d", obs.TracePending())
	}
	noRx := uint32(checksum0)
	tso, plain := tr[0], tr[1]
	if tso.Trace+1 != plain.Trace || tso.Port != a.ID() || tso.PktLen != 14+20+20+4000 || tso.NbSegs != 2 || tso.TSOSegsz != 1448 ||
		tso.OlFlags&offload.OlTxTCPSeg == 0 {
		t.Errorf("trace records: %+v", tso)
	}
	expectEvents(t, &tso,
		Event{Stage: StageValidate, Outcome: OutAccepted, Value: 1<<offload.TaskTSO | 1<<offload.TaskIPv4Cksum | 1<<offload.TaskL4Cksum},
		Event{Stage: StageRxCksum, Outcome: OutDevice, Value: noRx},
		Event{Stage: StageEngine, Outcome: OutKept},
		Event{Stage: StageTx, Outcome: OutSoftware, Task: offload.TaskTSO},
		Event{Stage: StageTx, Outcome: OutSoftware, Task: offload.TaskIPv4Cksum},
		Event{Stage: StageTx, Outcome: OutSoftware, Task: offload.TaskL4Cksum},
		Event{Stage: StageSegment, Outcome: OutSegmented, Value: 3},
		Event{Stage: StageFate, Outcome: OutQueued, Port: b.ID(), Value: 3},
	)
	expectEvents(t, &plain,
		Event{Stage: StageValidate, Outcome: OutNone},
		Event{Stage: StageRxCksum, Outcome: OutDevice, Value: noRx},
		Event{Stage: StageEngine, Outcome: OutKept},
		Event{Stage: StageTx, Outcome: OutNone},
		Event{Stage: StageFate, Outcome: OutQueued, Port: b.ID(), Value: 1},
	)

	// TSO no longer enabled on the port the requests come from.
	r.publish(a, offload.Change{EnableTx: allCsums})
	if err := obs.Trace(1); err != nil {
		t.Fatal(err)
	}
	enqueue(t, aRx, []*pmd.Mbuf{tsoMbuf(t, r, 5), plainMbuf(t, r, 6)})
	tr = byKind(collect(t, f, 1))[RecordTrace]
	if len(tr) != 1 {
		t.Fatalf("%d trace records, want 1", len(tr))
	}
	c := int16(Refused(offload.RefDisabled))
	expectEvents(t, &tr[0],
		Event{Stage: StageValidate, Outcome: OutRefused, Task: offload.TaskTSO, Reason: uint8(offload.RefDisabled)},
		Event{Stage: StageFate, Outcome: OutDropped, Counter: c},
	)
	if got := tr[0].Events[0].String() + " / " + tr[0].Events[1].String(); got != "tso refused: disabled (refused-task-tso) / dropped: refused-disabled" {
		t.Errorf("events read %q", got)
	}
	if st := total(f); st.Counters[RefusedTask(offload.TaskTSO)] != 1 || st.Counters[Refused(offload.RefDisabled)] != 1 {
		t.Errorf("counters: %s", st.nonZero())
	}
}

// checksum0 is the rx-cksum value of a packet whose RX flags say nothing.
const checksum0 = 0

// TestObserveTraceGRO traces two TCP segments of one flow through
// software GRO: the first is held, then flushed as the merged packet and
// sent; the second ends merged into it.
func TestObserveTraceGRO(t *testing.T) {
	r := newRig(t, 4096)
	a, aRx, _ := ringPort(t, "obsg_a", r.pool)
	b, _, bTx := ringPort(t, "obsg_b", r.pool)
	r.publish(a, offload.Change{EnableRx: offload.RxTCPLRO, SoftwareRx: offload.RxTCPLRO})
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	if err := f.Observer().Trace(2); err != nil {
		t.Fatal(err)
	}
	fl := e2eFlow{id: 7, mss: 1000}
	pay := bytes.Repeat([]byte{0x77}, 2000)
	inject(t, aRx, r.pool, [][]byte{fl.frame(t, 0, pay[:1000], 1, false), fl.frame(t, 1000, pay[1000:], 2, false)})
	if !waitFor(5*time.Second, func() bool { n, _ := sink.seen(); return n == 1 }) {
		t.Fatalf("packets out: %s", total(f).nonZero())
	}
	tr := byKind(collect(t, f, 2))[RecordTrace]
	if len(tr) != 2 {
		t.Fatalf("%d trace records, want 2", len(tr))
	}
	// The first segment starts the held packet; the second's trace ends
	// first (in the burst it arrived).
	head, merged := tr[0], tr[1]
	if head.Trace > merged.Trace {
		head, merged = merged, head
	}
	expectEvents(t, &merged,
		Event{Stage: StageValidate, Outcome: OutNone},
		Event{Stage: StageRxCksum, Outcome: OutDevice},
		Event{Stage: StageGRO, Outcome: OutMerged},
		Event{Stage: StageFate, Outcome: OutEnded},
	)
	expectEvents(t, &head,
		Event{Stage: StageValidate, Outcome: OutNone},
		Event{Stage: StageRxCksum, Outcome: OutDevice},
		Event{Stage: StageGRO, Outcome: OutHeld},
		Event{Stage: StageGRO, Outcome: OutFlushed, Task: offload.Task(assembly.KindTCPv4), Reason: uint8(assembly.FlushTimeout), Value: 2},
		Event{Stage: StageEngine, Outcome: OutKept},
		Event{Stage: StageFate, Outcome: OutQueued, Port: b.ID(), Value: 1},
	)
}

// pipelined builds engine e over one stream a -> b in pipeline mode with
// both halves on the one worker lcore the tests have (RX half first, so
// the lcore stops as an RX lcore and drains the ring), and starts it.
func (r *e2eRig) pipelined(e *Engine, a, b *pmd.EthPort) *Forwarder {
	r.t.Helper()
	w := r.eal.Workers()[0]
	plan := Plan{Ports: []uint16{a.ID(), b.ID()}, Streams: []StreamPlan{{RxPort: a.ID(), TxPort: b.ID()}},
		Lcores: []LcorePlan{{Lcore: w, Streams: []int{0}}}}
	built, err := BuildPipelined(r.eal, plan, e, r.pool, r.off, func(StreamPlan) StreamSpec {
		return StreamSpec{PeerMAC: e2eDstMAC, TxMAC: e2eSrcMAC, Burst: 32}
	}, false, []uint{w})
	if err != nil {
		r.t.Fatal(err)
	}
	var halves []*Stream
	for _, l := range built.Lcores() {
		halves = append(halves, l.Streams...)
	}
	f := NewForwarder(r.eal, e, []*Lcore{{ID: w, Streams: halves}}, false)
	f.logical = built.logical
	r.t.Cleanup(func() {
		if err := f.Close(); err != nil {
			r.t.Error(err)
		}
	})
	if err := f.Start(); err != nil {
		r.t.Fatal(err)
	}
	return f
}

// TestObservePipelined traces and dumps in pipeline mode: the RX half
// records what it receives, the TX half what it sends, and a trace
// crosses from one to the other: validated on the RX half, segmented on
// the TX half, one record.
func TestObservePipelined(t *testing.T) {
	r := newRig(t, 4096)
	a, aRx, _ := ringPort(t, "obsp_a", r.pool)
	b, _, bTx := ringPort(t, "obsp_b", r.pool)
	r.publish(a, offload.Change{EnableTx: allCsums | allSegs})
	r.publish(b, offload.Change{})
	r.off.Requests[a.ID()] = true
	sink := newSink(t, bTx)
	f := r.pipelined(&IOEngine, a, b)
	obs := f.Observer()
	if err := obs.SetVerbose(3); err != nil {
		t.Fatal(err)
	}
	if err := obs.Trace(1); err != nil {
		t.Fatal(err)
	}
	enqueue(t, aRx, []*pmd.Mbuf{tsoMbuf(t, r, 11), plainMbuf(t, r, 12)})
	if !waitFor(5*time.Second, func() bool { n, _ := sink.seen(); return n == 4 }) {
		t.Fatalf("packets out: %s", total(f).nonZero())
	}
	recs := byKind(collect(t, f, 2+4+1))
	if len(recs[RecordReceived]) != 2 || len(recs[RecordSent]) != 4 || len(recs[RecordTrace]) != 1 {
		t.Fatalf("%d received, %d sent, %d trace records; want 2, 4, 1", len(recs[RecordReceived]), len(recs[RecordSent]), len(recs[RecordTrace]))
	}
	for _, rec := range recs[RecordSent] {
		if rec.Port != b.ID() || rec.PktLen > 1514 {
			t.Errorf("sent record: port %d, %d bytes", rec.Port, rec.PktLen)
		}
	}
	expectEvents(t, &recs[RecordTrace][0],
		Event{Stage: StageValidate, Outcome: OutAccepted, Value: 1<<offload.TaskTSO | 1<<offload.TaskIPv4Cksum | 1<<offload.TaskL4Cksum},
		Event{Stage: StageRxCksum, Outcome: OutDevice},
		Event{Stage: StageEngine, Outcome: OutKept},
		Event{Stage: StagePipeline, Outcome: OutHandedOver},
		Event{Stage: StageTx, Outcome: OutSoftware, Task: offload.TaskTSO},
		Event{Stage: StageTx, Outcome: OutSoftware, Task: offload.TaskIPv4Cksum},
		Event{Stage: StageTx, Outcome: OutSoftware, Task: offload.TaskL4Cksum},
		Event{Stage: StageSegment, Outcome: OutSegmented, Value: 3},
		Event{Stage: StageFate, Outcome: OutQueued, Port: b.ID(), Value: 3},
	)
}

// TestObserverDoesNotAllocate runs software TSO at full speed (net_pcap
// infinite_rx looped to itself) with verbose 3 and a trace of every
// packet, draining now and then: records go into preallocated memory, so
// the process allocates nothing per burst.
func TestObserverDoesNotAllocate(t *testing.T) {
	var flows []e2eFlow
	for i := range 4 {
		flows = append(flows, e2eFlow{id: 400 + i, v6: i%2 == 1, mss: 512})
	}
	tr := newTraffic(t, flows, []int{1400, 300, 1200}, false)
	r := newRig(t, 8192)
	in := filepath.Join(t.TempDir(), "in.pcap")
	writePcap(t, in, tr.frames())
	p, err := pmd.ProbeVdev("net_pcap_obsalloc,rx_pcap=" + in + ",infinite_rx=1")
	if err != nil {
		t.Fatal(err)
	}
	r.startWith(p, r.publish(p, offload.Change{EnableTx: allCsums | allSegs, SoftwareTx: allCsums | allSegs}))
	r.off.SetCsum(p.ID(), CsumSettings{TSOSegsz: 512})
	f := r.start(&CsumEngine, [2]*pmd.EthPort{p, p})
	obs := f.Observer()
	if err := obs.SetVerbose(3); err != nil {
		t.Fatal(err)
	}
	if err := obs.Trace(1 << 40); err != nil {
		t.Fatal(err)
	}
	records := 0
	count := func(*Record) { records++ }
	time.Sleep(200 * time.Millisecond)
	f.DrainObserved(count)
	before := total(f)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range 30 {
		time.Sleep(10 * time.Millisecond)
		f.DrainObserved(count)
	}
	runtime.ReadMemStats(&m1)
	after := total(f)
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	rx := after.RxPackets - before.RxPackets
	if rx < 1000 || records == 0 {
		t.Fatalf("only %d packets in, %d records: %s", rx, records, after.nonZero())
	}
	if n := m1.Mallocs - m0.Mallocs; n > 20 {
		t.Errorf("%d heap allocations while %d packets went in with verbose 3 and tracing", n, rx)
	}
	t.Logf("%d packets in, %d records, %d lost, %d allocations", rx, records, after.Counters[ObserverRecordsLost]-before.Counters[ObserverRecordsLost], m1.Mallocs-m0.Mallocs)
}
