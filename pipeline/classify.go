package pipeline

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/classify"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// Classification in the data path (offload/classify does the matching):
//
//   - Where: a port's flow rules apply while its table enables classify
//     (rx_offload classify, performed in software). Ingress rules judge
//     what the port receives, on RX, after request validation, the DoS
//     filter, ESP decryption, checksum verification and digest
//     verification, before assembly and the engine: rules see the
//     decrypted inner packet (as a NIC with inline IPsec classifies after
//     decryption) with its checksum verdicts, and a dropped packet costs
//     no assembly. Fragments other than the first have no ports to match
//     (reassembly comes later). Egress rules judge what leaves the port,
//     at the TX stage, after the engine and before the TX tasks: they see
//     the packet as the engine made it.
//   - Rules are compiled per port and direction into a classifier the
//     control plane publishes by atomic pointer swap on every flow create,
//     destroy and flush; an lcore loads the port's tables once per burst
//     and never waits. A rule in both directions is in both.
//   - Actions: drop (classify-drop); count (per stream counters,
//     single-writer, folded by rule into the control plane's totals when
//     a classifier is swapped out and the lcores have moved past it, so
//     `flow query` reports hits and bytes since the rule's creation);
//     mark id N (ingress: hash.fdir.hi = N with RTE_MBUF_F_RX_FDIR and
//     RTE_MBUF_F_RX_FDIR_ID, as DPDK's drivers report a MARK; the next
//     DPDK application over a net_ring or vhost port reads it); queue
//     index N and rss (ingress): in a software NIC the device has chosen
//     the RX queue before any rule runs, and a stream's packets never move
//     to another lcore, so these fates leave the packet where it is and
//     count it (classify-queue, classify-rss); passthru: nothing.
//   - offloadpmd's own actions attach TX tasks, as a request would:
//     esp sa N (RTE_MBUF_F_TX_SEC_OFFLOAD and the SA index in
//     opmd_dynfield_esp_sa), digest (opmd_dynflag_tx_digest, appended or
//     in the dynfield as the port's digest configuration says), tso segsz
//     N (TCP_SEG with its lengths and segment size) and csum (the IP and
//     TCP/UDP checksum requests). The lengths come from the packet's
//     headers. A task the packet's headers cannot take (tso on a packet
//     that is not TCP, csum or digest without TCP/UDP, any task on a non-IP
//     frame) is not attached and is counted classify-task-skipped. The
//     attached tasks are then checked and performed by the TX stage like
//     any request: an ingress rule's against the tables of the port it
//     was received on (what that side may ask for, as for brought
//     requests), an egress rule's against the egress port's own.
//   - Counters: classify-matched, classify-drop, classify-marked,
//     classify-queue, classify-rss, classify-tasks, classify-task-skipped.

// flowDir is a direction rules apply to.
type flowDir uint8

const (
	dirIngress flowDir = iota
	dirEgress
	numDirs
)

// RuleCount is a count action's tally: packets and bytes the rule
// matched since it was created.
type RuleCount struct {
	Hits, Bytes uint64
}

// ErrNoRule is returned for a rule ID a port does not have.
var ErrNoRule = errors.New("no such flow rule")

// Classifiers holds every port's flow rules (the control plane's Sets)
// and publishes their compiled tables to the lcores. Its methods are for
// the control plane and are safe for concurrent use; the lcores only load
// the published tables.
type Classifiers struct {
	opt *classify.Options
	gen atomic.Uint64 // publications so far
	tab [offload.MaxPorts][numDirs]atomic.Pointer[clsTable]

	mu      sync.Mutex
	sets    [offload.MaxPorts]*classify.Set
	slots   []*clsSlot // attached streams by slot; nil: free
	retired []*clsTable
	totals  map[*classify.Rule]*RuleCount // folded counts of live count rules
}

// NewClassifiers returns an empty rule base whose classifiers are built
// with opt (nil: defaults).
func NewClassifiers(opt *classify.Options) *Classifiers {
	return &Classifiers{opt: opt, totals: map[*classify.Rule]*RuleCount{}}
}

// clsTable is one port's compiled rules for one direction, as the lcores
// see them. Immutable once published, except the counters.
type clsTable struct {
	port uint16
	c    *classify.Classifier
	acts []clsAction // by rule index (ClassifyIndex)
	// counted are the rules with a count action, by count index; counts
	// holds each attached stream's tallies of them, by slot.
	counted []*classify.Rule
	counts  [][]ruleCounter
	tasks   bool   // a rule attaches TX tasks
	retired uint64 // the generation whose publication replaced it
}

