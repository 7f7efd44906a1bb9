package assembly

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

// Reassembly defaults and limits.
const (
	// DefaultDatagrams is the default number of datagrams in progress.
	DefaultDatagrams = 64
	// DefaultFragmentsPerDatagram bounds a datagram's fragments by
	// default: a 64 KiB datagram in fragments of 1032 bytes or more, which
	// covers every link MTU IPv6 allows (1280, RFC 8200 §5).
	DefaultFragmentsPerDatagram = 64
	// DefaultReassemblyBytes is the default bound on packet bytes held
	// (Linux's ipfrag_high_thresh).
	DefaultReassemblyBytes = 4 << 20
	// DefaultReassemblyTimeout is how long a datagram may take to arrive
	// (Linux's ipfrag_time; RFC 8200 §4.5 says 60 s for IPv6).
	DefaultReassemblyTimeout = 30 * time.Second
	// maxDatagram is the largest IPv4 datagram and IPv6 payload length.
	maxDatagram = 65535
	// fragUnit is the unit of fragment offsets (RFC 791, RFC 8200 §4.5).
	fragUnit = 8
)

// ReassemblyConfig sizes a Reassembler. Start from DefaultReassemblyConfig.
type ReassemblyConfig struct {
	// Datagrams is the size of the table of datagrams in progress. When it
	// is full, fragments of new datagrams are dropped (table-full): the
	// datagrams in progress keep what they hold.
	Datagrams int
	// FragmentsPerDatagram bounds one datagram's fragments; one more drops
	// the datagram (too-many-fragments).
	FragmentsPerDatagram int
	// MaxBytes bounds the bytes of all fragments held (their Store length);
	// a fragment that would exceed it drops its datagram (memory-limit).
	MaxBytes int
	// Timeout: Flush drops a datagram whose first fragment arrived at least
	// Timeout before now (timeout).
	Timeout time.Duration
	// IPv4 and IPv6 turn reassembly of each on (DPDK-style RX capabilities
	// ipv4_reassembly and ipv6_reassembly); fragments of the other pass
	// through (disabled).
	IPv4, IPv6 bool
}

// DefaultReassemblyConfig is the default sizes.
func DefaultReassemblyConfig() ReassemblyConfig {
	return ReassemblyConfig{
		Datagrams:            DefaultDatagrams,
		FragmentsPerDatagram: DefaultFragmentsPerDatagram,
		MaxBytes:             DefaultReassemblyBytes,
		Timeout:              DefaultReassemblyTimeout,
		IPv4:                 true,
		IPv6:                 true,
	}
}

// ReassemblyStats are a Reassembler's counters. Every input is passed,
// dropped, joined into a datagram, or still held:
// In = ΣPassed + ΣDropped + Joined + fragments held.
type ReassemblyStats struct {
	// In counts inputs.
	In uint64
	// Held counts fragments stored.
	Held uint64
	// Reassembled counts datagrams completed.
	Reassembled uint64
	// Joined counts the fragments of the datagrams completed.
	Joined uint64
	// Passed counts inputs passed through, by reason.
	Passed [numReasons]uint64
	// Dropped counts packets freed, by reason: inputs dropped at once and
	// fragments dropped with their datagram.
	Dropped [numReasons]uint64
	// Aborted counts datagrams dropped, by reason.
	Aborted [numReasons]uint64
}

