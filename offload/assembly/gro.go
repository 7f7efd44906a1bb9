package assembly

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"time"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

var le = binary.LittleEndian

// GRO defaults and limits.
const (
	// DefaultGROFlows is the default number of flows held at once.
	DefaultGROFlows = 64
	// DefaultGROTimeout is how long a packet is held by default: at
	// 10 Gb/s about 40 full-size segments, close to one 64 KiB packet.
	DefaultGROTimeout = 50 * time.Microsecond
	// DefaultGROMaxSegs is the default bound on segments per packet
	// (Linux's UDP_GRO_CNT_MAX, applied to TCP too: it bounds the mbuf
	// chain, and 64 KiB of 1448-byte segments is 45).
	DefaultGROMaxSegs = 64
	// MaxIPLen is the largest merged IP packet, header included: the
	// IPv4 total length and the IPv6 payload length are 16 bits, and
	// Linux's GRO_LEGACY_MAX_SIZE stops below 64 KiB.
	MaxIPLen = 65535
	// maxGROHeaders bounds the IP and L4 headers (options and extension
	// headers included) a flow keeps to compare later segments with.
	maxGROHeaders = 160
)

// GROConfig sizes a GRO engine. Start from DefaultGROConfig.
type GROConfig struct {
	// Flows is the size of the flow table: packets held at once. When it
	// is full, a new flow flushes the oldest held packet.
	Flows int
	// Timeout: Flush lets go of a packet whose first segment arrived at
	// least Timeout before now. 0 flushes everything at every Flush
	// (merging within a burst only, Linux's end-of-NAPI-poll flush).
	Timeout time.Duration
	// MaxIPLen bounds a merged packet's IP length (header included),
	// at most MaxIPLen. DPDK's max_lro_pkt_size minus the L2 header.
	MaxIPLen int
	// MaxSegs bounds the segments merged into one packet, at least 2.
	MaxSegs int
	// TCP and UDP turn TCP GRO (DPDK RX offload TCP_LRO) and UDP GRO on.
	TCP, UDP bool
}

// DefaultGROConfig is TCP and UDP GRO with the default sizes.
func DefaultGROConfig() GROConfig {
	return GROConfig{
		Flows:    DefaultGROFlows,
		Timeout:  DefaultGROTimeout,
		MaxIPLen: MaxIPLen,
		MaxSegs:  DefaultGROMaxSegs,
		TCP:      true,
		UDP:      true,
	}
}

// GROStats are a GRO engine's counters. In = Held + Merged + ΣPassed; a
// held packet leaves once, counted in Flushed by reason.
type GROStats struct {
	// In counts inputs.
	In uint64
	// Held counts inputs that started a held packet.
	Held uint64
	// Merged counts inputs appended to a held packet.
	Merged uint64
	// Out counts packets of two or more segments that left.
	Out uint64
	// Passed counts inputs passed through, by reason.
	Passed [numReasons]uint64
	// Flushed counts held packets that left, by reason.
	Flushed [numFlushReasons]uint64
}

// GRO is the TCP (IPv4, IPv6) and UDP receive-offload engine.
//
// It merges segments as Linux's tcp_gro_receive and udp_gro_receive do,
// with one packet held per flow (L2 header, addresses, protocol, ports):
//
//   - only segments whose L4 checksum the caller verified Good, and, for
//     IPv4, whose header checksum verifies (or the caller verified Good:
//     Input.IPCsum);
//   - only if equal to the held packet's first segment in: TTL or hop
//     limit, ToS or traffic class, DF, IPv6 flow label, IP options or IPv6
//     extension headers (hop-by-hop, destination options, routing without
//     segments left); for IPv4, the IP ID follows the first one's by one
//     per segment, or, with DF set, stays the same (RFC 6864); for TCP,
//     ACK, window, data offset and reserved bits, options byte for byte
//     (timestamps included), and flags other than CWR, FIN and PSH;
//   - TCP: in order (sequence number = held end), not larger than the
//     first segment's payload (the MSS), CWR only on a packet's first
//     segment; a FIN or PSH segment is merged and ends the packet (DPDK
//     refuses PSH; Linux merges it); SYN, RST and URG never merge;
//   - UDP: a datagram of the first one's size is merged, a shorter one is
//     merged and ends the packet, a larger one starts a new packet.
//
// Linux keys IPv6 flows on the flow label too; here a segment whose label
// differs is of the same flow and flushes it, so that the two labels' packets
// cannot overtake each other.
//
// A segment of a held flow that cannot be merged flushes the held packet
// first, then is held itself if it may start one, or passes through, so a
// flow's packets never overtake each other. A packet also leaves when a
// further full segment would not fit (MaxIPLen, MaxSegs), when the Store
// refuses to chain, on Flush after Timeout, when evicted from a full table,
// and on FlushAll.
//
// Checksums: a merged packet leaves with complete, valid checksums. The
// IPv4 header checksum is recomputed. The TCP or UDP checksum is combined
// without reading a payload byte: a segment whose checksum verified has
// payload sum −(pseudo-header + L4 header) (RFC 1071 §2; −x is ~x in one's
// complement); the engine adds these sums, swapping the bytes of a payload
// that starts at an odd offset of the merged payload (RFC 1071 §2(B)), and
// completes the merged header's checksum with them. A segment whose
// checksum was in fact bad leaves its error in the merged checksum rather
// than hiding it. A UDP train over IPv4 without checksums (0) keeps 0.
// Output.L4Csum is Good for every held packet.
type GRO struct {
	store pkt.Store
	tails pkt.TailStore // store, if it appends in constant time
	cfg   GROConfig
	slots slots
	flows []flow
	segs  [][]byte // scratch for Store.Segs
	// parsed is the Layout of the input being looked at when the caller
	// gave none.
	parsed header.Layout
	stats  GROStats
}

