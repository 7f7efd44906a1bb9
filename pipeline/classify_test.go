package pipeline

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/classify"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// flowRule parses a rule as it follows `flow create <port>`.
func flowRule(t testing.TB, s string) *classify.Rule {
	t.Helper()
	r, err := classify.ParseRule(s)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return r
}

// createRules adds rules to port and returns their IDs.
func createRules(t testing.TB, c *Classifiers, port uint16, rules ...string) []classify.RuleID {
	t.Helper()
	var rs []*classify.Rule
	for _, s := range rules {
		rs = append(rs, flowRule(t, s))
	}
	ids, err := c.Create(port, rs...)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// udpTo is udpFrame(seq, size) sent to UDP port dport (no UDP checksum,
// which IPv4 allows).
func udpTo(t testing.TB, dport uint16, seq, size int) []byte {
	fr := udpFrame(t, seq, size)
	binary.BigEndian.PutUint16(fr[36:], dport)
	binary.BigEndian.PutUint16(fr[40:], 0)
	return fr
}

// outPkt is a sent packet as the next application gets it.
type outPkt struct {
	frame []byte
	flags uint64
	mark  uint32
}

// takeOut takes n packets out of ring r within d (fewer if they do not
// come), keeping their bytes, flags and mark, and frees them.
func takeOut(r *pmd.Ring, n int, d time.Duration) []outPkt {
	b := pmd.NewBurst(512)
	defer b.Close()
	var out []outPkt
	waitFor(d, func() bool {
		for r.Dequeue(b) > 0 {
			for _, m := range b.Pkts() {
				out = append(out, outPkt{m.Bytes(), m.OlFlags(), m.Mark()})
			}
			pmd.FreeBulk(b)
		}
		return len(out) >= n
	})
	return out
}

func dstPort(fr []byte) uint16 { return binary.BigEndian.Uint16(fr[36:]) }

// classifyRig is a rig with flow rules, a ring port a (ingress) forwarding
// to a ring port b with io.
type classifyRig struct {
	*e2eRig
	a, b       *pmd.EthPort
	aRx, bTx   *pmd.Ring
	flows      *Classifiers
	f          *Forwarder
	enableA    offload.Change
	enableB    offload.Change
	startedYet bool
}

func newClassifyRig(t *testing.T, name string, a, b offload.Change) *classifyRig {
	r := &classifyRig{e2eRig: newRig(t, 8192), enableA: a, enableB: b}
	r.flows = NewClassifiers(nil)
	r.off.Flows = r.flows
	r.a, r.aRx, _ = ringPort(t, name+"a", r.pool)
	r.b, _, r.bTx = ringPort(t, name+"b", r.pool)
	r.publish(r.a, a)
	r.publish(r.b, b)
	return r
}

func (r *classifyRig) run() { r.f = r.start(&IOEngine, [2]*pmd.EthPort{r.a, r.b}) }

// TestClassifyActions: ingress rules on a port enabling classify drop,
// count, mark and give a queue fate; unmatched packets pass untouched, in
// order; `flow query` counts hits and bytes; the mempool is whole after.
func TestClassifyActions(t *testing.T) {
	r := newClassifyRig(t, "clsact", offload.Change{EnableRx: offload.RxClassify}, offload.Change{})
	ids := createRules(t, r.flows, r.a.ID(),
		"ingress pattern eth / ipv4 / udp dst is 1000 / end actions count / drop / end",
		"ingress pattern eth / ipv4 / udp dst is 1001 / end actions count / end",
		"ingress pattern eth / ipv4 / udp dst is 1002 / end actions mark id 77 / count / end",
		"ingress pattern eth / ipv4 / udp dst is 1003 / end actions queue index 0 / end",
		"ingress pattern eth / ipv4 / udp dst spec 1000 dst last 1003 / end actions count / end", // shadowed by the others
		"egress pattern eth / ipv4 / udp dst is 1001 / end actions drop / end",                   // another direction: never on RX
	)
	base := r.pool.InUse()
	r.run()
	const n = 50
	var frames [][]byte
	want := map[uint16]int{}
	bytesTo := map[uint16]uint64{}
	for i := range 5 * n {
		port := uint16(999 + i%5) // 999: no rule
		fr := udpTo(t, port, i, 64+i)
		frames = append(frames, fr)
		want[port]++
		bytesTo[port] += uint64(len(fr))
	}
	inject(t, r.aRx, r.pool, frames)
	out := takeOut(r.bTx, 4*n, 5*time.Second)
	if len(out) != 4*n {
		t.Fatalf("%d packets out, want %d: %s", len(out), 4*n, total(r.f).nonZero())
	}
	got := map[uint16]int{}
	j := 0
	for _, fr := range frames {
		if dstPort(fr) == 1000 {
			continue
		}
		o := out[j]
		j++
		if !bytes.Equal(o.frame, fr) {
			t.Fatalf("packet %d changed or out of order", j)
		}
		p := dstPort(o.frame)
		got[p]++
		marked := o.flags&(offload.OlRxFDIR|offload.OlRxFDIRID) == offload.OlRxFDIR|offload.OlRxFDIRID
		if (p == 1002) != marked || p == 1002 && o.mark != 77 {
			t.Errorf("port %d: flags %#x mark %d", p, o.flags, o.mark)
		}
	}
	if got[1000] != 0 || got[999] != n || got[1001] != n || got[1002] != n || got[1003] != n {
		t.Errorf("got %v", got)
	}
	f := r.f
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	st := total(f)
	if st.Counters[ClassifyDrop] != n || st.Counters[ClassifyMarked] != n || st.Counters[ClassifyQueue] != n ||
		st.Counters[ClassifyMatched] != 4*n || st.Dropped() != n {
		t.Errorf("counters: %s", st.nonZero())
	}
	for i, port := range map[int]uint16{0: 1000, 1: 1001, 2: 1002} {
		c, err := r.flows.Query(r.a.ID(), ids[i])
		if err != nil || c.Hits != uint64(want[port]) || c.Bytes != bytesTo[port] {
			t.Errorf("rule %d: %+v, %v; want %d hits, %d bytes", ids[i], c, err, want[port], bytesTo[port])
		}
	}
	if c, err := r.flows.Query(r.a.ID(), ids[4]); err != nil || c.Hits != 0 {
		t.Errorf("shadowed rule: %+v, %v", c, err)
	}
	if _, err := r.flows.Query(r.a.ID(), ids[3]); err == nil {
		t.Error("a rule without count answered a query")
	}
	if _, err := r.flows.Query(r.a.ID(), 99); err != ErrNoRule {
		t.Errorf("query of no rule: %v", err)
	}
	if got := r.pool.InUse(); got != base {
		t.Errorf("mempool in use %d, baseline %d", got, base)
	}
}

// TestClassifyOff: rules on a port whose table does not enable classify
// change nothing.
func TestClassifyOff(t *testing.T) {
	r := newClassifyRig(t, "clsoff", offload.Change{}, offload.Change{})
	createRules(t, r.flows, r.a.ID(), "ingress pattern eth / end actions drop / end")
	r.run()
	inject(t, r.aRx, r.pool, [][]byte{udpTo(t, 1000, 1, 100), udpTo(t, 1001, 2, 100)})
	if out := takeOut(r.bTx, 2, 5*time.Second); len(out) != 2 {
		t.Fatalf("%d packets out, want 2: %s", len(out), total(r.f).nonZero())
	}
}

// TestClassifyRulesAfterStart: a port enables classify with no rule
// yet, and traffic flows (plain forwarding would be possible); a drop rule
// created while forwarding applies to the very next burst.
func TestClassifyRulesAfterStart(t *testing.T) {
	r := newClassifyRig(t, "clslate", offload.Change{EnableRx: offload.RxClassify}, offload.Change{})
	r.run()
	for i := range 2 {
		inject(t, r.aRx, r.pool, [][]byte{udpTo(t, 1000, i, 100)})
		if out := takeOut(r.bTx, 1, 5*time.Second); len(out) != 1 {
			t.Fatalf("before any rule: %d packets out of 1", len(out))
		}
	}
	createRules(t, r.flows, r.a.ID(), "ingress pattern eth / ipv4 / udp dst is 1000 / end actions drop / end")
	inject(t, r.aRx, r.pool, [][]byte{udpTo(t, 1000, 2, 100), udpTo(t, 1001, 3, 100)})
	out := takeOut(r.bTx, 1, 5*time.Second)
	if len(out) != 1 || dstPort(out[0].frame) != 1001 {
		t.Fatalf("after the drop rule: %d packets out, want only the one to 1001", len(out))
	}
	if err := r.f.Stop(); err != nil {
		t.Fatal(err)
	}
	if st := total(r.f); st.Counters[ClassifyDrop] != 1 || st.Counters[DirectForwarded] != 0 {
		t.Errorf("counters: %s; want one classify drop, nothing forwarded directly", st.nonZero())
	}
}

// TestClassifyESP: `esp sa N` encrypts what the rule matches with the SA
// (the port enabling esp_encrypt for its packets' requests); the peer
// decrypts each to the packet that came in; others leave in the clear.
func TestClassifyESP(t *testing.T) {
	alg := esp.AESGCM128
	r := newClassifyRig(t, "clsesp", offload.Change{EnableRx: offload.RxClassify, EnableTx: offload.TxESPEncrypt}, offload.Change{})
	if _, err := r.off.SAs.AddAt(1, espConfig(0x1001, esp.Outbound, esp.Tunnel, alg)); err != nil {
		t.Fatal(err)
	}
	peer := &esp.Registry{}
	if _, err := peer.Add(espConfig(0x1001, esp.Inbound, esp.Tunnel, alg)); err != nil {
		t.Fatal(err)
	}
	rule := flowRule(t, "ingress pattern eth / ipv4 / udp dst is 5000 / end actions esp sa 1 / end")
	if err := r.off.CheckRule(r.a.ID(), rule); err != nil {
		t.Fatal(err)
	}
	if _, err := r.flows.Create(r.a.ID(), rule); err != nil {
		t.Fatal(err)
	}
	if err := r.off.CheckRule(r.a.ID(), flowRule(t, "ingress pattern eth / end actions esp sa 2 / end")); err == nil {
		t.Error("a rule naming a missing SA passed CheckRule")
	}
	r.run()
	var frames [][]byte
	for i := range 6 {
		frames = append(frames, udpTo(t, uint16(5000+i%2), i, 100+50*i))
	}
	inject(t, r.aRx, r.pool, frames)
	out := takeOut(r.bTx, len(frames), 5*time.Second)
	if len(out) != len(frames) {
		t.Fatalf("%d packets out: %s", len(out), total(r.f).nonZero())
	}
	// ESP packets leave after the burst's others.
	var clear, sealed []outPkt
	for _, o := range out {
		if gopacket.NewPacket(o.frame, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeIPSecESP) != nil {
			sealed = append(sealed, o)
		} else {
			clear = append(clear, o)
		}
	}
	if len(sealed) != 3 || len(clear) != 3 {
		t.Fatalf("%d ESP and %d clear packets, want 3 each", len(sealed), len(clear))
	}
	for i, o := range sealed {
		inner, why := espOpen(t, peer, o.frame)
		if why != esp.OK {
			t.Fatalf("ESP packet %d does not decrypt: %v", i, why)
		}
		if !bytes.Equal(inner, frames[2*i]) {
			t.Errorf("ESP packet %d decrypts to another packet", i)
		}
	}
	for i, o := range clear {
		if !bytes.Equal(o.frame, frames[2*i+1]) {
			t.Errorf("clear packet %d changed", i)
		}
	}
	if st := total(r.f); st.Counters[ESPEncrypted] != 3 || st.Counters[ClassifyTasks] != 3 {
		t.Errorf("counters: %s", st.nonZero())
	}
}

// TestClassifyTSO: `tso segsz N` segments the TCP packets a rule matches
// (in software: the port enables tcp_tso for its packets), each segment's
// checksums right; `csum` completes spoiled checksums; a UDP packet the
// tso rule also matches is left whole and counted.
func TestClassifyTSO(t *testing.T) {
	caps := offload.TxTCPTSO | offload.TxIPv4Cksum | offload.TxTCPCksum | offload.TxUDPCksum
	r := newClassifyRig(t, "clstso", offload.Change{EnableRx: offload.RxClassify, EnableTx: caps}, offload.Change{})
	createRules(t, r.flows, r.a.ID(),
		"ingress pattern eth / ipv4 / tcp src is 40021 / end actions tso segsz 1000 / end",
		"ingress pattern eth / ipv4 / udp / end actions csum / tso segsz 1000 / end")
	r.run()
	tcp := e2eFlow{id: 21, mss: 1000}
	big := tcp.frame(t, 0, bytes.Repeat([]byte{0x5a}, 3500), 7, true)
	udp := e2eFlow{id: 22, udp: true}
	small := udp.frame(t, 0, bytes.Repeat([]byte{0xa5}, 300), 8, false)
	udp.spoil(small)
	ms := []*pmd.Mbuf{chainOf(t, r.pool, big, 2048), chainOf(t, r.pool, small, 2048)}
	enqueue(t, r.aRx, ms)
	out := takeOut(r.bTx, 5, 5*time.Second)
	if len(out) != 5 {
		t.Fatalf("%d packets out, want 4 segments and 1 datagram: %s", len(out), total(r.f).nonZero())
	}
	payload := 0
	for i, o := range out {
		d, err := decodeE2E(o.frame) // checks the IP and L4 checksums
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if i < 4 {
			if len(d.payload) > 1000 {
				t.Errorf("segment %d carries %d bytes", i, len(d.payload))
			}
			payload += len(d.payload)
		}
	}
	if payload != 3500 {
		t.Errorf("segments carry %d bytes, want 3500", payload)
	}
	if st := total(r.f); st.Counters[SegOutputs] != 4 || st.Counters[ClassifyTaskSkipped] != 1 || st.Counters[ClassifyTasks] != 2 || st.Dropped() != 0 {
		t.Errorf("counters: %s", st.nonZero())
	}
}

// TestClassifyEgress: egress rules of the TX port drop and count what it
// sends and give it checksum tasks its own table allows; its ingress
// rules and the RX port's egress rules do not apply.
func TestClassifyEgress(t *testing.T) {
	caps := offload.TxIPv4Cksum | offload.TxTCPCksum | offload.TxUDPCksum
	r := newClassifyRig(t, "clseg", offload.Change{}, offload.Change{EnableRx: offload.RxClassify, EnableTx: caps})
	ids := createRules(t, r.flows, r.b.ID(),
		"egress pattern eth / ipv4 / udp dst is 1000 / end actions count / drop / end",
		"egress pattern eth / ipv4 / tcp / end actions csum / count / end",
		"ingress pattern eth / end actions drop / end")
	createRules(t, r.flows, r.a.ID(), "egress pattern eth / end actions drop / end")
	r.run()
	tcp := e2eFlow{id: 31}
	fr := tcp.frame(t, 0, bytes.Repeat([]byte{1}, 500), 9, true)
	tcp.spoil(fr)
	frames := [][]byte{udpTo(t, 1000, 1, 80), fr, udpTo(t, 1001, 2, 90)}
	inject(t, r.aRx, r.pool, frames)
	out := takeOut(r.bTx, 2, 5*time.Second)
	if len(out) != 2 {
		t.Fatalf("%d packets out: %s", len(out), total(r.f).nonZero())
	}
	if _, err := decodeE2E(out[0].frame); err != nil {
		t.Errorf("the TCP packet's checksums were not completed: %v", err)
	}
	if !bytes.Equal(out[1].frame, frames[2]) {
		t.Error("the unmatched packet changed")
	}
	if c, err := r.flows.Query(r.b.ID(), ids[0]); err != nil || c.Hits != 1 || c.Bytes != 80 {
		t.Errorf("drop rule count %+v %v", c, err)
	}
	if c, err := r.flows.Query(r.b.ID(), ids[1]); err != nil || c.Hits != 1 {
		t.Errorf("csum rule count %+v %v", c, err)
	}
	if st := total(r.f); st.Counters[ClassifyDrop] != 1 || st.Counters[SoftwareTask(offload.TaskL4Cksum)] != 1 {
		t.Errorf("counters: %s", st.nonZero())
	}
}

// TestClassifyReplaceUnderTraffic: while two flows pass, rules on one of
// them are created and destroyed over and over (each a new classifier
// swapped in): the other flow loses nothing and its count rule, through
// every swap, counts each of its packets once.
func TestClassifyReplaceUnderTraffic(t *testing.T) {
	r := newClassifyRig(t, "clsswap", offload.Change{EnableRx: offload.RxClassify}, offload.Change{})
	keep := createRules(t, r.flows, r.a.ID(), "ingress pattern eth / ipv4 / udp dst is 2000 / end actions count / end")[0]
	r.run()
	sink := newSink(t, r.bTx)
	const rounds, per = 200, 64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range rounds {
			var ms []*pmd.Mbuf
			for j := range per {
				port := uint16(2000)
				if j%2 == 1 {
					port = 1000
				}
				m := r.pool.Alloc()
				if m == nil || !m.SetData(udpTo(t, port, i*per+j, 64)) {
					t.Error("cannot build an mbuf")
					return
				}
				ms = append(ms, m)
			}
			enqueue(t, r.aRx, ms)
			time.Sleep(200 * time.Microsecond)
		}
	}()
	swaps := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var churn []string
	for i := range 20 {
		churn = append(churn, fmt.Sprintf("ingress pattern eth / ipv4 src is 10.9.%d.1 / udp / end actions count / end", i))
	}
loop:
	for {
		select {
		case <-done:
			break loop
		default:
		}
		ids := createRules(t, r.flows, r.a.ID(),
			"ingress priority 1 pattern eth / ipv4 / udp dst is 1000 / end actions count / drop / end")
		ids = append(ids, createRules(t, r.flows, r.a.ID(), churn...)...)
		time.Sleep(100 * time.Microsecond)
		r.flows.Destroy(r.a.ID(), ids...)
		swaps += 2
	}
	const sent = rounds * per / 2 // of each flow
	if !waitFor(5*time.Second, func() bool {
		n, _ := sink.seen()
		return n >= sent+int(sent-total(r.f).Counters[ClassifyDrop])
	}) {
		t.Logf("waited: %s", total(r.f).nonZero())
	}
	frames := sink.close()
	to2000, to1000 := 0, 0
	for _, fr := range frames {
		switch dstPort(fr) {
		case 2000:
			to2000++
		case 1000:
			to1000++
		}
	}
	st := total(r.f)
	if to2000 != sent {
		t.Errorf("%d of %d packets of the unaffected flow arrived (%d swaps): %s", to2000, sent, swaps, st.nonZero())
	}
	if to1000+int(st.Counters[ClassifyDrop]) != sent || st.Counters[ClassifyDrop] == 0 {
		t.Errorf("flow 1000: %d out, %d dropped, %d sent", to1000, st.Counters[ClassifyDrop], sent)
	}
	if c, err := r.flows.Query(r.a.ID(), keep); err != nil || c.Hits != sent || c.Bytes != 64*sent {
		t.Errorf("count over %d swaps: %+v %v; want %d hits", swaps, c, err, sent)
	}
	if err := r.f.Stop(); err != nil {
		t.Fatal(err)
	}
	r.flows.mu.Lock()
	retired := len(r.flows.retired)
	r.flows.mu.Unlock()
	if c, err := r.flows.Query(r.a.ID(), keep); err != nil || c.Hits != sent {
		t.Errorf("count after stop: %+v %v", c, err)
	}
	r.flows.mu.Lock()
	if n := len(r.flows.retired); n != 0 {
		t.Errorf("%d replaced tables not folded after stop (%d before the query)", n, retired)
	}
	r.flows.mu.Unlock()
	t.Logf("%d swaps", swaps)
}