// Reassembler rebuilds IPv4 datagrams (RFC 791 §3.2) and IPv6 packets
// (RFC 8200 §4.5) from their fragments.
//
// A datagram is identified by source, destination, protocol and ID for
// IPv4, source, destination and ID for IPv6. Its fragments are kept sorted
// by offset. A fragment that overlaps one held drops the whole datagram,
// and the datagram stays dropped (its later fragments too) until it times
// out: RFC 5722, which this applies to IPv4 as well. An exact duplicate
// (same offset, length and last-ness) is dropped alone, as RFC 8200 §4.5
// allows. Fragments other than the last must carry a multiple of 8 bytes;
// fragments that disagree on the datagram's end, or would make it longer
// than 65535 bytes, drop the datagram.
//
// When the last byte is in, the datagram is built on its first fragment:
// the others' data is appended in order (Store.Append). IPv4: MF and the
// offset are cleared (DF is kept), the total length set and the header
// checksum recomputed; the first fragment's options stay (RFC 791: the
// options of the first fragment are the datagram's). IPv6: the Fragment
// header is removed, the header before it names the Fragment header's
// next header, and the payload length covers the unfragmentable headers
// and the reassembled data. The L4 checksum is not touched or verified.
// Ethernet padding is trimmed from every fragment.
//
// Atomic fragments (offset 0, no more fragments) pass through as they are
// (RFC 6946).
type Reassembler struct {
	store  pkt.Store
	tails  pkt.TailStore // store, if it appends in constant time
	cfg    ReassemblyConfig
	slots  slots
	dgrams []datagram
	frags  []frag // FragmentsPerDatagram per datagram
	bytes  int    // Store bytes held
	segs   [][]byte
	stats  ReassemblyStats
}

type fragKey struct {
	addrs [32]byte // source then destination; IPv4 uses the first 8
	id    uint32
	proto uint8 // IPv4 only
	l3    header.L3
}

func (k *fragKey) hash() uint32 {
	h := mix64(uint64(k.id)<<8|uint64(k.proto), binary.LittleEndian.Uint64(k.addrs[0:]))
	h = mix64(h, binary.LittleEndian.Uint64(k.addrs[8:]))
	h = mix64(h, binary.LittleEndian.Uint64(k.addrs[16:]))
	h = mix64(h, binary.LittleEndian.Uint64(k.addrs[24:]))
	return uint32(h)
}

type datagram struct {
	key      fragKey
	start    int64  // when its first fragment arrived
	n        int32  // fragments held
	have     int32  // data bytes held
	end      int32  // the data's length; -1 until the last fragment is in
	bytes    int32  // Store bytes held
	maxIPLen uint16 // largest fragment's IP length
	dead     Reason // ReasonNone, or why it was dropped
}

type frag struct {
	h        pkt.Handle
	off, end int32 // the fragment's data span in the datagram
	dataOff  int32 // where its data starts in the packet
	l2       int32 // its L2 header length
}

// fragment is the input being looked at.
type fragment struct {
	h       pkt.Handle
	b       []byte // first segment
	l2      int
	pktLen  int // L2 plus the IP length
	unfrag  int // IPv4: header; IPv6: extension headers before the Fragment header
	key     fragKey
	hash    uint32
	off     int
	end     int
	more    bool
	dataOff int
}

// NewReassembler makes a Reassembler working through store. All its memory
// is allocated here.
func NewReassembler(store pkt.Store, cfg ReassemblyConfig) (*Reassembler, error) {
	switch {
	case cfg.Datagrams < 1 || cfg.Datagrams > 1<<20:
		return nil, fmt.Errorf("%w: reassembly datagrams %d, want 1 to %d", ErrConfig, cfg.Datagrams, 1<<20)
	case cfg.FragmentsPerDatagram < 2 || cfg.FragmentsPerDatagram > maxDatagram/fragUnit+1:
		return nil, fmt.Errorf("%w: fragments per datagram %d, want 2 to %d", ErrConfig, cfg.FragmentsPerDatagram, maxDatagram/fragUnit+1)
	case cfg.Datagrams*cfg.FragmentsPerDatagram > 1<<22:
		return nil, fmt.Errorf("%w: %d datagrams of %d fragments is too many", ErrConfig, cfg.Datagrams, cfg.FragmentsPerDatagram)
	case cfg.MaxBytes < 1 || cfg.MaxBytes > 1<<40:
		return nil, fmt.Errorf("%w: reassembly bytes %d", ErrConfig, cfg.MaxBytes)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("%w: reassembly timeout %v", ErrConfig, cfg.Timeout)
	case store == nil:
		return nil, fmt.Errorf("%w: no store", ErrConfig)
	}
	tails, _ := store.(pkt.TailStore)
	return &Reassembler{
		store:  store,
		tails:  tails,
		cfg:    cfg,
		slots:  newSlots(cfg.Datagrams),
		dgrams: make([]datagram, cfg.Datagrams),
		frags:  make([]frag, cfg.Datagrams*cfg.FragmentsPerDatagram),
		segs:   make([][]byte, 0, 2*cfg.FragmentsPerDatagram),
	}, nil
}

