package assembly

import (
	"encoding/binary"
	"fmt"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

// Wire offsets the test's own reference code uses (RFC 791, RFC 8200,
// RFC 9293, RFC 768). The engines use the header package; these are an
// independent second reading.
const (
	refV4TotalLen  = 2
	refV4Flags     = 6
	refV4Checksum  = 10
	refV4Src       = 12
	refV6PayLen    = 4
	refV6NextHdr   = 6
	refV6Src       = 8
	refTCPFlags    = 13
	refTCPChecksum = 16
	refUDPLen      = 4
	refUDPChecksum = 6
)

var (
	mac1 = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	mac2 = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

// refSum is the RFC 1071 one's-complement sum, written the naive way: 16-bit
// big-endian words, an odd byte padded with zero, carries folded at the end.
func refSum(bs ...[]byte) uint16 {
	var s uint64
	var odd bool
	var hi byte
	for _, b := range bs {
		for _, c := range b {
			if !odd {
				hi, odd = c, true
				continue
			}
			s += uint64(hi)<<8 | uint64(c)
			odd = false
		}
	}
	if odd {
		s += uint64(hi) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// refPseudo is the pseudo-header of RFC 9293 §3.1 / RFC 8200 §8.1.
func refPseudo(v6 bool, ip []byte, proto uint8, l4len int) []byte {
	if !v6 {
		p := make([]byte, 12)
		copy(p, ip[refV4Src:refV4Src+8])
		p[9] = proto
		binary.BigEndian.PutUint16(p[10:], uint16(l4len))
		return p
	}
	p := make([]byte, 40)
	copy(p, ip[refV6Src:refV6Src+32])
	binary.BigEndian.PutUint32(p[32:], uint32(l4len))
	p[39] = proto
	return p
}

// shape is where a frame's headers are, as gopacket decodes them.
type shape struct {
	l2, l3, l4 int
	v6, udp    bool
	proto      uint8
	ipLen      int
}

// decode decodes a frame with gopacket: an Ethernet frame (VLAN tags
// allowed) with IPv4 or IPv6 (extension headers allowed) and TCP or UDP.
func decode(t testing.TB, frame []byte) shape {
	t.Helper()
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	if e := p.ErrorLayer(); e != nil {
		t.Fatalf("gopacket: %v", e.Error())
	}
	var s shape
	for _, l := range p.Layers() {
		n := len(l.LayerContents())
		switch l.LayerType() {
		case layers.LayerTypeEthernet, layers.LayerTypeDot1Q:
			s.l2 += n
		case layers.LayerTypeIPv4:
			s.l3 += n
			s.ipLen = int(l.(*layers.IPv4).Length)
		case layers.LayerTypeIPv6:
			s.l3 += n
			s.v6 = true
			s.ipLen = 40 + int(l.(*layers.IPv6).Length)
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Routing:
			s.l3 += n
		case layers.LayerTypeTCP:
			s.l4, s.proto = n, 6
		case layers.LayerTypeUDP:
			s.l4, s.proto, s.udp = n, 17, true
		}
	}
	if s.l4 == 0 {
		t.Fatalf("gopacket found no TCP or UDP in %x", frame)
	}
	return s
}

// refVerify checks a frame's IPv4 header checksum and its TCP or UDP
// checksum with the reference sum.
func refVerify(t testing.TB, frame []byte) {
	t.Helper()
	s := decode(t, frame)
	ip := frame[s.l2 : s.l2+s.ipLen]
	if !s.v6 && refSum(ip[:s.l3]) != 0xffff {
		t.Fatalf("IPv4 header checksum does not verify: %x", ip[:s.l3])
	}
	l4 := ip[s.l3:]
	if s.udp && !s.v6 && binary.BigEndian.Uint16(l4[refUDPChecksum:]) == 0 {
		return
	}
	if refSum(refPseudo(s.v6, ip, s.proto, len(l4)), l4) != 0xffff {
		t.Fatalf("L4 checksum does not verify (%d bytes)", len(l4))
	}
}

// sp describes a TCP segment or UDP datagram to build.
type sp struct {
	udp, v6  bool
	flow     int    // picks the source port
	seq      uint32 // TCP
	ack      uint32
	n        int   // payload bytes
	flags    uint8 // TCP flags besides ACK
	noACK    bool
	win      uint16 // 0: 512
	ttl, tos uint8  // TTL 0: 64
	id       uint16 // IPv4 ID
	df       bool
	ipopt    byte   // IPv4: a 4-byte option with this value
	ts       uint32 // TCP timestamp value; 0: no timestamp option
	ext      byte   // IPv6: hop-by-hop and destination options, with this value
	routing  bool   // IPv6: a routing header with segments left
	label    uint32 // IPv6 flow label
	vlan     bool
	bad      bool // report the L4 checksum Bad
	corrupt  bool // flip a payload byte after the checksum
	zeroCsum bool // UDP over IPv4 without checksum
	pad      int  // Ethernet padding after the IP packet
	at       int64
	seed     byte // payload pattern
}

// built is a frame made from an sp.
type built struct {
	sp
	frame   []byte
	shape   shape
	payload []byte
}

// build serializes s with gopacket.
func build(t testing.TB, s sp) *built {
	t.Helper()
	var ls []gopacket.SerializableLayer
	eth := &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeIPv4}
	if s.v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
	}
	if s.vlan {
		ls = append(ls, &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 7, Type: eth.EthernetType})
	} else {
		ls = append(ls, eth)
	}
	proto := layers.IPProtocolTCP
	if s.udp {
		proto = layers.IPProtocolUDP
	}
	ttl := s.ttl
	if ttl == 0 {
		ttl = 64
	}
	var nl gopacket.NetworkLayer
	if !s.v6 {
		ip := &layers.IPv4{Version: 4, TTL: ttl, TOS: s.tos, Id: s.id, Protocol: proto,
			SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		if s.df {
			ip.Flags = layers.IPv4DontFragment
		}
		if s.ipopt != 0 {
			ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, s.ipopt}}} // router alert
		}
		ls, nl = append(ls, ip), ip
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: ttl, TrafficClass: s.tos, FlowLabel: s.label, NextHeader: proto,
			SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
		ls, nl = append(ls, ip), ip
		last := &ip.NextHeader
		if s.ext != 0 {
			*last = layers.IPProtocolIPv6HopByHop
			hbh := &layers.IPv6HopByHop{}
			hbh.NextHeader = proto
			hbh.Options = []*layers.IPv6HopByHopOption{{OptionType: 0x1e, OptionLength: 4, OptionData: []byte{s.ext, 0, 0, 0}}}
			dst := &layers.IPv6Destination{}
			dst.NextHeader = proto
			dst.Options = []*layers.IPv6DestinationOption{{OptionType: 0x1e, OptionLength: 4, OptionData: []byte{0, s.ext, 0, 0}}}
			hbh.NextHeader = layers.IPProtocolIPv6Destination
			ls = append(ls, hbh, dst)
			last = &dst.NextHeader
		}
		if s.routing {
			rt := &layers.IPv6Routing{RoutingType: 0, SegmentsLeft: 1, Reserved: make([]byte, 4),
				SourceRoutingIPs: []net.IP{net.ParseIP("2001:db8::2")}}
			rt.NextHeader = *last
			*last = layers.IPProtocolIPv6Routing
			ls = append(ls, rt)
		}
	}
	payload := make([]byte, s.n)
	for i := range payload {
		payload[i] = byte(int(s.seed)*31 + int(s.seq) + i*7 + s.flow)
	}
	if s.udp {
		u := &layers.UDP{SrcPort: layers.UDPPort(40000 + s.flow), DstPort: 50000}
		_ = u.SetNetworkLayerForChecksum(nl)
		ls = append(ls, u)
	} else {
		win := s.win
		if win == 0 {
			win = 512
		}
		tc := &layers.TCP{SrcPort: layers.TCPPort(1000 + s.flow), DstPort: 80, Seq: s.seq, Ack: s.ack, Window: win,
			ACK: !s.noACK, FIN: s.flags&0x01 != 0, SYN: s.flags&0x02 != 0, RST: s.flags&0x04 != 0,
			PSH: s.flags&0x08 != 0, URG: s.flags&0x20 != 0, ECE: s.flags&0x40 != 0, CWR: s.flags&0x80 != 0}
		if s.ts != 0 {
			d := make([]byte, 8)
			binary.BigEndian.PutUint32(d, s.ts)
			binary.BigEndian.PutUint32(d[4:], 77)
			tc.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: d}}
		}
		_ = tc.SetNetworkLayerForChecksum(nl)
		ls = append(ls, tc)
	}
	ls = append(ls, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	frame := append([]byte(nil), buf.Bytes()...)
	sh := decode(t, frame)
	frame = frame[:sh.l2+sh.ipLen] // gopacket pads short frames to 60 bytes
	if s.zeroCsum {
		binary.BigEndian.PutUint16(frame[sh.l2+sh.l3+refUDPChecksum:], 0)
	}
	if s.corrupt && s.n > 0 {
		frame[len(frame)-1] ^= 0x5a
	}
	frame = append(frame, make([]byte, s.pad)...)
	return &built{sp: s, frame: frame, shape: sh, payload: payload}
}