// flowKey is what makes segments one flow: Linux compares the MAC header
// (VLAN tags included), addresses, protocol and ports. It is held as words
// so that building, hashing and comparing it take a few loads and no
// byte-wise copy or compare:
//
//	w[0:3]  the L2 header, little-endian, zero past its length
//	w[3]    L2 length | L3<<8 | protocol<<16 | ports<<32
//	w[4:8]  source then destination address (IPv4: w[4], then zeros)
type flowKey struct {
	w [8]uint64
}

func (k *flowKey) l2len() int    { return int(uint8(k.w[3])) }
func (k *flowKey) l3() header.L3 { return header.L3(k.w[3] >> 8) }
func (k *flowKey) proto() uint8  { return uint8(k.w[3] >> 16) }
func (k *flowKey) tcp() bool     { return k.proto() == header.ProtoTCP }
func (k *flowKey) v4() bool      { return k.l3() == header.L3IPv4 }
func (k *flowKey) set(l *header.Layout, b, ip, l4 []byte) {
	n := l.L2Len // header.EthernetLen to header.MaxL2Len, b longer than 24
	k.w[0] = le.Uint64(b[0:8])
	k.w[1] = le.Uint64(b[8:16]) & byteMask(n-8)
	k.w[2] = le.Uint64(b[16:24]) & byteMask(n-16)
	k.w[3] = uint64(n) | uint64(l.L3)<<8 | uint64(l.L4Proto)<<16 | uint64(be.Uint32(l4[0:4]))<<32
	if l.L3 == header.L3IPv4 {
		k.w[4] = le.Uint64(ip[12:20])
		k.w[5], k.w[6], k.w[7] = 0, 0, 0
	} else {
		a := ip[8:40]
		k.w[4], k.w[5], k.w[6], k.w[7] = le.Uint64(a[0:8]), le.Uint64(a[8:16]), le.Uint64(a[16:24]), le.Uint64(a[24:32])
	}
}

// byteMask keeps the first n bytes of a little-endian word (none for n <=
// 0, all for n >= 8).
func byteMask(n int) uint64 {
	if n <= 0 {
		return 0
	}
	return ^uint64(0) >> (64 - 8*uint(min(n, 8)))
}

// hash mixes the protocol, ports and addresses: independent multiplies,
// then one multiply-xorshift round for the low bits the table uses.
func (k *flowKey) hash() uint32 {
	h := k.w[3]*0x9e3779b97f4a7c15 ^ k.w[4]*0xc2b2ae3d27d4eb4f ^ k.w[5]*0x165667b19e3779f9 ^
		k.w[6]*0xd6e8feb86659fd93 ^ k.w[7]*0xff51afd7ed558ccd
	h ^= h >> 32
	h *= 0x9e3779b97f4a7c15
	return uint32(h >> 32)
}

// IPv4 ID sequences (Linux's flush_id and is_atomic).
const (
	idUnknown   = iota // one segment: not known yet
	idIncrement        // +1 per segment
	idFixed            // the same in every segment (DF set)
)

