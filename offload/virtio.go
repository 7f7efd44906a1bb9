package offload

import (
	"encoding/binary"
	"fmt"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// VirtioNetHdr is a struct virtio_net_hdr (virtio 1.1 §5.1.6), as a TAP
// with IFF_VNET_HDR reads and writes it before each frame: little-endian,
// 10 bytes, or 12 with num_buffers. This view is the one definition of the
// wire format in offloadpmd.
type VirtioNetHdr []byte

// virtio_net_hdr layout and values.
const (
	VirtioNetHdrLen      = 10
	VirtioNetHdrMrgLen   = 12 // with num_buffers
	vnetFlags            = 0
	vnetGSOType          = 1
	vnetHdrLen           = 2
	vnetGSOSize          = 4
	vnetCsumStart        = 6
	vnetCsumOffset       = 8
	vnetNumBuffers       = 10
	VirtioFlagNeedsCsum  = 1
	VirtioFlagDataValid  = 2
	VirtioFlagRSCInfo    = 4
	VirtioGSONone        = 0
	VirtioGSOTCPv4       = 1
	VirtioGSOUDP         = 3 // UFO
	VirtioGSOTCPv6       = 4
	VirtioGSOUDPL4       = 5 // USO
	VirtioGSOECN         = 0x80
	virtioMaxUDPSegments = 64 // Linux's UDP_MAX_SEGMENTS
	tcpChecksumFieldOff  = header.TCPChecksumOff
	udpChecksumFieldOff  = header.UDPChecksumOff
)

var vle = binary.LittleEndian

// VirtioFields are the fields of a virtio_net_hdr.
type VirtioFields struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16
	GSOSize    uint16
	CsumStart  uint16
	CsumOffset uint16
	NumBuffers uint16 // only in the 12-byte form
}

// Decode reads the header's fields.
func (h VirtioNetHdr) Decode() VirtioFields {
	f := VirtioFields{
		Flags: h[vnetFlags], GSOType: h[vnetGSOType],
		HdrLen: vle.Uint16(h[vnetHdrLen:]), GSOSize: vle.Uint16(h[vnetGSOSize:]),
		CsumStart: vle.Uint16(h[vnetCsumStart:]), CsumOffset: vle.Uint16(h[vnetCsumOffset:]),
	}
	if len(h) >= VirtioNetHdrMrgLen {
		f.NumBuffers = vle.Uint16(h[vnetNumBuffers:])
	}
	return f
}

// Encode writes f into the header (10 or 12 bytes).
func (h VirtioNetHdr) Encode(f *VirtioFields) {
	h[vnetFlags], h[vnetGSOType] = f.Flags, f.GSOType
	vle.PutUint16(h[vnetHdrLen:], f.HdrLen)
	vle.PutUint16(h[vnetGSOSize:], f.GSOSize)
	vle.PutUint16(h[vnetCsumStart:], f.CsumStart)
	vle.PutUint16(h[vnetCsumOffset:], f.CsumOffset)
	if len(h) >= VirtioNetHdrMrgLen {
		vle.PutUint16(h[vnetNumBuffers:], f.NumBuffers)
	}
}

// ToRequest turns a frame's virtio_net_hdr into a TX request, following the
// kernel's rules for what a header may say (virtio_net_hdr_to_skb): hdr_len
// is not trusted (the lengths come from parsing the frame);
// csum_start/csum_offset must lie inside the frame and, here, name the TCP
// or UDP checksum; UDP_L4 needs NEEDS_CSUM at offset 6 and at most 64
// segments; a GSO frame whose payload fits one segment asks for no
// segmentation. It returns the parsed layout with the request.
func (f *VirtioFields) ToRequest(frame []byte) (Request, header.Layout, Refusal) {
	return f.ToRequestHead(frame, len(frame))
}