func (b *built) status() checksum.Status {
	if b.bad {
		return checksum.Bad
	}
	return checksum.Good
}

// refMerge builds, with the reference code, the packet GRO must make of
// segs: the first one's headers, every payload, lengths, FIN and PSH, and
// checksums.
func refMerge(segs []*built) []byte {
	f := segs[0]
	h := f.shape
	out := append([]byte(nil), f.frame[:h.l2+h.l3+h.l4]...)
	var flags byte
	for _, s := range segs {
		out = append(out, s.payload...)
		flags |= s.flags & 0x09 // FIN, PSH
	}
	ip := out[h.l2:]
	if !h.v6 {
		binary.BigEndian.PutUint16(ip[refV4TotalLen:], uint16(len(ip)))
		binary.BigEndian.PutUint16(ip[refV4Checksum:], 0)
		binary.BigEndian.PutUint16(ip[refV4Checksum:], ^refSum(ip[:h.l3]))
	} else {
		binary.BigEndian.PutUint16(ip[refV6PayLen:], uint16(len(ip)-40))
	}
	l4 := ip[h.l3:]
	if !h.udp {
		l4[refTCPFlags] |= flags
		binary.BigEndian.PutUint16(l4[refTCPChecksum:], 0)
		binary.BigEndian.PutUint16(l4[refTCPChecksum:], ^refSum(refPseudo(h.v6, ip, 6, len(l4)), l4))
		return out
	}
	binary.BigEndian.PutUint16(l4[refUDPLen:], uint16(len(l4)))
	if f.zeroCsum {
		return out
	}
	binary.BigEndian.PutUint16(l4[refUDPChecksum:], 0)
	c := ^refSum(refPseudo(h.v6, ip, 17, len(l4)), l4)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(l4[refUDPChecksum:], c)
	return out
}