// TestClassifyCheck: rules the data path cannot honour are refused with a
// reason.
func TestClassifyCheck(t *testing.T) {
	c := NewClassifiers(nil)
	for _, bad := range []struct{ rule, want string }{
		{"pattern eth / end actions drop / end", "no direction"},
		{"egress pattern eth / end actions mark id 1 / end", "mark is an ingress action"},
		{"egress pattern eth / end actions queue index 1 / end", "queue is an ingress action"},
		{"group 1 ingress pattern eth / end actions drop / end", "only group 0"},
		{"ingress pattern eth / end actions esp sa 5000 / end", "SA indices are 0..4095"},
	} {
		_, err := c.Create(0, flowRule(t, bad.rule))
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(bad.want)) {
			t.Errorf("%s: %v, want %q", bad.rule, err, bad.want)
		}
	}
	if ids, err := c.Create(0, flowRule(t, "ingress pattern eth / end actions drop / end"), flowRule(t, "pattern eth / end actions drop / end")); err == nil || ids != nil {
		t.Errorf("a batch with a bad rule was taken: %v %v", ids, err)
	}
	if len(c.List(0)) != 0 {
		t.Error("a refused rule was kept")
	}
}

// classifyAllocRules are TestOffloadStagesDoNotAllocate's rules for port:
// 1,000 5-tuple rules no test packet matches, then ingress rules counting
// and marking IPv4 TCP with checksum tasks, dropping IPv6 TCP, and an
// egress rule counting what the port sends.
func classifyAllocRules(t testing.TB, port uint16) *Classifiers {
	c := NewClassifiers(nil)
	var rules []string
	for i := range 1000 {
		rules = append(rules, fmt.Sprintf("ingress pattern eth / ipv4 src spec 172.%d.%d.0 src prefix 24 dst is 192.0.2.%d / udp dst spec %d dst last %d / end actions count / end",
			16+i%16, i/16, i%250, 1000+i, 1010+i))
	}
	rules = append(rules,
		"ingress pattern eth / ipv4 / tcp / end actions count / mark id 5 / csum / end",
		"ingress pattern eth / ipv6 / tcp / end actions count / drop / end",
		"egress pattern eth / ipv4 / udp / end actions count / end")
	createRules(t, c, port, rules...)
	return c
}