// Config is the engine's configuration.
func (r *Reassembler) Config() ReassemblyConfig { return r.cfg }

// Stats returns the counters.
func (r *Reassembler) Stats() ReassemblyStats { return r.stats }

// Datagrams is the number of table entries in use: datagrams in progress,
// and dropped ones waiting for their timeout.
func (r *Reassembler) Datagrams() int { return r.slots.used }

// HeldBytes is the Store length of the fragments held.
func (r *Reassembler) HeldBytes() int { return r.bytes }

// HeldFragments is the number of fragments held.
func (r *Reassembler) HeldFragments() int {
	n := 0
	for i := r.slots.oldest; i != none; i = r.slots.newer[i] {
		n += int(r.dgrams[i].n)
	}
	return n
}

// Receive takes a burst. It writes in v[i] what became of in[i] and
// appends to out, from out[0], the packets that leave, in order (inputs
// passed through and datagrams completed); it returns how many. out and v
// must have room for len(in); Receive panics otherwise. now is the time in
// nanoseconds, non-decreasing across calls.
func (r *Reassembler) Receive(now int64, in []Input, v []Verdict, out []Output) int {
	if len(v) < len(in) || len(out) < len(in) {
		panic("assembly: Reassembler.Receive: verdicts or outputs too short for the burst")
	}
	n := 0
	for i := range in {
		v[i], n = r.receive(now, &in[i], out, n)
	}
	return n
}

// Flush drops the datagrams whose first fragment arrived Timeout or more
// before now, and returns the number of fragments freed.
func (r *Reassembler) Flush(now int64) int {
	freed := 0
	for r.slots.oldest != none {
		i := r.slots.oldest
		if now-r.dgrams[i].start < int64(r.cfg.Timeout) {
			break
		}
		freed += r.drop(i, ReasonTimeout)
		r.slots.release(i)
	}
	return freed
}

// FlushAll drops every datagram in progress (the engine is stopping) and
// returns the number of fragments freed.
func (r *Reassembler) FlushAll() int {
	freed := 0
	for r.slots.oldest != none {
		i := r.slots.oldest
		freed += r.drop(i, ReasonStopped)
		r.slots.release(i)
	}
	return freed
}

func (r *Reassembler) receive(now int64, p *Input, out []Output, n int) (Verdict, int) {
	r.stats.In++
	var f fragment
	if why := r.parse(p.Pkt, &f); why != ReasonNone {
		r.stats.Passed[why]++
		out[n] = Output{Pkt: p.Pkt, Segs: 1, L4Csum: p.L4Csum}
		return Verdict{Fate: Passed, Reason: why}, n + 1
	}
	if f.end == f.off || f.more && (f.end-f.off)%fragUnit != 0 {
		return r.reject(f.h, ReasonBadLength), n
	}
	di := r.lookup(&f)
	if di != none && now-r.dgrams[di].start >= int64(r.cfg.Timeout) {
		// Expired but not flushed yet: it is over; this starts anew.
		r.drop(di, ReasonTimeout)
		r.slots.release(di)
		di = none
	}
	if f.unfrag+f.end > maxDatagram {
		if di != none && r.dgrams[di].dead == ReasonNone {
			r.abort(di, ReasonTooBig)
		}
		return r.reject(f.h, ReasonTooBig), n
	}
	if di == none {
		if r.slots.full() {
			return r.reject(f.h, ReasonTableFull), n
		}
		di = r.slots.alloc(f.hash)
		r.dgrams[di] = datagram{key: f.key, start: now, end: -1}
	}
	d := &r.dgrams[di]
	if d.dead != ReasonNone {
		return r.reject(f.h, ReasonAborted), n
	}
	if x := r.store.Len(f.h) - f.pktLen; x > 0 {
		r.store.Trim(f.h, x)
	}
	switch why := r.insert(di, &f); why {
	case ReasonNone:
	case ReasonDuplicate:
		return r.reject(f.h, why), n
	default:
		r.abort(di, why)
		return r.reject(f.h, why), n
	}
	r.stats.Held++
	if d.end < 0 || d.have != d.end {
		return Verdict{Fate: Held}, n
	}
	o, why := r.build(di)
	if why != ReasonNone {
		return Verdict{Fate: Dropped, Reason: why}, n
	}
	out[n] = o
	return Verdict{Fate: Merged}, n + 1
}

