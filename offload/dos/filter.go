package dos

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// policy is a Config compiled for the fast path. It never changes once
// published; Control.Update publishes a new one.
type policy struct {
	cfg Config
	// epoch changes when the Filters must clear their tables: a new prefix
	// length or seed (the tables' keys change), or Control.ResetState.
	epoch uint64

	mask4          uint64
	mask6hi        uint64
	mask6lo        uint64
	interval       [numClasses]int64 // GCRA T in ns; 0: no limit
	tau            [numClasses]int64 // (burst-1)·T
	budgetT        int64
	budgetTau      int64
	budget         bool // the SYN budget is on
	maxConns       uint16
	maxHalfOpen    uint16
	connLimits     bool // either limit is on
	track          bool // flows are tracked: the budget or a limit is on
	stateful       bool // the source table is used
	requireReturn  bool
	handshakeTO    int64
	flowTO         int64
	estTTL         int64
	fragTO         int64
	land, tcpFlags bool
	tiny, overlap  bool
	lists          *lists
}

func gcra(r Rate) (t, tau int64) {
	if r.Rate == 0 {
		return 0, 0
	}
	t = max(int64(time.Second)/int64(r.Rate), 1)
	return t, int64(r.Burst-1) * t
}

// compile checks c and builds its policy (epoch unset).
func compile(c *Config) (*policy, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	es, err := parseLists(c)
	if err != nil {
		return nil, err
	}
	ls, err := buildLists(es)
	if err != nil {
		return nil, err
	}
	p := &policy{cfg: *c, lists: ls}
	p.cfg.Allow, p.cfg.Block = slices.Clone(c.Allow), slices.Clone(c.Block)
	p.mask4 = uint64(^uint32(0)) &^ (uint64(1)<<(32-c.IPv4PrefixLen) - 1)
	p.mask6hi, p.mask6lo = prefixMasks(c.IPv6PrefixLen)
	for cl, r := range [numClasses]Rate{classTotal: c.Total, classSYN: c.SYN, classICMP: c.ICMP, classUDP: c.UDP} {
		p.interval[cl], p.tau[cl] = gcra(r)
	}
	p.budgetT, p.budgetTau = gcra(c.SYNBudget)
	p.budget = p.budgetT > 0
	p.maxConns, p.maxHalfOpen = uint16(c.MaxConnections), uint16(c.MaxHalfOpen)
	p.connLimits = p.maxConns > 0 || p.maxHalfOpen > 0
	p.track = p.budget || p.connLimits
	p.stateful = p.track
	for _, t := range p.interval {
		p.stateful = p.stateful || t > 0
	}
	p.requireReturn = c.RequireReturnPath
	p.handshakeTO = int64(c.HandshakeTimeout)
	p.flowTO = int64(c.FlowTimeout)
	p.estTTL = int64(c.EstablishedTTL)
	p.fragTO = int64(c.FragmentTimeout)
	p.land, p.tcpFlags = c.DropLand, c.DropBadTCPFlags
	p.tiny, p.overlap = c.DropTinyFragments, c.DropOverlappingFragments
	return p, nil
}

// Control holds the rules every Filter applies. It is safe for concurrent
// use: the control plane (CLI, config reload) calls Update while Filters
// read the rules, each at its next packet, without locks.
type Control struct {
	mu  sync.Mutex // serialises writers
	pol atomic.Pointer[policy]
}

// NewControl checks cfg and makes a Control holding it.
func NewControl(cfg Config) (*Control, error) {
	p, err := compile(&cfg)
	if err != nil {
		return nil, err
	}
	p.epoch = 1
	c := &Control{}
	c.pol.Store(p)
	return c, nil
}