// ToRequestHead is ToRequest for a frame of pktLen bytes whose first
// segment is frame (a chained mbuf): the headers must lie in frame.
func (f *VirtioFields) ToRequestHead(frame []byte, pktLen int) (Request, header.Layout, Refusal) {
	var r Request
	l, m := header.ParseHead(frame, pktLen)
	if m != header.OK {
		return r, l, RefMalformed
	}
	r.L2Len, r.L3Len, r.L4Len = uint16(l.L2Len), uint16(l.L3Len), uint16(l.L4Len)
	ipFlag := OlTxIPv4
	if l.L3 == header.L3IPv6 {
		ipFlag = OlTxIPv6
	}
	if f.Flags&VirtioFlagNeedsCsum != 0 {
		start, off := int(f.CsumStart), int(f.CsumOffset)
		if start+off+2 > l.PktLen {
			return r, l, RefVirtioCsumOutside
		}
		switch {
		case l.L3 == header.L3None || l.Fragment || start != l.L4Off():
			return r, l, RefVirtioCsumNotL4
		case l.L4Proto == header.ProtoTCP && off == tcpChecksumFieldOff:
			r.OlFlags |= OlTxTCPCksum | ipFlag
		case l.L4Proto == header.ProtoUDP && off == udpChecksumFieldOff:
			r.OlFlags |= OlTxUDPCksum | ipFlag
		default:
			return r, l, RefVirtioCsumNotL4
		}
		r.Partial = true
	}
	gso := f.GSOType &^ VirtioGSOECN
	if f.GSOType&VirtioGSOECN != 0 && gso != VirtioGSOTCPv4 && gso != VirtioGSOTCPv6 {
		return r, l, RefVirtioGSOType
	}
	if gso == VirtioGSONone {
		return r, l, RefusalNone
	}
	if f.GSOSize == 0 {
		return r, l, RefVirtioGSOSizeZero
	}
	payload := l.PktLen - l.PayloadOff()
	switch gso {
	case VirtioGSOTCPv4, VirtioGSOTCPv6:
		want := header.L3IPv4
		if gso == VirtioGSOTCPv6 {
			want = header.L3IPv6
		}
		if l.L3 != want || l.L4Proto != header.ProtoTCP || l.Fragment {
			return r, l, RefVirtioGSOMismatch
		}
		if payload > int(f.GSOSize) {
			r.OlFlags |= OlTxTCPSeg | OlTxTCPCksum | ipFlag
			if want == header.L3IPv4 {
				r.OlFlags |= OlTxIPCksum
			}
		}
	case VirtioGSOUDPL4:
		if l.L3 == header.L3None || l.L4Proto != header.ProtoUDP || l.Fragment {
			return r, l, RefVirtioGSOMismatch
		}
		if f.Flags&VirtioFlagNeedsCsum == 0 {
			return r, l, RefVirtioUSONeedsCsum
		}
		if payload > int(f.GSOSize)*virtioMaxUDPSegments {
			return r, l, RefVirtioTooManySegments
		}
		if payload > int(f.GSOSize) {
			r.OlFlags |= OlTxUDPSeg | OlTxUDPCksum | ipFlag
		}
	case VirtioGSOUDP:
		if l.L3 == header.L3None || l.L4Proto != header.ProtoUDP || l.Fragment {
			return r, l, RefVirtioGSOMismatch
		}
		// UFO's gso_size counts from the end of the IP header.
		if l.PktLen-l.L4Off() > int(f.GSOSize) {
			r.UFO = true
			r.OlFlags |= ipFlag
		}
	default:
		return r, l, RefVirtioGSOType
	}
	if r.OlFlags&(OlTxTCPSeg|OlTxUDPSeg) != 0 || r.UFO {
		r.TSOSegsz = f.GSOSize
	}
	return r, l, RefusalNone
}

// RxResult is what offloadpmd tells the OS about a frame it hands over:
// the virtio_net_hdr side of RX offloads.
type RxResult struct {
	Layout header.Layout
	// ChecksumValid: the L4 checksum was verified (DATA_VALID).
	ChecksumValid bool
	// Partial: the L4 checksum field holds the pseudo-header sum and the
	// OS is to complete it (NEEDS_CSUM), as for a GRO super-frame whose
	// checksum was not recomputed.
	Partial bool
	// SegSize, when non-zero, makes the frame a GSO super-frame of
	// segments of this payload size (receive offload for the OS).
	SegSize uint16
	// ECN: the super-frame's segments carried CWR (TCP).
	ECN bool
}

