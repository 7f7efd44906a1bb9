package pipeline

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// CsumSettings are the csum engine's per-port settings, testpmd's `tso
// set`, `set port N gso on` and `set gso segsz`. Whether each checksum is
// done by the device or in software is the port's capability table's
// business (`csum set X hw|sw`).
type CsumSettings struct {
	// TSOSegsz: TCP packets whose payload exceeds it are segmented to it
	// (tcp_tso / tcp_tso6, by the device where it can). 0: off.
	TSOSegsz uint16
	// USOSegsz: UDP datagrams whose payload exceeds it are cut into
	// datagrams of that payload (udp_tso / udp_tso6). offloadpmd's own
	// `uso set`; testpmd has none. 0: off.
	USOSegsz uint16
	// GSO: segment TCP and fragment UDP in software to frames of at most
	// GSOSegsz bytes, Ethernet header included (testpmd's GSO).
	GSO      bool
	GSOSegsz uint16
}

// csumPorts holds each TX port's csum settings, swapped atomically so a
// change applies from the next burst.
type csumPorts [offload.MaxPorts]atomic.Pointer[CsumSettings]

// SetCsum publishes port's csum engine settings.
func (o *Offload) SetCsum(port uint16, c CsumSettings) {
	if int(port) < len(o.csum) {
		o.csum[port].Store(&c)
	}
}

// Csum returns port's csum engine settings.
func (o *Offload) Csum(port uint16) CsumSettings {
	if int(port) < len(o.csum) {
		if c := o.csum[port].Load(); c != nil {
			return *c
		}
	}
	return CsumSettings{}
}

// CsumEngine parses each packet and asks for its checksums (and TSO or
// GSO where configured); the TX stage does them on the device where the
// egress port does them in hardware, in software otherwise. testpmd's csum
// engine, without tunnels.
var CsumEngine = Engine{
	Name:        "csum",
	Help:        "set IP/TCP/UDP checksum (and TSO/GSO) requests; the device or software does them",
	Fwd:         csumFwd,
	OwnRequests: true,
}

func csumFwd(s *Stream, pkts []*pmd.Mbuf) int {
	var cfg CsumSettings
	quick := false
	if s.off != nil {
		cfg = s.off.cfg.Csum(s.TxPort)
		quick = s.off.plan.allSoftware() && cfg == (CsumSettings{})
	}
	kept, slow := 0, 0
	var n quickCounts
	if quick {
		n = s.newQuickCounts()
	}
	for _, m := range pkts {
		s.countRxBad(m)
		switch {
		case quick && s.csumQuick(m, &n):
		case s.csumRequest(m, &cfg):
			slow++
		default:
			continue
		}
		pkts[kept] = m
		kept++
	}
	if s.off != nil {
		// Every packet kept is finished: the TX stage has nothing to do.
		s.off.finished = slow == 0
	}
	if n.ip != 0 {
		s.cnt.Add(int(SoftwareTask(offload.TaskIPv4Cksum)), n.ip)
	}
	if n.l4 != 0 {
		s.cnt.Add(int(SoftwareTask(offload.TaskL4Cksum)), n.l4)
	}
	return kept
}

// quickCounts are the tasks csumQuick performed in a burst, counted once,
// and the ol_flags it clears (the request flags, dynamic ones included).
type quickCounts struct{ ip, l4, clear uint64 }

func (s *Stream) newQuickCounts() quickCounts {
	c := s.off.cfg
	return quickCounts{clear: offload.OlTxOffloadMask | rxFlags | c.UFO.Mask() | c.Partial.Mask() | c.Digest.Mask() | c.DigestAppend.Mask()}
}