// flow is a held packet.
type flow struct {
	key   flowKey
	h     pkt.Handle
	tail  pkt.Handle // h's last segment, for TailStore; Nil: unknown
	start int64      // when its first segment arrived
	// head is h's first segment as Segs gave it when it was held, for
	// finish, if the Store is a TailStore (whose appends leave it where
	// it is); nil otherwise.
	head    []byte
	len0    int32 // h's length when held (padding included)
	hdr     [maxGROHeaders]byte
	l3len   uint8
	l4len   uint8
	segs    uint16
	segSize uint16 // payload of the first segment
	payLen  int32  // payload held
	seqNext uint32 // TCP: the sequence number that comes next
	addrSum uint16 // sum of the pseudo-header's addresses
	// payAcc is the sum of the payload held, in the little-endian domain
	// and not folded (see payContrib); l4Fixed is the part of payContrib's
	// sum that is the same for every segment of the flow.
	payAcc  uint64
	l4Fixed uint64
	flagsOr uint8 // FIN and PSH of the segments merged
	idMode  uint8
	noCsum  bool // UDP over IPv4 without checksum
}

func (f *flow) ip() []byte  { return f.hdr[:f.l3len] }
func (f *flow) l4() []byte  { return f.hdr[f.l3len : int(f.l3len)+int(f.l4len)] }
func (f *flow) tcp() bool   { return f.key.tcp() }
func (f *flow) hdrLen() int { return int(f.l3len) + int(f.l4len) }

// segment is the input being looked at.
type segment struct {
	h      pkt.Handle
	b      []byte         // first segment
	l      *header.Layout // the Input's, or the engine's parse of it
	len    int            // the Store's length of h, padding included
	key    flowKey
	hash   uint32
	payLen int
}

// NewGRO makes a GRO engine working through store. All its memory is
// allocated here.
func NewGRO(store pkt.Store, cfg GROConfig) (*GRO, error) {
	switch {
	case cfg.Flows < 1 || cfg.Flows > 1<<20:
		return nil, fmt.Errorf("%w: gro flows %d, want 1 to %d", ErrConfig, cfg.Flows, 1<<20)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("%w: gro timeout %v", ErrConfig, cfg.Timeout)
	case cfg.MaxIPLen < header.IPv6Len+header.TCPMinLen+1 || cfg.MaxIPLen > MaxIPLen:
		return nil, fmt.Errorf("%w: gro max ip length %d, want at most %d", ErrConfig, cfg.MaxIPLen, MaxIPLen)
	case cfg.MaxSegs < 2 || cfg.MaxSegs > 0xffff:
		return nil, fmt.Errorf("%w: gro max segments %d, want 2 to 65535", ErrConfig, cfg.MaxSegs)
	case store == nil:
		return nil, fmt.Errorf("%w: no store", ErrConfig)
	}
	tails, _ := store.(pkt.TailStore)
	return &GRO{
		store: store,
		tails: tails,
		cfg:   cfg,
		slots: newSlots(cfg.Flows),
		flows: make([]flow, cfg.Flows),
		segs:  make([][]byte, 0, 2*cfg.MaxSegs),
	}, nil
}

// Config is the engine's configuration.
func (g *GRO) Config() GROConfig { return g.cfg }

// Stats returns the counters.
func (g *GRO) Stats() GROStats { return g.stats }

// Held is the number of packets held.
func (g *GRO) Held() int { return g.slots.used }

// Receive takes a burst. It writes in v[i] what became of in[i] and
// appends to out, from out[0], the packets that leave, in order; it
// returns how many. out must have room for 2*len(in) (an input can flush
// its flow's held packet and pass through itself), v for len(in); Receive
// panics otherwise. now is the time in nanoseconds, non-decreasing across
// calls. Call Flush after each burst, and when there is none, so that held
// packets leave in time.
func (g *GRO) Receive(now int64, in []Input, v []Verdict, out []Output) int {
	if len(v) < len(in) || len(out) < 2*len(in) {
		panic("assembly: GRO.Receive: verdicts or outputs too short for the burst")
	}
	n := 0
	for i := range in {
		v[i], n = g.receive(now, &in[i], out, n)
	}
	return n
}

// Flush lets go of the packets held for Timeout or longer at now, oldest
// first, into out; it returns how many. If out is filled, call again.
func (g *GRO) Flush(now int64, out []Output) int {
	n := 0
	for n < len(out) && g.slots.oldest != none {
		i := g.slots.oldest
		if now-g.flows[i].start < int64(g.cfg.Timeout) {
			break
		}
		n = g.flush(i, FlushTimeout, out, n)
	}
	return n
}

// FlushAll lets go of every held packet, oldest first, into out; it
// returns how many. If out is filled, call again until it returns 0.
func (g *GRO) FlushAll(out []Output) int {
	n := 0
	for n < len(out) && g.slots.oldest != none {
		n = g.flush(g.slots.oldest, FlushAll, out, n)
	}
	return n
}