// VirtioFromRx builds the virtio_net_hdr for a frame handed to the OS.
func VirtioFromRx(r *RxResult) VirtioFields {
	var f VirtioFields
	l := &r.Layout
	if r.Partial && l.L4Len > 0 {
		f.Flags |= VirtioFlagNeedsCsum
		f.CsumStart = uint16(l.L4Off())
		f.CsumOffset = tcpChecksumFieldOff
		if l.L4Proto == header.ProtoUDP {
			f.CsumOffset = udpChecksumFieldOff
		}
	} else if r.ChecksumValid {
		f.Flags |= VirtioFlagDataValid
	}
	if r.SegSize > 0 && l.L4Len > 0 {
		f.GSOSize = r.SegSize
		f.HdrLen = uint16(l.PayloadOff())
		switch {
		case l.L4Proto == header.ProtoUDP:
			f.GSOType = VirtioGSOUDPL4
		case l.L3 == header.L3IPv6:
			f.GSOType = VirtioGSOTCPv6
		default:
			f.GSOType = VirtioGSOTCPv4
		}
		if r.ECN && l.L4Proto == header.ProtoTCP {
			f.GSOType |= VirtioGSOECN
		}
	}
	return f
}

// Virtio-net feature bits (virtio 1.2 §5.1.3) that say what a guest takes
// in on its receive queues: what a vhost-user port may leave to it.
const (
	VirtioFGuestCsum = 1  // partial checksums (NEEDS_CSUM)
	VirtioFGuestTSO4 = 7  // TCP/IPv4 GSO super-frames
	VirtioFGuestTSO6 = 8  // TCP/IPv6 GSO super-frames
	VirtioFGuestECN  = 9  // GSO with ECN
	VirtioFGuestUFO  = 10 // UDP fragmentation offload super-frames
	VirtioFGuestUSO4 = 54 // UDP/IPv4 segmentation super-frames
	VirtioFGuestUSO6 = 55 // UDP/IPv6 segmentation super-frames
)

var virtioFeatureNames = map[int]string{
	0: "csum", VirtioFGuestCsum: "guest_csum", 2: "ctrl_guest_offloads", 3: "mtu", 5: "mac",
	VirtioFGuestTSO4: "guest_tso4", VirtioFGuestTSO6: "guest_tso6", VirtioFGuestECN: "guest_ecn",
	VirtioFGuestUFO: "guest_ufo", 11: "host_tso4", 12: "host_tso6", 13: "host_ecn", 14: "host_ufo",
	15: "mrg_rxbuf", 16: "status", 17: "ctrl_vq", 18: "ctrl_rx", 19: "ctrl_vlan", 21: "guest_announce",
	22: "mq", 23: "ctrl_mac_addr", 28: "indirect_desc", 29: "event_idx", 30: "protocol_features",
	32: "version_1", 33: "access_platform", 34: "ring_packed", 35: "in_order",
	VirtioFGuestUSO4: "guest_uso4", VirtioFGuestUSO6: "guest_uso6", 56: "host_uso",
}

// VirtioFeatureNames names the virtio-net feature bits set in f, lowest
// first; a bit without a name here shows as "bit N".
func VirtioFeatureNames(f uint64) []string {
	var out []string
	for b := range 64 {
		if f&(1<<b) == 0 {
			continue
		}
		if n, ok := virtioFeatureNames[b]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("bit %d", b))
		}
	}
	return out
}

// VhostGuestTx is what a net_vhost port of DPDK 22.11 can leave to the
// guest that negotiated features f, as the port's "hardware" TX
// capabilities. Its vhost library turns an mbuf's TX flags into the
// virtio_net_hdr it writes to the guest (an L4 checksum into NEEDS_CSUM,
// TX_TCP_SEG into GSO_TCPV4/6) without looking at what the guest
// negotiated, so what the guest did not take must be done before: partial
// checksums need guest_csum, and a TCP super-frame its GSO type and
// guest_csum (its checksum is partial too). UDP is never left to the
// guest: the library writes GSO_UDP (fragmentation) for TX_UDP_SEG, and
// 22.11 knows no guest_uso4/6, so software cuts USO datagrams and UFO
// fragments whatever the guest took.
func VhostGuestTx(f uint64) TxCaps {
	has := func(b int) bool { return f&(1<<b) != 0 }
	if !has(VirtioFGuestCsum) {
		return 0
	}
	c := TxTCPCksum | TxUDPCksum
	if has(VirtioFGuestTSO4) {
		c |= TxTCPTSO
	}
	if has(VirtioFGuestTSO6) {
		c |= TxTCPTSO6
	}
	return c
}

// VhostTaskCaps are the TX capabilities VhostGuestTx decides; a vhost-user
// port's other advertised capabilities (multi_segs, vlan_insert) stay.
const VhostTaskCaps = TxTCPCksum | TxUDPCksum | TxSCTPCksum | TxTCPTSO | TxTCPTSO6 | TxUDPTSO | TxUDPTSO6 | TxUFO
