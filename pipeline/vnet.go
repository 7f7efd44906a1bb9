package pipeline

import (
	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// Kernel-facing ports (pmd.TapPort): every frame carries a virtio_net_hdr
// in the 12 bytes before it. On RX the kernel's header becomes the mbuf's
// request, checked like any request a port brings; on TX what is left for
// the device (what the kernel accepted) becomes our header.

// TapTable is the capability table of a TAP port: as its "hardware", what
// the kernel on the other side does with a frame we hand it, given the
// offloads it took from us (TUNSETOFFLOAD is symmetric in practice: a
// kernel that sends partial checksums and GSO super-frames takes them
// too). The IPv4 header checksum is never the kernel's: it verifies it.
func TapTable(t *pmd.TapPort) *offload.Table {
	var tx offload.TxCaps
	o := t.Offload()
	if o&pmd.TapCsum != 0 {
		tx |= offload.TxTCPCksum | offload.TxUDPCksum
	}
	if o&pmd.TapTSO4 != 0 {
		tx |= offload.TxTCPTSO
	}
	if o&pmd.TapTSO6 != 0 {
		tx |= offload.TxTCPTSO6
	}
	if o&pmd.TapUSO4 != 0 {
		tx |= offload.TxUDPTSO
	}
	if o&pmd.TapUSO6 != 0 {
		tx |= offload.TxUDPTSO6
	}
	tab := offload.NewTable(t.ID(), "net_opmdtap", 0, tx)
	tab.MTU = 1500
	return tab
}

// TapDefaults is the change a TAP port's table starts from: every task
// its kernel took enabled and left to it, and the IPv4 header checksum,
// which no kernel takes, in software.
func TapDefaults(tab *offload.Table) offload.Change {
	return offload.Change{EnableTx: tab.HardwareTx() | offload.TxIPv4Cksum, SoftwareTx: offload.TxIPv4Cksum}
}

// vnetDecode turns each frame's virtio_net_hdr into its mbuf request:
// NEEDS_CSUM and the GSO fields become ol_flags, lengths, tso_segsz and
// the partial-checksum and UFO dynamic flags; DATA_VALID becomes
// RX_L4_CKSUM_GOOD. The headers are not trusted: a header that does not
// describe its frame refuses the packet, counted under its reason. What
// the kernel may ask for is then checked by validate against the port's
// enabled table.
func (s *Stream) vnetDecode(pkts []*pmd.Mbuf) []*pmd.Mbuf {
	o := s.off
	kept := 0
	for _, m := range pkts {
		off := int(m.DataOff())
		f := offload.VirtioNetHdr(m.Buf()[off-pmd.VnetHdrLen : off]).Decode()
		fl := m.OlFlags()
		if f.Flags&offload.VirtioFlagDataValid != 0 {
			fl = fl&^offload.OlRxL4CksumMask | offload.OlRxL4CksumGood
		}
		if f.Flags&offload.VirtioFlagNeedsCsum != 0 || f.GSOType != offload.VirtioGSONone {
			r, _, why := f.ToRequestHead(m.Data(), int(m.PktLen()))
			if why != offload.RefusalNone {
				_, mal := header.ParseHead(m.Data(), int(m.PktLen()))
				s.refuse(m, why, mal)
				continue
			}
			fl |= r.OlFlags
			if r.Partial {
				fl |= o.cfg.Partial.Mask()
			}
			if r.UFO {
				fl |= o.cfg.UFO.Mask()
			}
			m.SetTxLengths(pmd.TxLengths{L2: r.L2Len, L3: r.L3Len, L4: r.L4Len, TSOSegsz: r.TSOSegsz})
			s.cnt.Inc(int(VnetRequests))
		}
		m.SetOlFlags(fl)
		pkts[kept] = m
		kept++
	}
	return pkts[:kept]
}

// vnetEncodeQueued writes the virtio_net_hdr of every packet the next poll sends to
// a kernel-facing port.
func (s *Stream) vnetEncodeQueued() {
	a, b := s.io.Queued()
	for _, m := range a {
		s.vnetEncode(m)
	}
	for _, m := range b {
		s.vnetEncode(m)
	}
}

// vnetEncode writes m's header from what is left for the device: a
// segmentation becomes a GSO super-frame (the kernel takes it as one
// packet), an L4 checksum NEEDS_CSUM with the pseudo-header sum in the
// field, as Linux's own partial checksums hold it; an assembled packet
// (RX_LRO with its segment size) goes up as a GSO super-frame when the
// kernel took that GSO type; a checksum known good is DATA_VALID. A
// packet with no headroom for it goes with a zero header (the C side
// writes it).
func (s *Stream) vnetEncode(m *pmd.Mbuf) {
	off := int(m.DataOff())
	if off < pmd.VnetHdrLen {
		return
	}
	h := offload.VirtioNetHdr(m.Buf()[off-pmd.VnetHdrLen : off])
	var f offload.VirtioFields
	fl := m.OlFlags()
	good := fl&offload.OlRxL4CksumMask == offload.OlRxL4CksumGood
	seg := fl&(offload.OlTxTCPSeg|offload.OlTxUDPSeg) != 0
	lro := fl&offload.OlRxLRO != 0 && m.TSOSegsz() > 0
	if s.off != nil && (seg || fl&offload.OlTxL4Mask != 0 || lro || good) {
		l := &s.off.layout
		if header.ParseHeadInto(m.Data(), int(m.PktLen()), l) == header.OK && l.L4Len > 0 && !l.Fragment {
			r := offload.RxResult{Layout: *l}
			switch {
			case seg || fl&offload.OlTxL4Mask != 0:
				if seg {
					r.SegSize = m.TSOSegsz()
				}
				r.Partial = checksum.PreparePseudo(m.Data(), l, false)
			case lro && s.vnetGSO(l):
				r.SegSize, r.ChecksumValid = m.TSOSegsz(), good
			default:
				r.ChecksumValid = good
			}
			f = offload.VirtioFromRx(&r)
		}
	}
	h.Encode(&f)
}

// vnetGSO reports whether the egress kernel took GSO super-frames of l's
// kind (from what the TAP took at set-up, kept in the stream).
func (s *Stream) vnetGSO(l *header.Layout) bool {
	o := s.vnetTxOffload
	switch {
	case l.L4Proto == header.ProtoUDP && l.L3 == header.L3IPv4:
		return o&pmd.TapUSO4 != 0
	case l.L4Proto == header.ProtoUDP:
		return o&pmd.TapUSO6 != 0
	case l.L3 == header.L3IPv4:
		return o&pmd.TapTSO4 != 0
	default:
		return o&pmd.TapTSO6 != 0
	}
}

// lroAsRequest turns what a vhost-user port reports of a guest's offload
// requests into the requests the guest meant. DPDK 22.11's vhost library
// (in its default, compliant mode) hands a virtio GSO frame over as a
// received LRO packet (RX_LRO with the segment size in tso_segsz, no TX
// flag) and a NEEDS_CSUM frame, when the port enables RX checksum
// offloads, as RX_L4_CKSUM_NONE with the pseudo-header sum still in the
// field (without them its PMD completes the sum itself). For a packet on
// its way to another port these are a segmentation (TSO for TCP with the
// IPv4 and TCP checksums of each segment, UFO for UDP: virtio's GSO_UDP)
// and a checksum to complete. A packet that already carries a TX request,
// or whose headers do not parse, is left as it is (validate judges it).
func (s *Stream) lroAsRequest(pkts []*pmd.Mbuf) {
	o := s.off
	for _, m := range pkts {
		f := m.OlFlags()
		if o.hasRequest(m) {
			s.legacyRequest(m, f)
			continue
		}
		lro := f&offload.OlRxLRO != 0 && m.TSOSegsz() > 0
		partial := f&offload.OlRxL4CksumMask == offload.OlRxL4CksumNone
		if !lro && !partial {
			continue
		}
		l := &o.layout
		if header.ParseHeadInto(m.Data(), int(m.PktLen()), l) != header.OK || l.L4Len == 0 || l.Fragment {
			continue
		}
		f &^= offload.OlRxLRO | offload.OlRxL4CksumMask
		ip := offload.OlTxIPv4 | offload.OlTxIPCksum
		if l.L3 == header.L3IPv6 {
			ip = offload.OlTxIPv6
		}
		segsz := uint16(0)
		switch {
		case !lro && l.L4Proto == header.ProtoTCP:
			f |= offload.OlTxTCPCksum | ip&^offload.OlTxIPCksum | o.cfg.Partial.Mask()
		case !lro && l.L4Proto == header.ProtoUDP:
			f |= offload.OlTxUDPCksum | ip&^offload.OlTxIPCksum | o.cfg.Partial.Mask()
		case l.L4Proto == header.ProtoTCP:
			f |= offload.OlTxTCPSeg | offload.OlTxTCPCksum | ip
			segsz = m.TSOSegsz()
		case l.L4Proto == header.ProtoUDP && o.cfg.UFO.Mask() != 0:
			f |= ip&^offload.OlTxIPCksum | o.cfg.UFO.Mask()
			segsz = m.TSOSegsz()
		default:
			continue
		}
		m.SetOlFlags(f)
		m.SetTxLengths(pmd.TxLengths{L2: uint16(l.L2Len), L3: uint16(l.L3Len), L4: uint16(l.L4Len), TSOSegsz: segsz})
		if lro {
			s.cnt.Inc(int(VhostGSORequests))
		} else {
			s.cnt.Inc(int(VhostCsumRequests))
		}
	}
}

// legacyRequest completes a guest's request that the vhost library handed
// over in its legacy mode (legacy-ol-flags=1): as TX flags, with the IP
// type but without the IPv4 header checksum a TSO request needs, and with
// the L4 length of a bare header (a TCP header's options left out). The
// lengths come from the headers here, the IPv4 checksum flag is added to
// an IPv4 TSO request (its segments each need one); a packet whose headers
// do not parse is left as it is, for validate to judge.
func (s *Stream) legacyRequest(m *pmd.Mbuf, f uint64) {
	if f&offload.OlTxL4Mask == 0 && f&(offload.OlTxTCPSeg|offload.OlTxUDPSeg) == 0 {
		return
	}
	l := &s.off.layout
	if header.ParseHeadInto(m.Data(), int(m.PktLen()), l) != header.OK || l.L4Len == 0 || l.Fragment {
		return
	}
	f &^= offload.OlTxIPv4 | offload.OlTxIPv6
	if l.L3 == header.L3IPv6 {
		f |= offload.OlTxIPv6
	} else {
		f |= offload.OlTxIPv4
		if f&offload.OlTxTCPSeg != 0 {
			f |= offload.OlTxIPCksum
		}
	}
	m.SetOlFlags(f)
	m.SetTxLengths(pmd.TxLengths{L2: uint16(l.L2Len), L3: uint16(l.L3Len), L4: uint16(l.L4Len), TSOSegsz: m.TSOSegsz()})
	s.cnt.Inc(int(VhostLegacyRequests))
}

// assembledToGuest turns m, a packet GRO assembled on another port
// (RX_LRO with its segment size), into a request to the egress vhost-user
// port, made as the engine's own (the egress table allows it), and
// reports whether it did (gso: as one GSO frame). A TCP packet goes to a
// guest that takes TCP super-frames of its IP version as one GSO frame;
// its library writes the header from the flags, and the checksum field's
// pseudo-header sum itself (DPDK's rte_net_intel_cksum_prepare convention:
// for a GSO frame, without the length). Otherwise, where the egress table
// enables TSO or USO, it is cut back here into segments of that size, as
// no guest takes a frame over its MTU; left as it is, it would go as one.
func (s *Stream) assembledToGuest(m *pmd.Mbuf, b *burstView) (made, gso bool) {
	segsz := m.TSOSegsz()
	if segsz == 0 {
		return false, false
	}
	l := &s.off.layout
	if header.ParseHeadInto(m.Data(), int(m.PktLen()), l) != header.OK || l.L4Len == 0 || l.Fragment || l.PayloadOff()+int(segsz) > l.PktLen {
		return false, false
	}
	v6 := l.L3 == header.L3IPv6
	ip := offload.OlTxIPv4 | offload.OlTxIPCksum
	if v6 {
		ip = offload.OlTxIPv6
	}
	// seg: the segmentation the request needs the egress table to allow.
	var f uint64
	var seg offload.TxCaps
	switch l.L4Proto {
	case header.ProtoTCP:
		f, seg = offload.OlTxTCPSeg|offload.OlTxTCPCksum|ip, offload.TxTCPTSO
		if v6 {
			seg = offload.TxTCPTSO6
		}
	case header.ProtoUDP:
		f, seg = offload.OlTxUDPSeg|offload.OlTxUDPCksum|ip, offload.TxUDPTSO
		if v6 {
			seg = offload.TxUDPTSO6
		}
	default:
		return false, false
	}
	if !b.allowedOwn.Has(seg) {
		return false, false
	}
	gso = l.L4Proto == header.ProtoTCP && b.hw&seg != 0 // a guest's UDP super-frames are never GSO
	m.SetOlFlags(m.OlFlags()&^(offload.OlRxLRO|offload.OlTxOffloadMask) | f)
	m.SetTxLengths(pmd.TxLengths{L2: uint16(l.L2Len), L3: uint16(l.L3Len), L4: uint16(l.L4Len), TSOSegsz: segsz})
	return true, gso
}
