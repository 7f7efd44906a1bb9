package offload

import (
	"encoding/binary"

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