func (g *GRO) receive(now int64, p *Input, out []Output, n int) (Verdict, int) {
	g.stats.In++
	var s segment
	if r := g.classify(p, &s); r != ReasonNone {
		return g.pass(p, r, out, n)
	}
	fi := g.lookup(&s)
	if fi != none {
		f := &g.flows[fi]
		why := FlushUnmergeable
		if r := unmergeable(p, &s); r == ReasonNone {
			why = g.mergeable(f, &s)
			if why == FlushNone {
				if g.merge(f, &s) {
					g.stats.Merged++
					if why = g.complete(f, &s); why != FlushNone {
						n = g.flush(fi, why, out, n)
					}
					return Verdict{Fate: Merged}, n
				}
				why = FlushSize // the Store refused to chain
			}
		}
		n = g.flush(fi, why, out, n)
	}
	if r := unholdable(p, &s); r != ReasonNone {
		return g.pass(p, r, out, n)
	}
	n = g.hold(now, &s, out, n)
	return Verdict{Fate: Held}, n
}

func (g *GRO) pass(p *Input, r Reason, out []Output, n int) (Verdict, int) {
	g.stats.Passed[r]++
	out[n] = Output{Pkt: p.Pkt, Segs: 1, L4Csum: p.L4Csum}
	return Verdict{Fate: Passed, Reason: r}, n + 1
}

// classify reads the input's headers and key. A reason other than
// ReasonNone means the packet cannot belong to a GRO flow at all.
func (g *GRO) classify(p *Input, s *segment) Reason {
	s.h = p.Pkt
	segs := g.store.Segs(p.Pkt, g.segs[:0])
	if cap(segs) != cap(g.segs) {
		g.segs = segs[:0] // keep what append grew (a long chain)
	}
	if len(segs) == 0 {
		return ReasonMalformed
	}
	// The Layout is used where it is, not copied: a copy right after
	// the caller's stores that wrote it stalls on store forwarding.
	s.b, s.l = segs[0], &p.Layout
	s.len = g.store.Len(p.Pkt)
	// checked: the Layout is a parse of this packet, the caller's
	// (Input.Parsed) or the engine's own, so fits need not check it.
	checked := p.Parsed
	if s.l.L3 == header.L3None {
		s.l, checked = &g.parsed, true
		if header.ParseHeadInto(s.b, s.len, s.l) != header.OK {
			return ReasonMalformed
		}
	}
	if s.l.L3 != header.L3IPv4 && s.l.L3 != header.L3IPv6 {
		return ReasonNotIP
	}
	if s.l.Fragment || s.l.IPv6FragHdr != 0 {
		return ReasonFragment
	}
	switch s.l.L4Proto {
	case header.ProtoTCP:
		if !g.cfg.TCP {
			return ReasonDisabled
		}
	case header.ProtoUDP:
		if !g.cfg.UDP {
			return ReasonDisabled
		}
	default:
		return ReasonNotTCPUDP
	}
	if !checked && !g.fits(s) {
		return ReasonMalformed
	}
	if s.l.L3Len+s.l.L4Len > maxGROHeaders {
		return ReasonHeadersTooLong
	}
	ip := s.b[s.l.L2Len:s.l.L4Off()]
	if s.l.L3 == header.L3IPv4 {
		// RX may have found the header checksum good already.
		if p.IPCsum != checksum.Good && checksum.VerifyIPv4(header.IPv4(ip)) != checksum.Good {
			return ReasonBadIPChecksum
		}
	} else {
		if nh, ok := ipv6ExtMergeable(ip); !ok {
			return ReasonExtHeader
		} else if nh != s.l.L4Proto {
			return ReasonMalformed // a Layout that disagrees with the header
		}
	}
	s.key.set(s.l, s.b, ip, s.b[s.l.L4Off():])
	s.hash = s.key.hash()
	s.payLen = s.l.PktLen - s.l.PayloadOff()
	return ReasonNone
}