// ruleCounter is one stream's tally of one rule: written by that
// stream's lcore only, read by the control plane.
type ruleCounter struct {
	hits, bytes atomic.Uint64
}

// clsAction is a rule's actions as the stage applies them.
type clsAction struct {
	fate   classify.ActionType // drop, queue, rss, passthru or 0
	count  int32               // count index, -1 for none
	mark   bool
	markID uint32
	tasks  clsTasks
	sa     uint32
	segsz  uint16
}

// clsTasks are the TX tasks a rule attaches.
type clsTasks uint8

const (
	taskESP clsTasks = 1 << iota
	taskDigest
	taskTSO
	taskCsum
)

func actionOf(r *classify.Rule, count int32) clsAction {
	a := clsAction{fate: r.Fate(), count: count}
	for _, x := range r.Actions {
		switch x.Type {
		case classify.ActionMark:
			a.mark, a.markID = true, x.Value
		case classify.ActionESP:
			a.tasks |= taskESP
			a.sa = x.Value
		case classify.ActionDigest:
			a.tasks |= taskDigest
		case classify.ActionTSO:
			a.tasks |= taskTSO
			a.segsz = uint16(x.Value)
		case classify.ActionCsum:
			a.tasks |= taskCsum
		}
	}
	return a
}

// clsSlot is an attached stream's place in the tables' counters, and the
// generation it last loaded tables at (math.MaxUint64 while it is not
// forwarding), which says when a replaced table is no longer written.
type clsSlot struct {
	idx  int
	seen atomic.Uint64
}

// attach gives a stream a slot, republishing the tables with counters for
// it if they have none.
func (c *Classifiers) attach() *clsSlot {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.slots, nil)
	if i < 0 {
		i = len(c.slots)
		c.slots = append(c.slots, nil)
	}
	sl := &clsSlot{idx: i}
	sl.seen.Store(math.MaxUint64)
	c.slots[i] = sl
	for port := range c.tab {
		for d := range numDirs {
			if t := c.tab[port][d].Load(); t != nil && len(t.counted) > 0 && len(t.counts) <= i {
				c.swap(uint16(port), d, t.withSlots(len(c.slots)))
			}
		}
	}
	return sl
}

// detach frees a stream's slot (the stream no longer forwards): its counts
// are folded into the totals and cleared for the slot's next stream.
func (c *Classifiers) detach(sl *clsSlot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	collect := func(t *clsTable) {
		if t == nil || sl.idx >= len(t.counts) {
			return
		}
		for k, r := range t.counted {
			rc := &t.counts[sl.idx][k]
			if tot := c.totals[r]; tot != nil {
				tot.Hits += rc.hits.Load()
				tot.Bytes += rc.bytes.Load()
			}
			rc.hits.Store(0)
			rc.bytes.Store(0)
		}
	}
	for port := range c.tab {
		for d := range numDirs {
			collect(c.tab[port][d].Load())
		}
	}
	for _, t := range c.retired {
		collect(t)
	}
	c.slots[sl.idx] = nil
	c.fold()
}

// withSlots is a copy of t with counters for n slots (t's own stay with
// t, to be folded when it is retired).
func (t *clsTable) withSlots(n int) *clsTable {
	cp := *t
	cp.retired = 0
	cp.counts = make([][]ruleCounter, n)
	for i := range cp.counts {
		cp.counts[i] = make([]ruleCounter, len(t.counted))
	}
	return &cp
}