// csumQuick is csumRequest and the TX stage at once for the plainest
// packets, when software does every checksum and nothing is to be
// segmented: one segment, untagged Ethernet, IPv4 without options and not
// a fragment or IPv6 without extension headers, TCP or UDP (with a
// checksum) whose lengths hold. Such a packet leaves with its checksums
// computed, its lengths set and no TX flag, exactly as through
// csumRequest and csumNow. For any other packet it reports false,
// touching nothing: csumRequest takes it.
func (s *Stream) csumQuick(m *pmd.Mbuf, n *quickCounts) bool {
	const eth, ip4, ip6 = 14, 20, 40
	d := m.Data()
	if m.NbSegs() != 1 || int(m.PktLen()) != len(d) || len(d) < eth+ip4+header.UDPLen {
		return false
	}
	var ip, l4 []byte
	v6 := false
	switch be.Uint16(d[12:]) {
	case header.EtherTypeIPv4:
		ip = d[eth:]
		tot := int(be.Uint16(ip[2:]))
		if ip[0] != 0x45 || tot < ip4+header.UDPLen || eth+tot > len(d) || be.Uint16(ip[6:])&0x3fff != 0 {
			return false // options, a lying length, a fragment
		}
		l4 = d[eth+ip4 : eth+tot]
	case header.EtherTypeIPv6:
		if len(d) < eth+ip6+header.UDPLen {
			return false
		}
		ip = d[eth:]
		end := eth + ip6 + int(be.Uint16(ip[4:]))
		if ip[0]>>4 != 6 || end > len(d) || end < eth+ip6+header.UDPLen {
			return false
		}
		l4, v6 = d[eth+ip6:end], true
	default:
		return false
	}
	proto := ip[9]
	if v6 {
		proto = ip[6]
	}
	var l4len int
	switch proto {
	case header.ProtoTCP:
		if len(l4) < header.TCPMinLen {
			return false
		}
		l4len = int(l4[12]>>4) * 4
		if l4len < header.TCPMinLen || l4len > len(l4) {
			return false
		}
	case header.ProtoUDP:
		// A UDP checksum of 0 is left alone: csumRequest asks for no
		// L4 checksum then.
		if u := int(be.Uint16(l4[4:])); u < header.UDPLen || u > len(l4) || be.Uint16(l4[6:]) == 0 {
			return false
		}
		l4len = header.UDPLen
	default:
		return false
	}
	l3len := ip4
	if v6 {
		l3len = ip6
	} else {
		checksum.SetIPv4NoOptions(ip[:ip4])
		n.ip++
	}
	checksum.SetL4Flat(ip, l4, v6, proto)
	n.l4++
	m.SetOlFlags(m.OlFlags() &^ n.clear)
	m.SetTxLengths(pmd.TxLengths{L2: eth, L3: uint16(l3len), L4: uint16(l4len)})
	return true
}

var be = binary.BigEndian

// countRxBad counts what the RX flags say is bad, as testpmd's csum engine
// does.
func (s *Stream) countRxBad(m *pmd.Mbuf) {
	f := m.OlFlags()
	if f&offload.OlRxIPCksumMask == offload.OlRxIPCksumBad {
		s.cnt.Inc(int(CsumRxBadIP))
	}
	if f&offload.OlRxL4CksumMask == offload.OlRxL4CksumBad {
		s.cnt.Inc(int(CsumRxBadL4))
	}
}

// csumRequest sets m's TX request. A packet that is not IP goes as it is;
// one whose headers do not parse is dropped and counted.
func (s *Stream) csumRequest(m *pmd.Mbuf, cfg *CsumSettings) bool {
	var lay header.Layout
	l := &lay
	if bad := header.ParseHeadInto(m.Data(), int(m.PktLen()), l); bad != header.OK {
		s.dropCounted(m, Malformed(bad))
		return false
	}
	// The request is the engine's alone: TX flags, and the dynamic flags
	// of requests, that the packet came with go.
	drop := offload.OlTxOffloadMask | rxFlags
	if s.off != nil {
		c := s.off.cfg
		drop |= c.UFO.Mask() | c.Partial.Mask() | c.Digest.Mask() | c.DigestAppend.Mask()
	}
	f := m.OlFlags() &^ drop
	if l.L3 == header.L3None {
		m.SetOlFlags(f)
		return true
	}
	var segsz uint16
	ufo := false
	payload := l.PktLen - l.PayloadOff()
	if l.L3 == header.L3IPv4 {
		f |= offload.OlTxIPv4 | offload.OlTxIPCksum
	} else {
		f |= offload.OlTxIPv6
	}
	switch {
	case l.Fragment || l.L4Len == 0:
	case l.L4Proto == header.ProtoTCP:
		f |= offload.OlTxTCPCksum
		switch {
		case cfg.GSO && cfg.GSOSegsz > 0:
			if n := int(cfg.GSOSegsz) - l.PayloadOff(); n > 0 && payload > n {
				f, segsz = f|offload.OlTxTCPSeg, uint16(n)
			}
		case cfg.TSOSegsz > 0 && payload > int(cfg.TSOSegsz):
			f, segsz = f|offload.OlTxTCPSeg, cfg.TSOSegsz
		}
	case l.L4Proto == header.ProtoUDP:
		// testpmd leaves a UDP checksum of 0 (not computed) alone.
		if header.UDP(m.Data()[l.L4Off():]).Checksum() != 0 {
			f |= offload.OlTxUDPCksum
		}
		if cfg.USOSegsz > 0 && payload > int(cfg.USOSegsz) {
			f |= offload.OlTxUDPSeg | offload.OlTxUDPCksum
			segsz = cfg.USOSegsz
		} else if cfg.GSO && cfg.GSOSegsz > 0 {
			// testpmd's UDP GSO is IP fragmentation.
			if n := (int(cfg.GSOSegsz) - l.L2Len - l.L3Len) &^ 7; n > 0 && l.PktLen-l.L2Len > int(cfg.GSOSegsz)-l.L2Len {
				segsz, ufo = uint16(n), true
			}
		}
	}
	m.SetTxLengths(pmd.TxLengths{L2: uint16(l.L2Len), L3: uint16(l.L3Len), L4: uint16(l.L4Len), TSOSegsz: segsz})
	if segsz == 0 && s.off != nil && s.off.plan.on {
		if done, keep := s.csumNow(m, l, f); done {
			return keep
		}
	}
	m.SetOlFlags(f)
	if ufo {
		s.off.cfg.UFO.Set(m)
	}
	return true
}

