package dos

import "math/bits"

// The Filter's state lives in three set-associative tables, each an array
// of sets of a few ways, allocated once. An entry is found by its 64-bit
// keyed fingerprint alone (the tags array, one cache line per set of
// eight): two keys of one set collide with probability 2^-61 per lookup,
// and a sender who does not know the seed cannot aim for it. A newcomer to
// a full set takes the way of the entry that matters least, by a rule per
// table, so a flood churns only its own entries.

// Source-table ways per set, flow-table ways, fragment-tracker ways, and
// spans a tracked datagram keeps.
const (
	srcWays   = 8
	flowWays  = 8
	fragWays  = 4
	fragSpans = 6
)

// Traffic classes, each a token bucket of a source.
const (
	classTotal = iota
	classSYN
	classICMP
	classUDP
	numClasses
	classOther = numClasses // a packet of no class but Total
)

// decayShift: a source's hit count halves for every 2^30 ns (1.07 s) it
// is idle; maxHits caps the count.
const (
	decayShift = 30
	maxHits    = 1 << 24
)

// setsFor is the number of sets for n entries of w ways: a power of two,
// at least one.
func setsFor(n, w int) int {
	s := (n + w - 1) / w
	return 1 << bits.Len(uint(s-1))
}

// source is one source prefix's state.
type source struct {
	// tat is each class's bucket as a GCRA theoretical arrival time (ITU-T
	// I.371): a packet fits if tat-now ≤ (burst-1)·T and then moves tat
	// to max(tat, now)+T, T = 1/rate. 0 is a full bucket.
	tat [numClasses]int64
	// seen is the last packet's time; hits counts packets, halving for
	// every 2^decayShift ns idle (applied when next seen or weighed).
	seen int64
	hits uint32
	// gen tells this entry from an earlier one in the same way (flows
	// name their source by way and gen).
	gen uint32
	// estUntil: the source is established until then (0: never was).
	estUntil int64
	// conns counts its tracked connections, halfOpen those not yet
	// established among them.
	conns, halfOpen uint16
}

// decayed is hits after idle nanoseconds.
func decayed(hits uint32, idle int64) uint32 {
	if idle <= 0 {
		return hits
	}
	s := idle >> decayShift
	if s >= 32 {
		return 0
	}
	return hits >> s
}

func (s *source) touch(now int64) {
	s.hits = min(decayed(s.hits, now-s.seen), maxHits-1) + 1
	s.seen = now
}

// sourceTable holds the sources. Eviction keeps what matters: a newcomer
// takes an empty way, else the way whose source weighs least: sources
// without an established history before established ones, then the
// lowest decayed hit count, then the one idle longest. A spray of spoofed
// sources, one packet each, weighs 1 per entry: it replaces its own
// entries and the sources seen as rarely, never a source that sends more
// than one packet a second (heavy hitters, and the attacker being rate
// limited, whose empty bucket a spray therefore cannot refill by evicting
// it), nor an established one while its set holds a source that is not.
type sourceTable struct {
	tags []uint64
	ents []source
	mask uint64 // sets-1
	used int
	gen  uint32
}

func newSourceTable(n int) sourceTable {
	sets := setsFor(n, srcWays)
	return sourceTable{
		tags: make([]uint64, sets*srcWays),
		ents: make([]source, sets*srcWays),
		mask: uint64(sets - 1),
	}
}

func (t *sourceTable) clear() {
	clear(t.tags)
	clear(t.ents)
	t.used = 0
}

func (t *sourceTable) find(fp uint64) int32 {
	base := int(fp&t.mask) * srcWays
	tags := t.tags[base : base+srcWays : base+srcWays]
	for w, tg := range tags {
		if tg == fp {
			return int32(base + w)
		}
	}
	return -1
}

// insert makes an entry for fp (not in the table) and reports whether it
// evicted a live one.
func (t *sourceTable) insert(fp uint64, now int64) (int32, bool) {
	base := int(fp&t.mask) * srcWays
	tags := t.tags[base : base+srcWays : base+srcWays]
	ents := t.ents[base : base+srcWays : base+srcWays]
	victim, evict := -1, false
	var best uint64
	var bestSeen int64
	for w, tg := range tags {
		if tg == 0 {
			victim, evict = w, false
			break
		}
		e := &ents[w]
		weight := uint64(decayed(e.hits, now-e.seen))
		if e.estUntil > now {
			weight |= 1 << 32
		}
		if victim < 0 || weight < best || weight == best && e.seen < bestSeen {
			victim, evict, best, bestSeen = w, true, weight, e.seen
		}
	}
	if !evict {
		t.used++
	}
	t.gen++
	tags[victim] = fp
	ents[victim] = source{gen: t.gen}
	return int32(base + victim), evict
}

// Flow states.
const (
	flowHalfOpen    = 1 << iota // SYN seen, handshake not complete
	flowEstablished             // handshake complete
	flowSrvKnown                // the server's SYN-ACK seen: srvNext is set
)

// seqWindow is how far past the expected sequence (or acknowledgement)
// number a segment completing a handshake may be: the client may have
// sent data already (or acknowledge the server's first data).
const seqWindow = 1 << 16

// flow is one TCP connection tracked from its SYN.
type flow struct {
	seen    int64  // the SYN, then the last segment seen
	cliNext uint32 // the client's ISN + 1
	srvNext uint32 // the server's ISN + 1, with flowSrvKnown
	src     int32  // the source entry it counts under...
	srcGen  uint32 // ...while that entry has this gen
	state   uint8
}