// train is count segments after s: sequence numbers and IPv4 IDs follow.
func train(s sp, count int) []sp {
	r := make([]sp, count)
	for i := range r {
		r[i] = s
		r[i].seq = s.seq + uint32(i*s.n)
		r[i].id = s.id + uint16(i)
	}
	return r
}

// cat joins spec lists.
func cat(lists ...[]sp) []sp {
	var r []sp
	for _, l := range lists {
		r = append(r, l...)
	}
	return r
}

// poolStore is a Store over fixed buffers that never allocates once built:
// Append copies within capacity, Free returns the buffer.
type poolStore struct {
	bufs [][]byte
	free []pkt.Handle
}

func newPoolStore(n, size int) *poolStore {
	s := &poolStore{bufs: make([][]byte, n), free: make([]pkt.Handle, n)}
	for i := range s.bufs {
		s.bufs[i] = make([]byte, 0, size)
		s.free[i] = pkt.Handle(n - i)
	}
	return s
}

func (s *poolStore) put(frame []byte) pkt.Handle {
	h := s.free[len(s.free)-1]
	s.free = s.free[:len(s.free)-1]
	s.bufs[h-1] = append(s.bufs[h-1][:0], frame...)
	return h
}

func (s *poolStore) Put(frame []byte) pkt.Handle              { return s.put(frame) }
func (s *poolStore) Bytes(h pkt.Handle) []byte                { return s.bufs[h-1] }
func (s *poolStore) Live() int                                { return len(s.bufs) - len(s.free) }
func (s *poolStore) Segs(h pkt.Handle, dst [][]byte) [][]byte { return append(dst, s.bufs[h-1]) }
func (s *poolStore) Len(h pkt.Handle) int                     { return len(s.bufs[h-1]) }
func (s *poolStore) Trim(h pkt.Handle, n int)                 { s.bufs[h-1] = s.bufs[h-1][:len(s.bufs[h-1])-n] }
func (s *poolStore) Free(h pkt.Handle)                        { s.free = append(s.free, h) }
func (s *poolStore) Append(dst, src pkt.Handle, off int) bool {
	d, b := s.bufs[dst-1], s.bufs[src-1]
	if off > len(b) || len(d)+len(b)-off > cap(d) {
		return false
	}
	s.bufs[dst-1] = append(d, b[off:]...)
	s.Free(src)
	return true
}

// verdicts renders fates as letters, for table comparisons.
func verdicts(v []Verdict) string {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = "PHMD"[x.Fate]
	}
	return string(b)
}

func (o Output) String() string {
	return fmt.Sprintf("{pkt %d kind %v segs %d segsize %d %v}", o.Pkt, o.Kind, o.Segs, o.SegSize, o.Flush)
}

// testStore is a Store the runners can put frames into and read back.
type testStore interface {
	pkt.Store
	Put([]byte) pkt.Handle
	Bytes(pkt.Handle) []byte
	Live() int
}

// chainStore is a Store that chains segments as mbufs do: Append links the
// source's buffers after the destination's, copying nothing. put can split
// a frame into segments after its headers. It allocates nothing once built
// (but Bytes, for tests).
type chainStore struct {
	bufs  [][]byte
	freeB []int32
	pkts  []chain
	freeH []pkt.Handle
	split int // put splits frames this many bytes after the start, if > 0
}