// fits checks a Layout against the packet, so that one the caller computed
// is as safe to use as one Parse returned.
func (g *GRO) fits(s *segment) bool {
	l := s.l
	// With these, L2Len <= L4Off() <= PayloadOff() <= len(s.b).
	if l.L2Len < header.EthernetLen || l.L2Len > header.MaxL2Len || l.L3Len < 0 || l.L4Len < 0 ||
		l.PayloadOff() > len(s.b) || l.PktLen < l.PayloadOff() || l.PktLen > s.len {
		return false
	}
	ip := s.b[l.L2Len:l.L4Off()]
	if l.L3 == header.L3IPv4 {
		// With the checks above, these make v4.IsValid(l.PktLen-l.L2Len).
		v4 := header.IPv4(ip)
		if len(v4) < header.IPv4MinLen || v4[0]>>4 != 4 || v4.HeaderLen() != len(v4) ||
			int(v4.TotalLen()) != l.PktLen-l.L2Len || v4.Protocol() != l.L4Proto {
			return false
		}
	} else {
		v6 := header.IPv6(ip)
		if l.L3Len < header.IPv6Len || !v6.IsValid(l.PktLen-l.L2Len) ||
			header.IPv6Len+int(v6.PayloadLen()) != l.PktLen-l.L2Len {
			return false
		}
	}
	l4 := s.b[l.L4Off():]
	if l.L4Proto == header.ProtoTCP {
		return l.L4Len >= header.TCPMinLen && header.TCP(l4).HeaderLen() == l.L4Len
	}
	return l.L4Len == header.UDPLen
}

// IPv6 extension header fields (RFC 8200 §4.3–4.6).
const (
	extNextHeader       = 0 // next header, every extension header
	extLen              = 1 // length in 8-octet units, not counting the first 8
	extUnit             = 8
	routingSegmentsLeft = 3 // Routing header: segments left
)

// ipv6ExtMergeable reports whether the IPv6 header ip (extension headers
// included, up to the upper layer) has only extension headers GRO merges
// across: hop-by-hop and destination options, and routing headers with no
// segments left (with segments left, the pseudo-header's destination is
// the final one, RFC 8200 §8.1, not the one in the header). nh is the
// upper-layer protocol the chain names.
func ipv6ExtMergeable(ip []byte) (nh uint8, ok bool) {
	nh, off := header.IPv6(ip).NextHeader(), header.IPv6Len
	for off < len(ip) {
		if off+extUnit > len(ip) {
			return nh, false
		}
		switch nh {
		case header.ProtoHopByHop, header.ProtoDestOpts:
		case header.ProtoRouting:
			if ip[off+routingSegmentsLeft] != 0 {
				return nh, false
			}
		default:
			return nh, false
		}
		nh = ip[off+extNextHeader]
		off += (int(ip[off+extLen]) + 1) * extUnit
	}
	return nh, off == len(ip)
}

func (g *GRO) lookup(s *segment) int32 {
	k := &s.key.w
	for i := g.slots.first(s.hash); i != none; i = g.slots.next[i] {
		// The key words compared, written out (a function is not inlined).
		if o := &g.flows[i].key.w; g.slots.hash[i] == s.hash &&
			(k[0]^o[0])|(k[1]^o[1])|(k[2]^o[2])|(k[3]^o[3])|(k[4]^o[4])|(k[5]^o[5])|(k[6]^o[6])|(k[7]^o[7]) == 0 {
			return i
		}
	}
	return none
}

// unmergeable is why a packet of a flow can neither merge nor be held.
func unmergeable(p *Input, s *segment) Reason {
	if p.L4Csum != checksum.Good {
		return ReasonChecksum
	}
	if s.l.L4Proto == header.ProtoUDP && int(header.UDP(s.b[s.l.L4Off():]).Length()) != s.l.PktLen-s.l.L4Off() {
		return ReasonUDPLength
	}
	if s.payLen == 0 {
		return ReasonNoPayload
	}
	return ReasonNone
}

// tcpFinal are the flags that end a packet (Linux's out_check_final):
// a segment with them is merged last, or not held.
const tcpFinal = header.TCPFlagURG | header.TCPFlagPSH | header.TCPFlagRST | header.TCPFlagSYN | header.TCPFlagFIN

// unholdable is why a packet cannot start a held packet.
func unholdable(p *Input, s *segment) Reason {
	if r := unmergeable(p, s); r != ReasonNone {
		return r
	}
	if s.l.L4Proto == header.ProtoTCP && header.TCP(s.b[s.l.L4Off():]).Flags()&tcpFinal != 0 {
		return ReasonTCPFlags
	}
	return ReasonNone
}

// tcpFlagWord is the offset of the TCP header's 32-bit word of data
// offset, reserved bits, control bits and window (RFC 9293 §3.1), Linux's
// tcp_flag_word: all of it must match but CWR, FIN and PSH.
const tcpFlagWord = 12