// build compiles port's rules of direction d into a table (nil: none).
func (c *Classifiers) build(port uint16, d flowDir) *clsTable {
	set := c.sets[port]
	if set == nil || set.Len() == 0 {
		return nil
	}
	all := set.List()
	rules := make([]*classify.Rule, 0, len(all))
	for _, r := range all {
		if d == dirIngress && r.Ingress || d == dirEgress && r.Egress {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return nil
	}
	// List is in creation order within a priority, which is Compile's
	// precedence; the Set's own classifier serves when it holds just these.
	cl := set.Classifier()
	if len(rules) != len(all) {
		cl = classify.Compile(rules, c.opt)
	}
	t := &clsTable{port: port, c: cl, acts: make([]clsAction, cl.Len())}
	for i, r := range cl.Rules() {
		k := int32(-1)
		if _, ok := r.Action(classify.ActionCount); ok {
			k = int32(len(t.counted))
			t.counted = append(t.counted, r)
		}
		t.acts[i] = actionOf(r, k)
		t.tasks = t.tasks || t.acts[i].tasks != 0
	}
	return t.withSlots(len(c.slots))
}

// publish compiles port's rules and swaps them in.
func (c *Classifiers) publish(port uint16) {
	for d := range numDirs {
		c.swap(port, d, c.build(port, d))
	}
	c.fold()
}

// swap publishes t as port's table for d; the old one, if it counted,
// waits in retired until no lcore can still be adding to it.
func (c *Classifiers) swap(port uint16, d flowDir, t *clsTable) {
	old := c.tab[port][d].Swap(t)
	g := c.gen.Add(1)
	pmd.BumpEpoch() // direct streams come back to Go and acknowledge g
	if old != nil && len(old.counted) > 0 {
		// Only its counters wait: the classifier goes when the lcores
		// drop it.
		c.retired = append(c.retired, &clsTable{port: old.port, counted: old.counted, counts: old.counts, retired: g})
	}
}

// fold adds the counts of retired tables no lcore uses any more into the
// totals: every attached stream has loaded its tables since they were
// replaced, or is not forwarding.
func (c *Classifiers) fold() {
	low := uint64(math.MaxUint64)
	for _, sl := range c.slots {
		if sl != nil {
			low = min(low, sl.seen.Load())
		}
	}
	kept := c.retired[:0]
	for _, t := range c.retired {
		if low < t.retired {
			kept = append(kept, t)
			continue
		}
		for k, r := range t.counted {
			tot := c.totals[r]
			if tot == nil {
				continue // destroyed since
			}
			for s := range t.counts {
				tot.Hits += t.counts[s][k].hits.Load()
				tot.Bytes += t.counts[s][k].bytes.Load()
			}
		}
	}
	clear(c.retired[len(kept):])
	c.retired = kept
}

// set returns port's rule set, made on first use.
func (c *Classifiers) set(port uint16) (*classify.Set, error) {
	if int(port) >= len(c.sets) {
		return nil, fmt.Errorf("port %d: flow rules are kept for ports 0..%d", port, len(c.sets)-1)
	}
	if c.sets[port] == nil {
		c.sets[port] = classify.NewSet(c.opt)
	}
	return c.sets[port], nil
}

// Check reports whether r can be created: classify.Validate's checks, a
// direction, and actions that fit it.
func Check(r *classify.Rule) error {
	if err := classify.Validate(r); err != nil {
		return err
	}
	if !r.Ingress && !r.Egress {
		return errors.New("the rule has no direction: give ingress (received packets), egress (sent packets) or both")
	}
	if r.Egress {
		for _, a := range r.Actions {
			switch a.Type {
			case classify.ActionMark, classify.ActionQueue, classify.ActionRSS:
				return fmt.Errorf("%v is an ingress action: a packet being sent has no RX queue or mark to report", a.Type)
			}
		}
	}
	for _, a := range r.Actions {
		switch {
		case a.Type == classify.ActionTSO && a.Value == 0:
			return errors.New("tso segsz 0: want a segment size of 1 to 65535 payload bytes")
		case a.Type == classify.ActionTSO && a.Value > math.MaxUint16:
			return fmt.Errorf("tso segsz %d: want 1 to 65535", a.Value)
		case a.Type == classify.ActionESP && a.Value >= esp.MaxSAs:
			return fmt.Errorf("esp sa %d: SA indices are 0..%d", a.Value, esp.MaxSAs-1)
		}
	}
	return nil
}

// Create adds rules to port (all or, if one is wrong, none), publishes
// the new tables and returns the rules' IDs.
func (c *Classifiers) Create(port uint16, rules ...*classify.Rule) ([]classify.RuleID, error) {
	for i, r := range rules {
		if err := Check(r); err != nil {
			if len(rules) > 1 {
				return nil, fmt.Errorf("rule %d of %d: %w", i+1, len(rules), err)
			}
			return nil, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	set, err := c.set(port)
	if err != nil {
		return nil, err
	}
	ids, _, err := set.AddAll(rules)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if r, _ := set.Rule(id); r != nil {
			if _, ok := r.Action(classify.ActionCount); ok {
				c.totals[r] = &RuleCount{}
			}
		}
	}
	c.publish(port)
	return ids, nil
}

// Destroy deletes port's rules of ids and returns those it deleted.
func (c *Classifiers) Destroy(port uint16, ids ...classify.RuleID) []classify.RuleID {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(port) >= len(c.sets) || c.sets[port] == nil {
		return nil
	}
	set := c.sets[port]
	var gone []*classify.Rule
	for _, id := range ids {
		if r, ok := set.Rule(id); ok {
			gone = append(gone, r)
		}
	}
	done, _ := set.Remove(ids...)
	if len(done) == 0 {
		return nil
	}
	for _, r := range gone {
		delete(c.totals, r)
	}
	c.publish(port)
	return done
}

// Flush deletes every rule of port.
func (c *Classifiers) Flush(port uint16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(port) >= len(c.sets) || c.sets[port] == nil {
		return
	}
	for _, r := range c.sets[port].List() {
		delete(c.totals, r)
	}
	c.sets[port].Flush()
	c.publish(port)
}

// List returns port's rules of the given groups (all if none) in the order
// of testpmd's `flow list`. The rules must not be changed.
func (c *Classifiers) List(port uint16, groups ...uint32) []*classify.Rule {
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(port) >= len(c.sets) || c.sets[port] == nil {
		return nil
	}
	return c.sets[port].List(groups...)
}

// Ports lists the ports that have rules.
func (c *Classifiers) Ports() []uint16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ps []uint16
	for p, s := range c.sets {
		if s != nil && s.Len() > 0 {
			ps = append(ps, uint16(p))
		}
	}
	return ps
}

// Query returns the count of port's rule id: ErrNoRule if there is no
// such rule, an error if it has no count action.
func (c *Classifiers) Query(port uint16, id classify.RuleID) (RuleCount, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var r *classify.Rule
	if int(port) < len(c.sets) && c.sets[port] != nil {
		r, _ = c.sets[port].Rule(id)
	}
	if r == nil {
		return RuleCount{}, ErrNoRule
	}
	tot := c.totals[r]
	if tot == nil {
		return RuleCount{}, fmt.Errorf("flow rule #%d has no count action", id)
	}
	c.fold()
	sum := *tot
	add := func(t *clsTable) {
		if t == nil || t.port != port {
			return
		}
		if k := slices.Index(t.counted, r); k >= 0 {
			for s := range t.counts {
				sum.Hits += t.counts[s][k].hits.Load()
				sum.Bytes += t.counts[s][k].bytes.Load()
			}
		}
	}
	for d := range numDirs {
		add(c.tab[port][d].Load())
	}
	for _, t := range c.retired {
		add(t)
	}
	return sum, nil
}

// CheckRule checks what a rule refers to against the forwarder's
// configuration: an esp action's SA is an outbound one; a digest action's
// algorithm, if it names one, is that of the port's digest. It says
// nothing of tables, which may enable what a rule needs later.
func (o *Offload) CheckRule(port uint16, r *classify.Rule) error {
	for _, a := range r.Actions {
		switch a.Type {
		case classify.ActionESP:
			var sa *esp.SA
			if o.SAs != nil {
				sa = o.SAs.Load().SA(uint16(a.Value))
			}
			switch {
			case sa == nil:
				return fmt.Errorf("esp sa %d: no SA %d (sa add %d ... out ...)", a.Value, a.Value, a.Value)
			case sa.Dir() != esp.Outbound:
				return fmt.Errorf("esp sa %d: SA %d is inbound; packets are encrypted with an outbound SA", a.Value, a.Value)
			}
		case classify.ActionDigest:
			if a.Alg == "" {
				continue
			}
			dc := o.Digests.Load(port)
			switch {
			case dc == nil:
				return fmt.Errorf("digest alg %s: port %d has no digest (digest set %d %s ...)", a.Alg, port, port, a.Alg)
			case dc.Alg.String() != a.Alg:
				return fmt.Errorf("digest alg %s: port %d's digest is %v (a packet's digest is its port's)", a.Alg, port, dc.Alg)
			}
		}
	}
	return nil
}

// classifyEnabled reports whether table t has classification on.
func classifyEnabled(t *offload.Table) bool {
	return t != nil && t.RxBy(offload.RxClassify) == offload.PerformSoftware
}

// clsChunk is how many packets the stage classifies at a time.
const clsChunk = pmd.BurstMax

// clsState is a stream's classification working set, allocated with the
// stream.
type clsState struct {
	ctl     *Classifiers
	slot    *clsSlot
	keys    []classify.Key
	idx     []int32
	layouts []header.Layout
	// egress marks, at the TX stage, the packets whose tasks an egress
	// rule attached (checked against the egress port's table).
	egress []bool
}

func newClsState(ctl *Classifiers) *clsState {
	return &clsState{
		ctl:     ctl,
		slot:    ctl.attach(),
		keys:    make([]classify.Key, clsChunk),
		idx:     make([]int32, clsChunk),
		layouts: make([]header.Layout, clsChunk),
		egress:  make([]bool, 3*pmd.BurstMax),
	}
}

// loadClassify is loadBurst's part: the tables of the RX port's ingress
// and the TX port's egress rules, where their tables enable classify.
// The stream first says which generation it has reached, so that tables
// replaced before it are known to be out of its hands.
func (s *Stream) loadClassify(b *burstView) {
	c := s.off.cls
	if c == nil {
		return
	}
	s.classifyAck()
	if classifyEnabled(b.rx) {
		b.clsIn = c.ctl.tab[s.RxPort][dirIngress].Load()
	}
	if classifyEnabled(b.tx) {
		b.clsOut = c.ctl.tab[s.TxPort][dirEgress].Load()
	}
	b.clsTx = b.clsIn != nil && b.clsIn.tasks || b.clsOut != nil
}

// classifyAck tells the rule tables' writer that the stream has seen
// their current generation (it loads tables only from it on).
func (s *Stream) classifyAck() {
	c := s.off.cls
	if c == nil {
		return
	}
	if g := c.ctl.gen.Load(); c.slot.seen.Load() != g {
		c.slot.seen.Store(g)
	}
}

// classifyIdle says the stream no longer loads tables (its lcore
// stopped), so replaced ones can be folded.
func (s *Stream) classifyIdle() {
	if s.off != nil && s.off.cls != nil {
		s.off.cls.slot.seen.Store(math.MaxUint64)
	}
}

// countRun accumulates consecutive hits of one rule, so that a flow's
// packets cost one counter update per run rather than one each.
type countRun struct {
	k           int32
	hits, bytes uint64
}

func (r *countRun) add(row []ruleCounter, k int32, n uint64) {
	if k != r.k {
		r.flush(row)
		r.k = k
	}
	r.hits++
	r.bytes += n
}

func (r *countRun) flush(row []ruleCounter) {
	if r.hits > 0 && int(r.k) < len(row) {
		row[r.k].hits.Add(r.hits)
		row[r.k].bytes.Add(r.bytes)
	}
	r.hits, r.bytes = 0, 0
}

// classifyBurst is the classification stage for either direction: it
// classifies pkts against t, applies the actions and returns the packets
// kept, in order. egress, if not nil, gets for each kept packet whether
// the rules attached tasks to it; port is the port whose digest
// configuration attached digests use.
func (s *Stream) classifyBurst(pkts []*pmd.Mbuf, t *clsTable, port uint16, egress []bool) []*pmd.Mbuf {
	c := s.off.cls
	var row []ruleCounter
	if c.slot.idx < len(t.counts) {
		row = t.counts[c.slot.idx]
	}
	run := countRun{k: -1}
	var dc *DigestConfig
	if t.tasks {
		dc = s.off.cfg.Digests.Load(port)
	}
	kept, matched := 0, uint64(0)
	for start := 0; start < len(pkts); start += clsChunk {
		chunk := pkts[start:min(start+clsChunk, len(pkts))]
		for i, m := range chunk {
			l := &c.layouts[i]
			d := m.Data()
			if header.ParseHeadInto(d, int(m.PktLen()), l) != header.OK {
				*l = header.Layout{}
			}
			c.keys[i].FromFrame(d, l)
		}
		idx := c.idx[:len(chunk)]
		t.c.ClassifyIndex(c.keys[:len(chunk)], idx)
		for i, m := range chunk {
			tasks := false
			if k := idx[i]; k >= 0 {
				a := &t.acts[k]
				matched++
				if a.count >= 0 {
					run.add(row, a.count, uint64(m.PktLen()))
				}
				switch a.fate {
				case classify.ActionDrop:
					s.dropCounted(m, ClassifyDrop)
					continue
				case classify.ActionQueue:
					s.cnt.Inc(int(ClassifyQueue))
				case classify.ActionRSS:
					s.cnt.Inc(int(ClassifyRSS))
				}
				if a.mark {
					m.SetMark(a.markID)
					m.SetOlFlags(m.OlFlags() | offload.OlRxFDIR | offload.OlRxFDIRID)
					s.cnt.Inc(int(ClassifyMarked))
				}
				if a.tasks != 0 {
					tasks = s.attachTasks(m, a, &c.layouts[i], dc)
				}
			}
			if egress != nil {
				egress[kept] = tasks
			}
			pkts[kept] = m
			kept++
		}
	}
	run.flush(row)
	if matched > 0 {
		s.cnt.Add(int(ClassifyMatched), matched)
	}
	return pkts[:kept]
}

// attachTasks sets m's TX request for a's tasks, as far as its headers l
// take them, and reports whether it attached any.
func (s *Stream) attachTasks(m *pmd.Mbuf, a *clsAction, l *header.Layout, dc *DigestConfig) bool {
	o := s.off
	if l.L3 == header.L3None {
		s.cnt.Inc(int(ClassifyTaskSkipped))
		return false
	}
	v4 := l.L3 == header.L3IPv4
	ip := offload.OlTxIPv6
	if v4 {
		ip = offload.OlTxIPv4
	}
	l4 := uint64(0)                 // the L4 checksum request the headers take
	if l.L4Len > 0 && !l.Fragment { // a checksum covers the whole datagram
		switch l.L4Proto {
		case header.ProtoTCP:
			l4 = offload.OlTxTCPCksum
		case header.ProtoUDP:
			l4 = offload.OlTxUDPCksum
		}
	}
	f := m.OlFlags()
	lens := pmd.TxLengths{L2: uint16(l.L2Len), L3: uint16(l.L3Len), L4: uint16(l.L4Len)}
	attached, skipped := false, false
	if a.tasks&taskCsum != 0 {
		f |= ip | l4
		if v4 {
			f |= offload.OlTxIPCksum
		}
		attached = true
	}
	if a.tasks&taskTSO != 0 {
		if l4 == offload.OlTxTCPCksum {
			f |= ip | offload.OlTxTCPSeg | offload.OlTxTCPCksum
			if v4 {
				f |= offload.OlTxIPCksum
			}
			lens.TSOSegsz = a.segsz
			attached = true
		} else {
			skipped = true
		}
	}
	if a.tasks&taskDigest != 0 {
		if l4 != 0 {
			o.cfg.Digest.Set(m)
			if dc == nil || dc.Mode == DigestModeAppend {
				o.cfg.DigestAppend.Set(m)
			}
			attached = true
		} else {
			skipped = true
		}
	}
	if a.tasks&taskESP != 0 {
		f |= offload.OlTxSecOffload
		o.cfg.ESPSA.SetU32(m, a.sa)
		attached = true
	}
	if skipped {
		s.cnt.Inc(int(ClassifyTaskSkipped))
	}
	if !attached {
		return false
	}
	m.SetOlFlags(f)
	m.SetTxLengths(lens)
	s.cnt.Inc(int(ClassifyTasks))
	return true
}

// classifyRx is the ingress stage.
func (s *Stream) classifyRx(pkts []*pmd.Mbuf, b *burstView) []*pmd.Mbuf {
	return s.classifyBurst(pkts, b.clsIn, s.RxPort, nil)
}

// classifyTx is the egress stage, at the start of the TX stage: it
// returns the packets kept and, for each, whether an egress rule gave it
// tasks (nil when the TX port has no egress rules).
func (s *Stream) classifyTx(pkts []*pmd.Mbuf, b *burstView) ([]*pmd.Mbuf, []bool) {
	if b.clsOut == nil {
		return pkts, nil
	}
	eg := s.off.cls.egress
	if len(pkts) > len(eg) {
		eg = make([]bool, len(pkts)) // not reached: the TX stage gets at most 3 bursts
		s.off.cls.egress = eg
	}
	pkts = s.classifyBurst(pkts, b.clsOut, s.TxPort, eg)
	return pkts, eg[:len(pkts)]
}