// reject frees an input.
func (r *Reassembler) reject(h pkt.Handle, why Reason) Verdict {
	r.store.Free(h)
	r.stats.Dropped[why]++
	return Verdict{Fate: Dropped, Reason: why}
}

// parse reads a fragment's IP headers. A reason other than ReasonNone
// passes the packet through.
func (r *Reassembler) parse(h pkt.Handle, f *fragment) Reason {
	f.h = h
	r.segs = r.store.Segs(h, r.segs[:0])
	if len(r.segs) == 0 {
		return ReasonMalformed
	}
	b := r.segs[0]
	l2, et, ok := header.L2(b)
	if !ok {
		return ReasonMalformed
	}
	f.b, f.l2 = b, l2
	size := r.store.Len(h) - l2 // the bytes from the IP header on
	switch et {
	case header.EtherTypeIPv4:
		ip := header.IPv4(b[l2:])
		if !ip.IsValid(size) {
			return ReasonMalformed
		}
		if !ip.IsFragment() {
			return ReasonNotFragment
		}
		if !r.cfg.IPv4 {
			return ReasonDisabled
		}
		if checksum.VerifyIPv4(ip) != checksum.Good {
			return ReasonBadIPChecksum
		}
		hl, tl := ip.HeaderLen(), int(ip.TotalLen())
		f.pktLen, f.unfrag, f.dataOff = l2+tl, hl, l2+hl
		f.off, f.more = ip.FragOffset(), ip.More()
		f.end = f.off + tl - hl
		f.key = fragKey{id: uint32(ip.ID()), proto: ip.Protocol(), l3: header.L3IPv4}
		copy(f.key.addrs[:], ip.Addrs())
	case header.EtherTypeIPv6:
		ip := header.IPv6(b[l2:])
		if !ip.IsValid(size) {
			return ReasonMalformed
		}
		pl := header.IPv6Len + int(ip.PayloadLen())
		// The unfragmentable part: extension headers up to the Fragment
		// header (RFC 8200 §4.5). What follows it is fragment data.
		nh, off := ip.NextHeader(), header.IPv6Len
		for range header.MaxIPv6ExtHeaders {
			if nh != header.ProtoHopByHop && nh != header.ProtoDestOpts && nh != header.ProtoRouting {
				break
			}
			if off+extUnit > min(len(ip), pl) {
				return ReasonMalformed
			}
			nh = ip[off+extNextHeader]
			off += (int(ip[off+extLen]) + 1) * extUnit
		}
		if nh != header.ProtoFragment {
			return ReasonNotFragment
		}
		if off+header.IPv6FragmentLen > min(len(ip), pl) {
			return ReasonMalformed
		}
		fh := header.IPv6Fragment(ip[off:])
		if fh.Offset() == 0 && !fh.More() {
			return ReasonNotFragment // atomic fragment, RFC 6946
		}
		if !r.cfg.IPv6 {
			return ReasonDisabled
		}
		f.pktLen, f.unfrag, f.dataOff = l2+pl, off-header.IPv6Len, l2+off+header.IPv6FragmentLen
		f.off, f.more = fh.Offset(), fh.More()
		f.end = f.off + pl - off - header.IPv6FragmentLen
		f.key = fragKey{id: fh.ID(), l3: header.L3IPv6}
		copy(f.key.addrs[:], ip.Addrs())
	default:
		return ReasonNotIP
	}
	f.hash = f.key.hash()
	return ReasonNone
}