// Masks of the header words mergeable compares, read little-endian.
const (
	// tcpAckFlagsMask: TCP bytes 8 to 15, the ACK number and the flag
	// word but CWR, FIN and PSH (byte 13, the control bits).
	tcpAckFlagsMask = ^(uint64(header.TCPFlagCWR|header.TCPFlagFIN|header.TCPFlagPSH) << ((tcpFlagWord + 1 - 8) * 8))
	// ipv4Word0Mask: IPv4 bytes 0 to 7, version, IHL, ToS and DF (bit 6
	// of byte 6); not the total length, the ID, or the other flags.
	ipv4Word0Mask = 0xffff | uint64(header.IPv4FlagDF>>8)<<48
	// ipv6Word0Mask: IPv6 bytes 0 to 7, version, traffic class, flow
	// label, next header and hop limit; not the payload length.
	ipv6Word0Mask = 0xffff0000ffffffff
)

// mergeable checks s against f's held packet: FlushNone if s may be
// appended, else why f must leave first.
func (g *GRO) mergeable(f *flow, s *segment) FlushReason {
	l := s.l
	if int(f.l3len) != l.L3Len || int(f.l4len) != l.L4Len {
		return FlushMismatch
	}
	ip := s.b[l.L2Len:l.L4Off()]
	h := f.ip()
	if len(ip) != len(h) || len(h) < header.IPv4MinLen {
		return FlushMismatch // cannot be: the lengths are equal, at least 20
	}
	if f.key.v4() {
		if (le.Uint64(h[0:8])^le.Uint64(ip[0:8]))&ipv4Word0Mask != 0 || header.IPv4(h).TTL() != header.IPv4(ip).TTL() ||
			len(h) > header.IPv4MinLen && !bytes.Equal(h[header.IPv4MinLen:], ip[header.IPv4MinLen:]) ||
			!ipv4IDFollows(f, header.IPv4(h), header.IPv4(ip)) {
			return FlushMismatch
		}
	} else if (le.Uint64(h[0:8])^le.Uint64(ip[0:8]))&ipv6Word0Mask != 0 || !bytes.Equal(h[header.IPv6Len:], ip[header.IPv6Len:]) {
		return FlushMismatch
	}
	l4 := s.b[l.L4Off():l.PayloadOff()]
	if f.tcp() {
		ht := f.l4()
		if len(l4) != len(ht) || len(l4) < header.TCPMinLen {
			return FlushMismatch // cannot be, as above
		}
		ho, no := ht[header.TCPMinLen:], l4[header.TCPMinLen:]
		var optsEqual bool
		if len(ho) == 12 && len(no) == 12 { // timestamps as Linux sends them: written out
			optsEqual = (le.Uint64(ho)^le.Uint64(no))|uint64(le.Uint32(ho[8:])^le.Uint32(no[8:])) == 0
		} else {
			optsEqual = bytes.Equal(ho, no)
		}
		if header.TCP(l4).Flags()&header.TCPFlagCWR != 0 || (le.Uint64(ht[8:16])^le.Uint64(l4[8:16]))&tcpAckFlagsMask != 0 ||
			!optsEqual {
			return FlushMismatch
		}
		if header.TCP(l4).Seq() != f.seqNext {
			return FlushOrder
		}
	} else if f.noCsum != (header.UDP(l4).Checksum() == 0) {
		return FlushMismatch
	}
	if s.payLen > int(f.segSize) {
		return FlushLarger
	}
	if int(f.segs) >= g.cfg.MaxSegs || f.hdrLen()+int(f.payLen)+s.payLen > g.cfg.MaxIPLen {
		return FlushSize
	}
	return FlushNone
}

// ipv4IDFollows checks the IP ID of n against the held packet's first
// header h: one more per segment, or, with DF set, the same (RFC 6864).
// The other fields compared, mergeable found h's DF in n.
func ipv4IDFollows(f *flow, h, n header.IPv4) bool {
	switch d := n.ID() - h.ID(); f.idMode {
	case idUnknown:
		return d == 1 || d == 0 && h.Flags()&header.IPv4FlagDF != 0
	case idIncrement:
		return d == f.segs
	default:
		return d == 0
	}
}