// flowTable holds the flows. A newcomer takes an empty way, else an
// expired flow's, else the oldest half-open flow's, else the established
// flow idle longest. New flows enter only through SYNs that passed the
// budget, so a spoofed flood replaces at most the budget's rate of them.
type flowTable struct {
	tags  []uint64
	ents  []flow
	mask  uint64
	used  int
	sweep int // next set Maintain looks at
}

func newFlowTable(n int) flowTable {
	sets := setsFor(n, flowWays)
	return flowTable{
		tags: make([]uint64, sets*flowWays),
		ents: make([]flow, sets*flowWays),
		mask: uint64(sets - 1),
	}
}

func (t *flowTable) clear() {
	clear(t.tags)
	clear(t.ents)
	t.used, t.sweep = 0, 0
}

func (t *flowTable) find(fp uint64) int32 {
	base := int(fp&t.mask) * flowWays
	tags := t.tags[base : base+flowWays : base+flowWays]
	for w, tg := range tags {
		if tg == fp {
			return int32(base + w)
		}
	}
	return -1
}

// expired reports whether flow e has timed out.
func (e *flow) expired(now int64, p *policy) bool {
	if e.state&flowHalfOpen != 0 {
		return now-e.seen > p.handshakeTO
	}
	return now-e.seen > p.flowTO
}

// victim picks the way for a newcomer to fp's set; live reports that the
// way holds a flow that has not expired.
func (t *flowTable) victim(fp uint64, now int64, p *policy) (i int32, live bool) {
	base := int(fp&t.mask) * flowWays
	tags := t.tags[base : base+flowWays : base+flowWays]
	ents := t.ents[base : base+flowWays : base+flowWays]
	victim, rank := -1, 0
	var seen int64
	for w, tg := range tags {
		if tg == 0 {
			return int32(base + w), false
		}
		e := &ents[w]
		r := 2
		switch {
		case e.expired(now, p):
			return int32(base + w), false
		case e.state&flowHalfOpen != 0:
			r = 1
		}
		if victim < 0 || r < rank || r == rank && e.seen < seen {
			victim, rank, seen = w, r, e.seen
		}
	}
	return int32(base + victim), true
}

// span is a run of a datagram's bytes, [off, end).
type span struct{ off, end uint32 }

// fragEntry is one fragmented datagram's spans seen. Touching spans are
// merged, so a datagram arriving in order takes one.
type fragEntry struct {
	born     int64
	total    uint32 // the datagram's length, with hasTotal
	hasTotal bool
	n        uint8
	spans    [fragSpans]span
}

// complete reports whether every byte of the datagram has been seen: the
// next fragment with its key starts another datagram (the ID was reused).
func (e *fragEntry) complete() bool {
	return e.hasTotal && e.n == 1 && e.spans[0] == span{0, e.total}
}

// overlaps reports whether [off, end) overlaps a span seen.
func (e *fragEntry) overlaps(off, end uint32) bool {
	for _, s := range e.spans[:e.n] {
		if off < s.end && s.off < end {
			return true
		}
	}
	return false
}

// record adds [off, end), merged with the spans it touches. When all the
// spans are taken by gaps the span is not kept: later overlaps with it go
// unseen (the reassembler still refuses them).
func (e *fragEntry) record(off, end uint32, last bool) {
	if last {
		e.total, e.hasTotal = end, true
	}
	if off == end {
		return
	}
	for i := 0; i < int(e.n); {
		s := e.spans[i]
		if s.end == off || s.off == end {
			off, end = min(off, s.off), max(end, s.end)
			e.n--
			e.spans[i] = e.spans[e.n]
			continue
		}
		i++
	}
	if int(e.n) < fragSpans {
		e.spans[e.n] = span{off, end}
		e.n++
	}
}

// fragTable is the fragment tracker. A newcomer takes an empty or expired
// way, else the oldest datagram's.
type fragTable struct {
	tags []uint64
	ents []fragEntry
	mask uint64
	used int
}

func newFragTable(n int) fragTable {
	sets := setsFor(n, fragWays)
	return fragTable{
		tags: make([]uint64, sets*fragWays),
		ents: make([]fragEntry, sets*fragWays),
		mask: uint64(sets - 1),
	}
}

func (t *fragTable) clear() {
	clear(t.tags)
	clear(t.ents)
	t.used = 0
}

func (t *fragTable) find(fp uint64) int32 {
	base := int(fp&t.mask) * fragWays
	tags := t.tags[base : base+fragWays : base+fragWays]
	for w, tg := range tags {
		if tg == fp {
			return int32(base + w)
		}
	}
	return -1
}

// insert makes an entry for fp and reports whether it evicted a datagram
// that had not expired.
func (t *fragTable) insert(fp uint64, now, timeout int64) (int32, bool) {
	base := int(fp&t.mask) * fragWays
	tags := t.tags[base : base+fragWays : base+fragWays]
	ents := t.ents[base : base+fragWays : base+fragWays]
	victim, live := -1, true
	for w, tg := range tags {
		if tg == 0 {
			victim, live = w, false
			t.used++
			break
		}
		if now-ents[w].born > timeout {
			victim, live = w, false
			break
		}
		if victim < 0 || ents[w].born < ents[victim].born {
			victim = w
		}
	}
	tags[victim] = fp
	ents[victim] = fragEntry{born: now}
	return int32(base + victim), live
}