func (r *Reassembler) lookup(f *fragment) int32 {
	for i := r.slots.first(f.hash); i != none; i = r.slots.next[i] {
		if r.slots.hash[i] == f.hash && r.dgrams[i].key == f.key {
			return i
		}
	}
	return none
}

// held is datagram i's fragments, sorted by offset.
func (r *Reassembler) held(i int32) []frag {
	base := int(i) * r.cfg.FragmentsPerDatagram
	return r.frags[base : base+int(r.dgrams[i].n)]
}

// insert stores f in datagram di: ReasonNone, or ReasonDuplicate (drop f
// alone), or why the datagram must be dropped.
func (r *Reassembler) insert(di int32, f *fragment) Reason {
	d := &r.dgrams[di]
	fs := r.held(di)
	off, end := int32(f.off), int32(f.end)
	// k: where f goes, after every fragment that starts before it. Most
	// fragments arrive in order and go last.
	k := len(fs)
	for k > 0 && fs[k-1].off >= off {
		k--
	}
	last := !f.more
	if k < len(fs) && fs[k].off == off && fs[k].end == end {
		if last == (d.end == end) {
			return ReasonDuplicate
		}
		return ReasonInconsistent
	}
	if k > 0 && fs[k-1].end > off || k < len(fs) && fs[k].off < end {
		return ReasonOverlap
	}
	switch {
	case last && d.end >= 0 && d.end != end,
		last && len(fs) > 0 && fs[len(fs)-1].end > end,
		!last && d.end >= 0 && end > d.end:
		return ReasonInconsistent
	case len(fs) == r.cfg.FragmentsPerDatagram:
		return ReasonTooManyFragments
	}
	size := r.store.Len(f.h)
	if r.bytes+size > r.cfg.MaxBytes {
		return ReasonMemoryLimit
	}
	fs = fs[:len(fs)+1]
	copy(fs[k+1:], fs[k:])
	fs[k] = frag{h: f.h, off: off, end: end, dataOff: int32(f.dataOff), l2: int32(f.l2)}
	d.n++
	d.have += end - off
	d.bytes += int32(size)
	r.bytes += size
	if last {
		d.end = end
	}
	d.maxIPLen = max(d.maxIPLen, uint16(f.pktLen-f.l2))
	return ReasonNone
}

// drop frees datagram i's fragments, counting them under why, and returns
// how many. A datagram already dropped is not counted again.
func (r *Reassembler) drop(i int32, why Reason) int {
	d := &r.dgrams[i]
	if d.dead != ReasonNone {
		return 0
	}
	fs := r.held(i)
	for k := range fs {
		r.store.Free(fs[k].h)
		fs[k].h = pkt.Nil
	}
	r.stats.Dropped[why] += uint64(len(fs))
	r.stats.Aborted[why]++
	r.bytes -= int(d.bytes)
	d.n, d.have, d.bytes, d.dead = 0, 0, 0, why
	return len(fs)
}

// abort drops datagram i and keeps its entry, so that its later fragments
// are dropped too until it times out (RFC 5722).
func (r *Reassembler) abort(i int32, why Reason) { r.drop(i, why) }