// hdrWords sums a header (IPv4, TCP, UDP) for the engine, where calling
// checksum.Sum per segment costs more than the sum: b's 32-bit
// little-endian words, then a 16-bit word and a byte, into 64 bits,
// without carries for b under 2^30 bytes. The result is 0 only if every
// byte is 0, and congruent modulo 0xffff to b's 16-bit little-endian word
// sum; hdrFold(hdrWords(b)) is checksum.Sum(b, 0).
func hdrWords(b []byte) uint64 {
	var s uint64
	for len(b) >= 8 {
		s += uint64(le.Uint32(b)) + uint64(le.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		s += uint64(le.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(le.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0])
	}
	return s
}

// hdrFold folds a sum of little-endian words to Sum's result: s is 0 only
// if every byte summed is 0, and each fold keeps it congruent modulo
// 0xffff and above 0, ending in 1 to 0xffff (0 for 0), as Sum's; then
// the bytes are swapped to big-endian order (RFC 1071 §2(B)).
func hdrFold(s uint64) uint16 {
	s = s&0xffffffff + s>>32 // < 2^33
	s = s&0xffff + s>>16     // < 2^16 + 2^17
	s = s&0xffff + s>>16     // < 2^16 + 3
	s = s&0xffff + s>>16     // < 2^16
	return bits.ReverseBytes16(uint16(s))
}

// A merged packet's L4 checksum is completed from the sums of its
// segments' payloads, which the engine gets without reading them: a
// segment whose checksum verified has payload sum −(pseudo-header + L4
// header). Per segment, that sum is kept unfolded, in the little-endian
// domain of hdrWords (a big-endian 16-bit value v counts as v with its
// bytes swapped, RFC 1071 §2(B)), and modulo 0xffff only: −x is payNeg − x
// for x below payNeg, a multiple of 0xffff, and swapping the bytes of a
// sum (a payload at an odd offset) is multiplying it by 2^8. finish folds
// the total, whose residue modulo 0xffff is all that counts: it is added
// to the headers' sum, which is not 0 (it holds the protocol), so the
// one's-complement result does not depend on which representative of the
// residue is added.
//
// Bounds: a segment's sum (at most 15 TCP header words of 32 bits, two
// 16-bit values) is below 2^36, so below payNeg; a contribution, swapped,
// below 2^44; 2^16 of them (MaxSegs) below 2^60.
const payNeg = 0xffff << 20

// l4Fixed is the part of a segment's pseudo-header and L4 header sum that
// mergeable makes equal in every segment of a flow: addresses, protocol,
// ports, and for TCP the ACK and the options (not the sequence number,
// the flag word, checksum or urgent pointer); l4 is the L4 header.
func l4Fixed(addrSum uint16, proto uint8, l4 []byte) uint64 {
	s := uint64(bits.ReverseBytes16(addrSum)) + uint64(proto)<<8 + uint64(le.Uint32(l4[0:4]))
	if proto == header.ProtoTCP {
		s += uint64(le.Uint32(l4[8:12])) + hdrWords(l4[header.TCPMinLen:])
	}
	return s
}

// payContrib is a verified segment's payload sum, −(pseudo-header + L4
// header), as payAcc adds it: fixed is its flow's l4Fixed, l4 its L4
// header, l4len its L4 length, odd whether its payload lands at an odd
// offset of the merged payload.
func payContrib(fixed uint64, tcp bool, l4 []byte, l4len int, odd bool) uint64 {
	v := fixed + uint64(bits.ReverseBytes16(uint16(l4len))) + uint64(le.Uint32(l4[4:8]))
	if tcp {
		v += uint64(le.Uint32(l4[12:16])) + uint64(le.Uint32(l4[16:20]))
	}
	c := payNeg - v
	if odd {
		c <<= 8
	}
	return c
}

// merge appends s to f's packet; false if the Store refused.
func (g *GRO) merge(f *flow, s *segment) bool {
	if f.segs == 1 { // the held segment's Ethernet padding goes first
		if x := int(f.len0) - f.key.l2len() - f.hdrLen() - int(f.payLen); x > 0 {
			g.store.Trim(f.h, x)
		}
	}
	if x := s.len - s.l.PktLen; x > 0 {
		g.store.Trim(s.h, x)
		s.len = s.l.PktLen // if the Store refuses, s is held trimmed
	}
	// Read what is needed of s before Append consumes it.
	l4 := s.b[s.l.L4Off():s.l.PayloadOff()]
	ps := payContrib(f.l4Fixed, f.tcp(), l4, s.l.PktLen-s.l.L4Off(), f.payLen%2 == 1)
	var flags uint8
	if f.tcp() {
		flags = header.TCP(l4).Flags() & (header.TCPFlagFIN | header.TCPFlagPSH)
	}
	idMode := f.idMode
	if idMode == idUnknown && f.key.v4() {
		idMode = idIncrement
		if header.IPv4(s.b[s.l.L2Len:]).ID() == header.IPv4(f.ip()).ID() {
			idMode = idFixed
		}
	}
	if g.tails != nil {
		t, ok := g.tails.AppendTail(f.h, f.tail, s.h, s.l.PayloadOff())
		if !ok {
			return false
		}
		f.tail = t
	} else if !g.store.Append(f.h, s.h, s.l.PayloadOff()) {
		return false
	}
	f.idMode = idMode
	f.payAcc += ps
	f.payLen += int32(s.payLen)
	f.segs++
	f.seqNext += uint32(s.payLen) // unused for UDP
	f.flagsOr |= flags
	return true
}

// complete is why f must leave right after s was merged, or FlushNone.
func (g *GRO) complete(f *flow, s *segment) FlushReason {
	switch {
	case f.flagsOr != 0:
		return FlushFlags
	case s.payLen < int(f.segSize):
		return FlushShort
	case int(f.segs) >= g.cfg.MaxSegs || f.hdrLen()+int(f.payLen)+int(f.segSize) > g.cfg.MaxIPLen:
		return FlushSize // no further full segment fits
	}
	return FlushNone
}

// hold makes s the first segment of a held packet, evicting the oldest
// held packet if the table is full.
func (g *GRO) hold(now int64, s *segment, out []Output, n int) int {
	if g.slots.full() {
		n = g.flush(g.slots.oldest, FlushEvict, out, n)
	}
	i := g.slots.alloc(s.hash)
	f := &g.flows[i]
	f.key, f.h, f.tail, f.start = s.key, s.h, pkt.Nil, now
	f.head, f.len0 = nil, int32(s.len)
	if g.tails != nil {
		f.head = s.b
	}
	f.l3len, f.l4len = uint8(s.l.L3Len), uint8(s.l.L4Len)
	copy(f.hdr[:], s.b[s.l.L2Len:s.l.PayloadOff()])
	f.segs, f.segSize, f.payLen = 1, uint16(s.payLen), int32(s.payLen)
	f.flagsOr, f.idMode, f.noCsum = 0, idUnknown, false
	l4 := f.l4()
	if f.key.v4() {
		f.addrSum = checksum.Sum(header.IPv4(f.ip()).Addrs(), 0)
	} else {
		f.addrSum = checksum.Sum(header.IPv6(f.ip()).Addrs(), 0)
	}
	f.l4Fixed = l4Fixed(f.addrSum, f.key.proto(), l4)
	f.payAcc = payContrib(f.l4Fixed, f.tcp(), l4, s.l.PktLen-s.l.L4Off(), false)
	if f.tcp() {
		f.seqNext = header.TCP(l4).Seq() + uint32(s.payLen)
	} else {
		f.noCsum = header.UDP(l4).Checksum() == 0
	}
	g.stats.Held++
	return n
}

// flush writes flow i's packet to out[n], finished, and frees the entry.
func (g *GRO) flush(i int32, why FlushReason, out []Output, n int) int {
	out[n] = g.finish(&g.flows[i], why)
	g.stats.Flushed[why]++
	g.flows[i].h, g.flows[i].head = pkt.Nil, nil
	g.slots.release(i)
	return n + 1
}

// finish fixes the headers of a merged packet: IP length and IPv4 header
// checksum, TCP flags, UDP length, and the L4 checksum from the summed
// payload.
func (g *GRO) finish(f *flow, why FlushReason) Output {
	o := Output{Pkt: f.h, Segs: f.segs, L4Csum: checksum.Good, Flush: why}
	if f.segs == 1 {
		return o
	}
	g.stats.Out++
	o.SegSize = f.segSize
	first := f.head
	if first == nil {
		g.segs = g.store.Segs(f.h, g.segs[:0])
		first = g.segs[0]
	}
	ip := first[f.key.l2len():]
	l3, l4len := int(f.l3len), int(f.l4len)+int(f.payLen)
	if f.key.v4() {
		v4 := header.IPv4(ip)
		v4.SetTotalLen(uint16(l3 + l4len))
		checksum.SetIPv4(v4)
		o.Kind = KindTCPv4
	} else {
		header.IPv6(ip).SetPayloadLen(uint16(l3 - header.IPv6Len + l4len))
		o.Kind = KindTCPv6
	}
	hdr := ip[l3 : l3+int(f.l4len)]
	pseudo := checksum.Add(checksum.Add(f.addrSum, uint16(f.key.proto())), uint16(l4len))
	if f.tcp() {
		t := header.TCP(hdr)
		t.SetFlags(t.Flags() | f.flagsOr)
		t.SetChecksum(0)
		t.SetChecksum(^checksum.Add(checksum.Sum(hdr, pseudo), hdrFold(f.payAcc)))
		return o
	}
	o.Kind = KindUDPL4
	u := header.UDP(hdr)
	u.SetLength(uint16(l4len))
	if !f.noCsum {
		u.SetChecksum(0)
		c := ^checksum.Add(checksum.Sum(hdr, pseudo), hdrFold(f.payAcc))
		if c == 0 {
			c = 0xffff // RFC 768: a computed 0 is sent as all ones
		}
		u.SetChecksum(c)
	}
	return o
}