// Update checks cfg and, if it is valid, swaps it in for every Filter;
// otherwise it changes nothing and returns the error. The Filters' state
// (buckets, established sources, flows, fragments) carries over, with the
// new rates and limits applied to it from the next packet, except when
// IPv4PrefixLen, IPv6PrefixLen or Seed change: then the Filters clear
// their tables at their next packet. Table sizes apply to Filters made
// after the Update.
func (c *Control) Update(cfg Config) error {
	p, err := compile(&cfg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.pol.Load()
	p.epoch = old.epoch
	if cfg.IPv4PrefixLen != old.cfg.IPv4PrefixLen || cfg.IPv6PrefixLen != old.cfg.IPv6PrefixLen || cfg.Seed != old.cfg.Seed {
		p.epoch++
	}
	c.pol.Store(p)
	return nil
}

// ResetState makes every Filter clear its tables (buckets, established
// sources, flows, fragments) at its next packet. Counters are kept.
func (c *Control) ResetState() {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := *c.pol.Load()
	p.epoch++
	c.pol.Store(&p)
}

// Config returns the configuration in force (a copy).
func (c *Control) Config() Config {
	cfg := c.pol.Load().cfg
	cfg.Allow, cfg.Block = slices.Clone(cfg.Allow), slices.Clone(cfg.Block)
	return cfg
}

// Match returns the list action for source address a and the prefix that
// decided it (the longest match), for the control plane.
func (c *Control) Match(a netip.Addr) (Action, netip.Prefix, bool) {
	return c.pol.Load().lists.match(a)
}

// Filter judges packets. It belongs to one goroutine (one lcore or
// stream): its tables and counters have that single writer, and no method
// may be called from another goroutine while it runs. Stats and Usage are
// read by the same goroutine (or while it is stopped).
//
// # Established sources
//
// The SYN budget (Config.SYNBudget) spares sources with an established
// history. A source (prefix) becomes established when a TCP handshake it
// began completes, as the filter sees it:
//
//  1. its SYN (seq = ISN) passes: the flow is recorded half-open, with
//     the client's next sequence number ISN+1;
//  2. if the filter also sees the server's SYN-ACK for that flow (the
//     other direction is judged by the same Filter, or given to Observe),
//     and it acknowledges ISN+1, the server's ISN+1 is recorded;
//  3. within HandshakeTimeout, a segment of the flow from the client with
//     ACK (and not SYN or RST) whose sequence number is in
//     [ISN+1, ISN+1+2^16) and, when the server's ISN is known, whose
//     acknowledgement number is in [server ISN+1, server ISN+1+2^16),
//     establishes the source for EstablishedTTL.
//
// With the server's ISN known this is the proof SYN cookies rely on: the
// client received the SYN-ACK, so its address is not spoofed (a blind
// spoofer guesses the acknowledgement with probability 2^-16 per try, and
// each try spends its rate limits). Without the return path (a filter
// that sees only ingress), step 3 proves only that the source keeps a
// consistent connection: it stops the spoofed floods that never answer
// (plain SYN floods, random ACK floods), but a spoofer that sends the
// matching ACK after its SYN establishes its address. RequireReturnPath
// makes the return path mandatory. Either way a source can only begin a
// handshake through the budget, so spoofed sources become established at
// most at the budget's rate, and each then stays within its own rate
// limits. A flow stops being tracked when it establishes (without
// connection limits), when the client sends FIN or RST, or when it
// expires (HandshakeTimeout half-open, FlowTimeout idle).
//
// # Memory and eviction
//
// The tables are sized by Config.Sources, Flows and Fragments and never
// grow. The source table keeps sources that send more than one packet a
// second and established ones over one-packet sources (see sourceTable).
// A source gets an entry only when it has something to count: SYNs the
// budget drops make none, nor do packets of a class without a limit when
// Total has none (with the defaults, UDP and TCP segments other than SYN;
// an ACK that completes a handshake makes one). Connection counts are
// per source entry: an entry evicted forgets its counts (the limit then
// errs on the lenient side), and a connection the client closes with FIN
// or RST stops counting at once.
type Filter struct {
	ctl    *Control
	pol    *policy
	epoch  uint64
	seed   uint64
	layout header.Layout

	src   sourceTable
	flows flowTable
	frags fragTable

	budgetTAT int64
	sweepAt   int64
	stats     Stats
}

// NewFilter makes a Filter applying ctl's rules, with tables of the sizes
// ctl's configuration gives now. All its memory is allocated here.
func NewFilter(ctl *Control) *Filter {
	p := ctl.pol.Load()
	f := &Filter{
		ctl:   ctl,
		pol:   p,
		epoch: p.epoch,
		src:   newSourceTable(p.cfg.Sources),
		flows: newFlowTable(p.cfg.Flows),
		frags: newFragTable(p.cfg.Fragments),
	}
	f.seed = seedOf(p)
	return f
}

func seedOf(p *policy) uint64 {
	if p.cfg.Seed != 0 {
		return p.cfg.Seed
	}
	return rand.Uint64() | 1
}

// load picks up the rules in force.
func (f *Filter) load() *policy {
	p := f.ctl.pol.Load()
	if p != f.pol {
		if p.epoch != f.epoch {
			f.reset(p)
		}
		f.pol = p
	}
	return p
}

func (f *Filter) reset(p *policy) {
	f.src.clear()
	f.flows.clear()
	f.frags.clear()
	f.budgetTAT = 0
	f.epoch = p.epoch
	f.seed = seedOf(p)
}

// Stats returns the counters.
func (f *Filter) Stats() Stats { return f.stats }

// Usage returns how full the tables are.
func (f *Filter) Usage() Usage {
	return Usage{
		Sources: f.src.used, SourcesCap: len(f.src.tags),
		Flows: f.flows.used, FlowsCap: len(f.flows.tags),
		Fragments: f.frags.used, FragmentsCap: len(f.frags.tags),
	}
}

// Established reports whether source address a's prefix is established,
// for tests and the control plane (same goroutine as the Filter).
func (f *Filter) Established(a netip.Addr, now int64) bool {
	p := f.load()
	var k addrs
	a = a.Unmap()
	if a.Is4() {
		k.sLo = uint64(be.Uint32(a.AsSlice()))
	} else {
		b := a.As16()
		k.sHi, k.sLo = be.Uint64(b[:8]), be.Uint64(b[8:])
	}
	i := f.src.find(f.sourceKey(p, &k, a.Is6()))
	return i >= 0 && f.src.ents[i].estUntil > now
}

// Judge judges one packet: b is its first segment (headers entirely in
// it), pktLen its length in all segments, now the time in nanoseconds
// (monotonic, non-decreasing across calls). It returns ReasonNone to pass
// the packet, or why it is to be dropped; the packet is the caller's
// either way.
func (f *Filter) Judge(b []byte, pktLen int, now int64) Reason {
	return f.judge(f.load(), b, pktLen, now)
}

// JudgeBurst judges a burst: pkts[i] is a packet's first segment, lens[i]
// its length (lens nil: len(pkts[i])). It writes each verdict to v[i] and
// returns the number passed; v must be as long as pkts. It also does
// Maintain's work.
func (f *Filter) JudgeBurst(pkts [][]byte, lens []int, now int64, v []Reason) int {
	p := f.load()
	f.maintain(p, now)
	v = v[:len(pkts)]
	n := 0
	for i, b := range pkts {
		l := len(b)
		if lens != nil {
			l = lens[i]
		}
		v[i] = f.judge(p, b, l, now)
		if v[i] == ReasonNone {
			n++
		}
	}
	return n
}

// Observe shows the Filter a packet going the other way (from the
// protected side out), which it does not judge: a SYN-ACK answering a
// tracked SYN lets the client's ACK prove its address (see Filter).
func (f *Filter) Observe(b []byte, pktLen int, now int64) {
	p := f.load()
	if !p.track {
		return
	}
	l := &f.layout
	if header.ParseHeadInto(b, pktLen, l) != header.OK || l.L4Proto != header.ProtoTCP || l.L4Len == 0 {
		return
	}
	var k addrs
	readAddrs(b[l.L2Len:], l.L3, &k)
	t := header.TCP(b[l.L4Off():])
	if t.Flags()&(header.TCPFlagSYN|header.TCPFlagACK|header.TCPFlagRST) == header.TCPFlagSYN|header.TCPFlagACK {
		f.learnSynAck(&k, t, l.L3 == header.L3IPv6)
	}
}

// sweepPeriod is how long Maintain takes to go over the whole flow
// table; maxSweepSets bounds the sets one call looks at.
const (
	sweepPeriod  = int64(time.Second)
	maxSweepSets = 1024
)

// Maintain expires flows that have timed out, a few table sets at a time,
// so that connection counts do not wait for a newcomer to the same set.
// JudgeBurst calls it; a caller of Judge alone calls it now and then
// (once per burst).
func (f *Filter) Maintain(now int64) { f.maintain(f.load(), now) }

func (f *Filter) maintain(p *policy, now int64) {
	elapsed := min(now-f.sweepAt, sweepPeriod)
	if !p.track || f.flows.used == 0 {
		f.sweepAt = now
		return
	}
	sets := len(f.flows.tags) / flowWays
	n := int(int64(sets) * elapsed / sweepPeriod)
	if n <= 0 {
		return
	}
	f.sweepAt = now
	for range min(n, maxSweepSets, sets) {
		base := f.flows.sweep * flowWays
		for i := base; i < base+flowWays; i++ {
			if f.flows.tags[i] != 0 && f.flows.ents[i].expired(now, p) {
				f.removeFlow(int32(i))
				f.stats.FlowsExpired++
			}
		}
		f.flows.sweep = (f.flows.sweep + 1) & (sets - 1)
	}
}

// addrs are a packet's addresses as words: IPv4 in the low 32 bits of sLo
// and dLo.
type addrs struct {
	sHi, sLo, dHi, dLo uint64
}

func readAddrs(ip []byte, l3 header.L3, k *addrs) {
	if l3 == header.L3IPv4 {
		a := header.IPv4(ip).Addrs()
		k.sLo, k.dLo = uint64(be.Uint32(a[0:4])), uint64(be.Uint32(a[4:8]))
		return
	}
	a := header.IPv6(ip).Addrs()
	k.sHi, k.sLo = be.Uint64(a[0:8]), be.Uint64(a[8:16])
	k.dHi, k.dLo = be.Uint64(a[16:24]), be.Uint64(a[24:32])
}

func (f *Filter) sourceKey(p *policy, k *addrs, v6 bool) uint64 {
	if v6 {
		return sourceHash(f.seed, k.sHi&p.mask6hi, k.sLo&p.mask6lo, true)
	}
	return sourceHash(f.seed, 0, k.sLo&p.mask4, false)
}

func (f *Filter) drop(r Reason) Reason {
	f.stats.Dropped[r]++
	return r
}

func (f *Filter) pass() Reason {
	f.stats.Passed++
	return ReasonNone
}

// tcpFlagsReason is the reason a TCP flag combination is dropped for, if
// it is one no stack sends.
func tcpFlagsReason(fl uint8) Reason {
	const (
		fin, syn, rst = header.TCPFlagFIN, header.TCPFlagSYN, header.TCPFlagRST
		psh, ack, urg = header.TCPFlagPSH, header.TCPFlagACK, header.TCPFlagURG
		all           = fin | syn | rst | psh | ack | urg
	)
	switch {
	case fl&all == 0:
		return ReasonTCPNull
	case fl&(fin|psh|urg) == fin|psh|urg && fl&ack == 0:
		return ReasonTCPXmas
	case fl&(syn|fin) == syn|fin:
		return ReasonTCPSynFin
	case fl&(syn|rst) == syn|rst:
		return ReasonTCPSynRst
	case fl&(fin|ack) == fin:
		return ReasonTCPFinNoAck
	}
	return ReasonNone
}

func (f *Filter) judge(p *policy, b []byte, pktLen int, now int64) Reason {
	f.stats.In++
	l := &f.layout
	if m := header.ParseHeadInto(b, pktLen, l); m != header.OK {
		if p.tiny && l.Fragment && l.FragOffset == 0 &&
			(m == header.ShortTCP || m == header.BadTCPDataOffset || m == header.ShortUDP) {
			return f.drop(ReasonTinyFragment)
		}
		return f.drop(ReasonMalformed)
	}
	if l.L3 == header.L3None {
		f.stats.NotIP++
		return f.pass()
	}
	v6 := l.L3 == header.L3IPv6
	var k addrs
	readAddrs(b[l.L2Len:], l.L3, &k)

	// Stateless header rules.
	var flags uint8
	var sport, dport uint16
	var t header.TCP
	proto := l.L4Proto
	if l.L4Len > 0 {
		l4 := b[l.L4Off():]
		if proto == header.ProtoUDP {
			u := header.UDP(l4)
			sport, dport = u.SrcPort(), u.DstPort()
		} else { // TCP: L4Len is 0 for other protocols
			t = header.TCP(l4)
			sport, dport, flags = t.SrcPort(), t.DstPort(), t.Flags()
			if p.tcpFlags {
				if r := tcpFlagsReason(flags); r != ReasonNone {
					return f.drop(r)
				}
			}
		}
		if p.land && sport == dport && k.sLo == k.dLo && k.sHi == k.dHi {
			return f.drop(ReasonLand)
		}
	}
	if l.Fragment && p.tiny && proto == header.ProtoTCP && l.FragOffset == 8 {
		return f.drop(ReasonFragOffsetOne)
	}

	// Lists.
	allowed := false
	if ls := p.lists; ls != nil {
		var v uint32
		switch {
		case !v6 && ls.v4 != nil:
			v = ls.v4.lookup(uint32(k.sLo))
		case v6 && ls.v6 != nil:
			v = ls.v6.lookup(k.sHi, k.sLo)
		}
		if v != 0 {
			if v&lpmBlock != 0 {
				return f.drop(ReasonBlocked)
			}
			allowed = true
		}
	}

	if l.Fragment && p.overlap && f.fragOverlaps(p, b, l, &k, now) {
		return f.drop(ReasonFragOverlap)
	}
	if allowed {
		f.stats.Allowed++
		return f.pass()
	}
	if !p.stateful {
		return f.pass()
	}

	// Rates.
	class := classOther
	syn := false
	switch proto {
	case header.ProtoTCP:
		syn = t != nil && flags&(header.TCPFlagSYN|header.TCPFlagACK) == header.TCPFlagSYN
		if syn {
			class = classSYN
		}
	case header.ProtoUDP:
		class = classUDP
	case header.ProtoICMP, header.ProtoICMPv6:
		class = classICMP
	}
	fp := f.sourceKey(p, &k, v6)
	si := f.src.find(fp)
	established := si >= 0 && f.src.ents[si].estUntil > now
	needBudget := syn && p.budget && !established
	limited := class != classOther && p.interval[class] > 0
	if si < 0 {
		if needBudget && f.budgetTAT-now > p.budgetTau {
			// No entry for what the budget refuses: a spoofed SYN flood
			// does not churn the table.
			return f.drop(ReasonSYNBudget)
		}
		if !syn && !limited && p.interval[classTotal] == 0 {
			// Nothing to count: no entry either (a segment that
			// completes a handshake makes one in trackSegment).
			if p.track && t != nil {
				f.trackSegment(p, -1, fp, false, &k, t, flags, sport, dport, v6, now)
			}
			return f.pass()
		}
		si = f.newSource(fp, now)
	}
	s := &f.src.ents[si]
	s.touch(now)
	if limited && s.tat[class]-now > p.tau[class] {
		return f.drop(ReasonRateSYN + Reason(class-classSYN))
	}
	if p.interval[classTotal] > 0 && s.tat[classTotal]-now > p.tau[classTotal] {
		return f.drop(ReasonRateTotal)
	}
	if needBudget && f.budgetTAT-now > p.budgetTau {
		return f.drop(ReasonSYNBudget)
	}
	fi := int32(-1)
	if syn && p.track {
		fi = f.flows.find(flowHash(f.seed, &k, sport, dport, v6))
		if fi < 0 && p.connLimits {
			if p.maxConns > 0 && s.conns >= p.maxConns {
				return f.drop(ReasonConnLimit)
			}
			if p.maxHalfOpen > 0 && s.halfOpen >= p.maxHalfOpen {
				return f.drop(ReasonHalfOpenLimit)
			}
		}
	}

	// The packet passes: charge the buckets.
	if limited {
		charge(&s.tat[class], now, p.interval[class])
	}
	if p.interval[classTotal] > 0 {
		charge(&s.tat[classTotal], now, p.interval[classTotal])
	}
	if needBudget {
		charge(&f.budgetTAT, now, p.budgetT)
	}
	if p.track && t != nil {
		if syn {
			f.trackSYN(p, fi, si, &k, t, sport, dport, v6, now)
		} else {
			f.trackSegment(p, si, fp, established, &k, t, flags, sport, dport, v6, now)
		}
	}
	return f.pass()
}

// newSource makes source fp's entry.
func (f *Filter) newSource(fp uint64, now int64) int32 {
	si, evicted := f.src.insert(fp, now)
	if evicted {
		f.stats.SourceEvictions++
	}
	return si
}

// charge takes one token from a GCRA bucket.
func charge(tat *int64, now, t int64) {
	*tat = max(*tat, now) + t
}

// trackSYN records a SYN that passed: a new half-open flow, or the
// retransmission of one.
func (f *Filter) trackSYN(p *policy, fi, si int32, k *addrs, t header.TCP, sport, dport uint16, v6 bool, now int64) {
	next := t.Seq() + 1
	if fi >= 0 {
		e := &f.flows.ents[fi]
		if e.state&flowHalfOpen != 0 && e.cliNext == next {
			e.seen = now // a retransmission
			return
		}
		f.removeFlow(fi) // the 4-tuple starts over
	}
	fp := flowHash(f.seed, k, sport, dport, v6)
	fi, live := f.flows.victim(fp, now, p)
	if f.flows.tags[fi] != 0 {
		f.removeFlow(fi)
		if live {
			f.stats.FlowEvictions++
		} else {
			f.stats.FlowsExpired++
		}
	}
	s := &f.src.ents[si]
	f.flows.tags[fi] = fp
	f.flows.ents[fi] = flow{seen: now, cliNext: next, src: si, srcGen: s.gen, state: flowHalfOpen}
	f.flows.used++
	s.conns = min(s.conns+1, MaxConnLimit)
	s.halfOpen = min(s.halfOpen+1, MaxConnLimit)
}

// removeFlow forgets flow i and uncounts it from its source.
func (f *Filter) removeFlow(i int32) {
	e := &f.flows.ents[i]
	if e.src >= 0 && int(e.src) < len(f.src.ents) {
		if s := &f.src.ents[e.src]; s.gen == e.srcGen && f.src.tags[e.src] != 0 {
			if s.conns > 0 {
				s.conns--
			}
			if e.state&flowHalfOpen != 0 && s.halfOpen > 0 {
				s.halfOpen--
			}
		}
	}
	f.flows.tags[i] = 0
	f.flows.used--
}

// trackSegment follows a TCP segment other than a SYN from source si
// (fingerprint fp; -1 if it has no entry): the ACK that completes a
// handshake, a SYN-ACK (the server's side), the client's FIN or RST, and
// the refresh of a counted connection.
func (f *Filter) trackSegment(p *policy, si int32, fp uint64, established bool, k *addrs, t header.TCP, flags uint8, sport, dport uint16, v6 bool, now int64) {
	if flags&(header.TCPFlagSYN|header.TCPFlagACK) == header.TCPFlagSYN|header.TCPFlagACK {
		f.learnSynAck(k, t, v6)
		return
	}
	if established {
		s := &f.src.ents[si]
		if s.halfOpen == 0 && (!p.connLimits || s.conns == 0) {
			return // nothing to prove, nothing counted to refresh
		}
	}
	fi := f.flows.find(flowHash(f.seed, k, sport, dport, v6))
	if fi < 0 {
		return
	}
	e := &f.flows.ents[fi]
	if flags&(header.TCPFlagFIN|header.TCPFlagRST) != 0 {
		f.removeFlow(fi)
		return
	}
	if flags&header.TCPFlagACK == 0 {
		return
	}
	if e.state&flowHalfOpen == 0 {
		e.seen = now
		return
	}
	if now-e.seen > p.handshakeTO || t.Seq()-e.cliNext >= seqWindow {
		return
	}
	if e.state&flowSrvKnown != 0 {
		if t.Ack()-e.srvNext >= seqWindow {
			return
		}
	} else if p.requireReturn {
		return
	}
	// The handshake is complete.
	if si < 0 {
		si = f.newSource(fp, now)
		f.src.ents[si].touch(now)
	}
	s := &f.src.ents[si]
	f.stats.Established++
	s.estUntil = now + p.estTTL
	if e.src == si && e.srcGen == s.gen {
		if s.halfOpen > 0 {
			s.halfOpen--
		}
	} else {
		// Its source entry was evicted since the SYN: count it here.
		e.src, e.srcGen = si, s.gen
		s.conns = min(s.conns+1, MaxConnLimit)
	}
	e.state, e.seen = flowEstablished, now
	if !p.connLimits {
		f.removeFlow(fi)
	}
}

// learnSynAck records the server's ISN from a SYN-ACK (t, sent by the
// server k.s to the client k.d) answering a half-open flow's SYN.
func (f *Filter) learnSynAck(k *addrs, t header.TCP, v6 bool) {
	fi := f.flows.find(flowHashRev(f.seed, k, t.SrcPort(), t.DstPort(), v6))
	if fi < 0 {
		return
	}
	e := &f.flows.ents[fi]
	if e.state&flowHalfOpen != 0 && t.Ack() == e.cliNext {
		e.srvNext = t.Seq() + 1
		e.state |= flowSrvKnown
	}
}

// fragOverlaps follows a fragment in the tracker and reports whether it
// overlaps one seen before of its datagram.
func (f *Filter) fragOverlaps(p *policy, b []byte, l *header.Layout, k *addrs, now int64) bool {
	ip := b[l.L2Len:]
	var id uint32
	var proto uint8
	var more bool
	var data int
	if l.L3 == header.L3IPv4 {
		h := header.IPv4(ip)
		id, proto, more = uint32(h.ID()), h.Protocol(), h.More()
		data = int(h.TotalLen()) - h.HeaderLen()
	} else {
		fh := header.IPv6Fragment(ip[l.IPv6FragHdr:])
		id, more = fh.ID(), fh.More()
		data = l.PktLen - l.L2Len - l.IPv6FragHdr - header.IPv6FragmentLen
	}
	off := uint32(l.FragOffset)
	end := off + uint32(max(data, 0))
	fp := fragHash(f.seed, k, id, proto, l.L3 == header.L3IPv6)
	i := f.frags.find(fp)
	if i >= 0 {
		e := &f.frags.ents[i]
		if now-e.born > p.fragTO || e.complete() {
			*e = fragEntry{born: now} // a new datagram with the same key
		} else if e.overlaps(off, end) {
			return true
		}
	} else {
		var evicted bool
		i, evicted = f.frags.insert(fp, now, p.fragTO)
		if evicted {
			f.stats.FragmentEvictions++
		}
	}
	f.frags.ents[i].record(off, end, !more)
	return false
}