// build joins datagram i's fragments onto the first and frees the entry.
// If it cannot, it drops them and says why.
func (r *Reassembler) build(i int32) (Output, Reason) {
	d := &r.dgrams[i]
	fs := r.held(i)
	base := fs[0]
	r.segs = r.store.Segs(base.h, r.segs[:0])
	b := r.segs[0]
	o := Output{Pkt: base.h, Segs: uint16(len(fs)), SegSize: d.maxIPLen, L4Csum: checksum.Unknown}
	// Each fragment was checked against its own header length; the first
	// one's is the datagram's.
	unfrag := header.IPv4(b[base.l2:]).HeaderLen()
	if d.key.l3 == header.L3IPv6 {
		unfrag = int(base.dataOff-base.l2) - header.IPv6Len - header.IPv6FragmentLen
	}
	if unfrag+int(d.end) > maxDatagram {
		r.drop(i, ReasonTooBig)
		r.forget(i)
		return Output{}, ReasonTooBig
	}
	if d.key.l3 == header.L3IPv4 {
		ip := header.IPv4(b[base.l2:])
		ip.SetTotalLen(uint16(ip.HeaderLen() + int(d.end)))
		ip.SetFlagsFragOffset(ip.Flags()&header.IPv4FlagDF, 0)
		checksum.SetIPv4(ip)
		o.Kind = KindIPv4Reassembled
	} else {
		fh := int(base.dataOff) - header.IPv6FragmentLen
		next := header.IPv6Fragment(b[fh:]).NextHeader()
		ip := header.IPv6(b[base.l2:])
		// The header before the Fragment header now names what followed it.
		prev, off := -1, int(base.l2)+header.IPv6Len
		for off < fh {
			prev, off = off, off+(int(b[off+extLen])+1)*extUnit
		}
		if prev < 0 {
			ip.SetNextHeader(next)
		} else {
			b[prev+extNextHeader] = next
		}
		ip.SetPayloadLen(uint16(fh - int(base.l2) - header.IPv6Len + int(d.end)))
		shiftDown(r.segs, int(base.dataOff), header.IPv6FragmentLen)
		r.store.Trim(base.h, header.IPv6FragmentLen)
		o.Kind = KindIPv6Reassembled
	}
	tail := pkt.Nil
	for k := 1; k < len(fs); k++ {
		ok := false
		if r.tails != nil {
			tail, ok = r.tails.AppendTail(base.h, tail, fs[k].h, int(fs[k].dataOff))
		} else {
			ok = r.store.Append(base.h, fs[k].h, int(fs[k].dataOff))
		}
		if !ok {
			// base holds fs[:k] now; free it and the rest.
			r.store.Free(base.h)
			for _, f := range fs[k:] {
				r.store.Free(f.h)
			}
			r.stats.Dropped[ReasonStoreRefused] += uint64(len(fs))
			r.stats.Aborted[ReasonStoreRefused]++
			r.forget(i)
			return Output{}, ReasonStoreRefused
		}
	}
	r.stats.Reassembled++
	r.stats.Joined += uint64(len(fs))
	r.forget(i)
	return o, ReasonNone
}

// forget frees datagram i's entry; its fragments are gone.
func (r *Reassembler) forget(i int32) {
	fs := r.held(i)
	for k := range fs {
		fs[k].h = pkt.Nil
	}
	r.bytes -= int(r.dgrams[i].bytes)
	r.dgrams[i] = datagram{}
	r.slots.release(i)
}

// shiftDown moves the bytes of a packet from offset from to its end n
// bytes toward its start, across segments.
func shiftDown(segs [][]byte, from, n int) {
	di, do := locate(segs, from-n)
	si, so := locate(segs, from)
	for si < len(segs) {
		switch {
		case so == len(segs[si]):
			si, so = si+1, 0
		case do == len(segs[di]):
			di, do = di+1, 0
		default:
			c := copy(segs[di][do:], segs[si][so:])
			do, so = do+c, so+c
		}
	}
}

// locate is the segment and offset in it of byte pos of a packet.
func locate(segs [][]byte, pos int) (int, int) {
	for i, s := range segs {
		if pos < len(s) {
			return i, pos
		}
		pos -= len(s)
	}
	return len(segs), 0
}