const maxChain = 96

type chain struct {
	segs [maxChain][]byte
	buf  [maxChain]int32
	n    int
}

func newChainStore(handles, bufs, size int) *chainStore {
	s := &chainStore{bufs: make([][]byte, bufs), pkts: make([]chain, handles)}
	for i := range s.bufs {
		s.bufs[i] = make([]byte, size)
		s.freeB = append(s.freeB, int32(i))
	}
	for i := handles; i > 0; i-- {
		s.freeH = append(s.freeH, pkt.Handle(i))
	}
	return s
}

func (s *chainStore) takeBuf(b []byte) ([]byte, int32) {
	if len(s.freeB) == 0 { // tests grow it; benchmarks size it up front
		s.bufs = append(s.bufs, make([]byte, 4096))
		s.freeB = append(s.freeB, int32(len(s.bufs)-1))
	}
	i := s.freeB[len(s.freeB)-1]
	s.freeB = s.freeB[:len(s.freeB)-1]
	return s.bufs[i][:copy(s.bufs[i], b)], i
}

// put stores a frame, in two segments if split is set and the frame is
// longer.
func (s *chainStore) put(frame []byte) pkt.Handle {
	if len(s.freeH) == 0 {
		s.pkts = append(s.pkts, chain{})
		s.freeH = append(s.freeH, pkt.Handle(len(s.pkts)))
	}
	h := s.freeH[len(s.freeH)-1]
	s.freeH = s.freeH[:len(s.freeH)-1]
	c := &s.pkts[h-1]
	c.n = 0
	for len(frame) > 0 {
		n := len(frame)
		if s.split > 0 && c.n == 0 && n > s.split {
			n = s.split
		}
		c.segs[c.n], c.buf[c.n] = s.takeBuf(frame[:n])
		c.n++
		frame = frame[n:]
	}
	return h
}

func (s *chainStore) Put(frame []byte) pkt.Handle { return s.put(frame) }
func (s *chainStore) Live() int                   { return len(s.pkts) - len(s.freeH) }

func (s *chainStore) Bytes(h pkt.Handle) []byte {
	var b []byte
	for _, seg := range s.pkts[h-1].segs[:s.pkts[h-1].n] {
		b = append(b, seg...)
	}
	return b
}

func (s *chainStore) Segs(h pkt.Handle, dst [][]byte) [][]byte {
	c := &s.pkts[h-1]
	return append(dst, c.segs[:c.n]...)
}

func (s *chainStore) Len(h pkt.Handle) int {
	n := 0
	c := &s.pkts[h-1]
	for _, seg := range c.segs[:c.n] {
		n += len(seg)
	}
	return n
}

func (s *chainStore) Append(dst, src pkt.Handle, off int) bool {
	d, c := &s.pkts[dst-1], &s.pkts[src-1]
	if d.n+c.n > maxChain || off > s.Len(src) {
		return false
	}
	for k := range c.n {
		seg := c.segs[k]
		if off >= len(seg) && len(seg) > 0 {
			off -= len(seg)
			s.freeB = append(s.freeB, c.buf[k])
			continue
		}
		d.segs[d.n], d.buf[d.n] = seg[off:], c.buf[k]
		d.n++
		off = 0
	}
	c.n = 0
	s.freeH = append(s.freeH, src)
	return true
}

// AppendTail makes chainStore a pkt.TailStore, as mbufs are. Its tails are
// segment counts: it checks that the engine hands back the last one it got
// for dst (or Nil), then appends as Append does, which leaves dst's first
// segment where it is.
func (s *chainStore) AppendTail(dst, tail, src pkt.Handle, off int) (pkt.Handle, bool) {
	if tail != pkt.Nil && tail != pkt.Handle(s.pkts[dst-1].n) {
		panic(fmt.Sprintf("chainStore: AppendTail given tail %d, dst has %d segments", tail, s.pkts[dst-1].n))
	}
	if !s.Append(dst, src, off) {
		return pkt.Nil, false
	}
	return pkt.Handle(s.pkts[dst-1].n), true
}

func (s *chainStore) Trim(h pkt.Handle, n int) {
	c := &s.pkts[h-1]
	for n > 0 {
		last := &c.segs[c.n-1]
		if len(*last) > n {
			*last = (*last)[:len(*last)-n]
			return
		}
		n -= len(*last)
		c.n--
		s.freeB = append(s.freeB, c.buf[c.n])
	}
}

func (s *chainStore) Free(h pkt.Handle) {
	c := &s.pkts[h-1]
	for k := range c.n {
		s.freeB = append(s.freeB, c.buf[k])
	}
	c.n = 0
	s.freeH = append(s.freeH, h)
}