// TestClassifyCounters: the stage's counters have their names, and only
// classify-drop counts drops.
func TestClassifyCounters(t *testing.T) {
	for c, name := range map[Counter]string{ClassifyMatched: "classify-matched", ClassifyDrop: "classify-drop",
		ClassifyMarked: "classify-marked", ClassifyQueue: "classify-queue", ClassifyRSS: "classify-rss",
		ClassifyTasks: "classify-tasks", ClassifyTaskSkipped: "classify-task-skipped"} {
		if c.String() != name || c.IsDrop() != (c == ClassifyDrop) {
			t.Errorf("counter %d: %q, drop %v", c, c, c.IsDrop())
		}
	}
}

// TestClassifyPipelined: in pipeline mode the RX half applies the RX
// port's ingress rules (a drop, a tso attachment) and the TX half the TX
// port's egress rules (a count) and the attached tasks.
func TestClassifyPipelined(t *testing.T) {
	r := newClassifyRig(t, "clspipe",
		offload.Change{EnableRx: offload.RxClassify, EnableTx: offload.TxTCPTSO | offload.TxIPv4Cksum | offload.TxTCPCksum},
		offload.Change{EnableRx: offload.RxClassify})
	createRules(t, r.flows, r.a.ID(),
		"ingress pattern eth / ipv4 / udp dst is 1000 / end actions drop / end",
		"ingress pattern eth / ipv4 / tcp / end actions tso segsz 1000 / end")
	eg := createRules(t, r.flows, r.b.ID(), "egress pattern eth / ipv4 / end actions count / end")[0]
	r.f = r.pipelined(&IOEngine, r.a, r.b)
	tcp := e2eFlow{id: 41, mss: 1000}
	big := tcp.frame(t, 0, bytes.Repeat([]byte{7}, 2500), 3, true)
	ms := []*pmd.Mbuf{chainOf(t, r.pool, big, 2048)}
	for i, port := range []uint16{1000, 1001} {
		m := r.pool.Alloc()
		if m == nil || !m.SetData(udpTo(t, port, i, 100)) {
			t.Fatal("cannot build an mbuf")
		}
		ms = append(ms, m)
	}
	enqueue(t, r.aRx, ms)
	out := takeOut(r.bTx, 4, 5*time.Second)
	if len(out) != 4 {
		t.Fatalf("%d packets out, want 3 segments and a datagram: %s", len(out), total(r.f).nonZero())
	}
	for i, o := range out[:3] {
		if _, err := decodeE2E(o.frame); err != nil {
			t.Errorf("segment %d: %v", i, err)
		}
	}
	if dstPort(out[3].frame) != 1001 {
		t.Error("the datagram to 1001 is not last")
	}
	// Egress rules see packets before the TX tasks: the TCP packet is
	// one hit, before it is segmented.
	if c, err := r.flows.Query(r.b.ID(), eg); err != nil || c.Hits != 2 || c.Bytes != uint64(len(big)+100) {
		t.Errorf("egress count %+v %v, want 2 hits of %d bytes", c, err, len(big)+100)
	}
	if st := total(r.f); st.Counters[ClassifyDrop] != 1 || st.Counters[SegOutputs] != 3 {
		t.Errorf("counters: %s", st.nonZero())
	}
}