// csumPlan is who performs each checksum the csum engine asks for: the
// steps Decode would make of them against the TX port's table, judged
// once per burst.
type csumPlan struct {
	// on: the engine performs software checksums itself (run to
	// completion only: in pipeline mode the TX half does them).
	on           bool
	ip, tcp, udp offload.Step
}

// allSoftware: every checksum the engine asks for is software's to do
// here.
func (p *csumPlan) allSoftware() bool {
	return p.on && p.ip.Verdict == offload.Software && p.tcp.Verdict == offload.Software && p.udp.Verdict == offload.Software
}

func makeCsumPlan(b *burstView, on bool) csumPlan {
	return csumPlan{
		on:  on,
		ip:  offload.Judge(offload.TaskIPv4Cksum, offload.TxIPv4Cksum, b.allowedOwn, b.hw),
		tcp: offload.Judge(offload.TaskL4Cksum, offload.TxTCPCksum, b.allowedOwn, b.hw),
		udp: offload.Judge(offload.TaskL4Cksum, offload.TxUDPCksum, b.allowedOwn, b.hw),
	}
}

// csumNow is the TX stage for a packet that asks for checksums only,
// done as soon as csumRequest has set its request f, from the headers it
// just parsed: the checksums software performs are computed, a refused
// one drops the packet, as txTasks would. done is false when the device
// performs one of them: then txTasks decodes the request as usual.
func (s *Stream) csumNow(m *pmd.Mbuf, l *header.Layout, f uint64) (done, keep bool) {
	o := s.off
	p := &o.plan
	var l4 *offload.Step
	switch f & offload.OlTxL4Mask {
	case offload.OlTxTCPCksum:
		l4 = &p.tcp
	case offload.OlTxUDPCksum:
		l4 = &p.udp
	}
	ip := f&offload.OlTxIPCksum != 0
	switch {
	case ip && p.ip.Verdict == offload.Hardware, l4 != nil && l4.Verdict == offload.Hardware:
		return false, false
	case ip && p.ip.Verdict == offload.Refused:
		s.refuse(m, p.ip.Refusal, header.OK)
		return true, false
	case l4 != nil && l4.Verdict == offload.Refused:
		s.refuse(m, l4.Refusal, header.OK)
		return true, false
	}
	if ip {
		checksum.SetIPv4(header.IPv4(m.Data()[l.L3Off():]))
		s.cnt.Inc(int(SoftwareTask(offload.TaskIPv4Cksum)))
	}
	if l4 != nil {
		segs := o.one[:]
		if m.NbSegs() == 1 {
			o.one[0] = m.Data()
		} else {
			o.segs = m.SegViews(o.segs)
			segs = o.segs
		}
		checksum.SetL4(segs, l)
		s.cnt.Inc(int(SoftwareTask(offload.TaskL4Cksum)))
	}
	// Nothing is left for the device: no flag may make it act again.
	m.SetOlFlags(f &^ offload.OlTxOffloadMask)
	if o.cfg.Partial.Mask() != 0 {
		o.cfg.Partial.Clear(m)
	}
	return true, true
}

// rxFlags are the RX flags a forwarded packet no longer needs once its TX
// request is set.
const rxFlags = offload.OlRxIPCksumMask | offload.OlRxL4CksumMask | offload.OlRxLRO
