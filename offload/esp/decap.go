package esp

import (
	"net/netip"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// PrepareDecrypt reads the ESP frame p (l2Len bytes of L2 header, then
// IP), finds its inbound SA by SPI and destination, checks its lengths and
// its sequence number against the replay window, and fills job with the
// crypto work. It changes nothing in the packet; the window is updated
// only by FinishDecrypt, once the ICV is known good (RFC 4303 §3.4.3).
//
// IPv6 extension headers in front of ESP are kept; fragments are refused
// (reassemble first, RFC 4303 §3.4.1).
func (t *Table) PrepareDecrypt(p *Packet, l2Len int, job *Job) Reason {
	if l2Len < 0 || l2Len > p.Len || p.Off < 0 || p.Off+p.Len > len(p.Buf) {
		return Malformed
	}
	b := p.Buf[p.Off+l2Len : p.Off+p.Len]
	if len(b) < 1 {
		return NotIP
	}
	var (
		v6            bool
		hdrLen, ipLen int
		lastNH        int
		dst           netip.Addr
	)
	switch b[0] >> 4 {
	case 4:
		ip := header.IPv4(b)
		if !ip.IsValid(len(b)) {
			return Malformed
		}
		if ip.Protocol() != header.ProtoESP {
			return NotESP
		}
		if ip.IsFragment() {
			return Fragment
		}
		hdrLen, ipLen, dst = ip.HeaderLen(), int(ip.TotalLen()), ip.Dst()
	case 6:
		ip := header.IPv6(b)
		if !ip.IsValid(len(b)) {
			return Malformed
		}
		ipLen = header.IPv6Len + int(ip.PayloadLen())
		e, ok := header.WalkIPv6(ip[:ipLen])
		switch {
		case !ok:
			return Malformed
		case e.Proto != header.ProtoESP:
			return NotESP
		case e.FragOff != 0:
			return Fragment
		}
		v6, hdrLen, lastNH, dst = true, e.HeaderLen, e.LastNextHeader, ip.Dst()
	default:
		return NotIP
	}
	esp := b[hdrLen:ipLen]
	if len(esp) < HeaderLen {
		return Truncated
	}
	sa := t.Lookup(be.Uint32(esp), dst)
	if sa == nil {
		return UnknownSPI
	}
	if f := sa.cfg.Family(); sa.cfg.Mode == Transport && f != 0 && (f == 6) != v6 {
		return FamilyMismatch
	}
	ivLen := sa.ivLen
	cipherLen := len(esp) - HeaderLen - ivLen - ICVLen
	if cipherLen < TrailerLen {
		return Truncated
	}
	if cipherLen&sa.padMask != 0 {
		return BadLength
	}
	lo := be.Uint32(esp[4:])
	seq := uint64(lo)
	if sa.cfg.ESN {
		seq = sa.replay.infer(lo)
	}
	// A cheap reject before the crypto.
	if r := sa.replay.check(seq); r != OK {
		return r
	}
	sa.fillJob(job, Decrypt, l2Len+hdrLen, cipherLen, seq, esp[HeaderLen:HeaderLen+ivLen])
	job.l2Len, job.ipHdrLen, job.v6, job.lastNH = l2Len, hdrLen, v6, lastNH
	return OK
}

// FinishDecrypt completes a decryption the engine has done: with a good
// ICV it records the sequence number in the replay window, checks the
// trailer and strips ESP. In tunnel mode the inner packet is what remains
// after the L2 header (moved to it, with the inner EtherType); in transport
// mode the IP header (and any IPv6 extension headers) closes up to the
// payload, with the next header, length and IPv4 checksum set. Padding
// after the inner packet (TFC padding, RFC 4303 §2.4) is dropped.
// job.NextHeader is the trailer's next header.
func FinishDecrypt(p *Packet, job *Job) Reason {
	if job.Status != OK {
		return job.Status
	}
	sa := job.SA
	if job.Op != Decrypt || sa == nil {
		return WrongDirection
	}
	if job.ICVOff > p.Len || p.Off+p.Len > len(p.Buf) {
		return Malformed
	}
	if r := sa.replay.update(job.Seq); r != OK {
		return r
	}
	b := p.Buf[p.Off : p.Off+p.Len]
	padLen := int(b[job.ICVOff-2])
	nh := b[job.ICVOff-1]
	job.NextHeader = nh
	payloadLen := job.CipherLen - TrailerLen - padLen
	if payloadLen < 0 {
		return BadPadLength
	}
	for i, v := range b[job.ICVOff-TrailerLen-padLen : job.ICVOff-TrailerLen] {
		if v != byte(i+1) {
			return BadPadding
		}
	}
	if nh == header.ProtoNoNext {
		return Dummy
	}
	payload := b[job.CipherOff : job.CipherOff+payloadLen]
	l2 := job.l2Len

	if sa.cfg.Mode == Tunnel {
		var innerLen int
		var et uint16
		switch {
		case nh == protoIPv4 && len(payload) > 0 && payload[0]>>4 == 4:
			ip := header.IPv4(payload)
			if !ip.IsValid(len(payload)) {
				return BadInner
			}
			innerLen, et = int(ip.TotalLen()), header.EtherTypeIPv4
		case nh == protoIPv6 && len(payload) > 0 && payload[0]>>4 == 6:
			ip := header.IPv6(payload)
			if !ip.IsValid(len(payload)) {
				return BadInner
			}
			innerLen, et = header.IPv6Len+int(ip.PayloadLen()), header.EtherTypeIPv6
		case nh == protoIPv4 || nh == protoIPv6:
			return BadInner
		default:
			return BadNextHeader
		}
		off := p.Off + job.CipherOff - l2
		copy(p.Buf[off:off+l2], p.Buf[p.Off:p.Off+l2])
		if l2 >= 2 {
			be.PutUint16(p.Buf[off+l2-2:], et)
		}
		p.Off, p.Len = off, l2+innerLen
		return OK
	}

	keep := l2 + job.ipHdrLen
	off := p.Off + job.CipherOff - job.ESPOff
	copy(p.Buf[off:off+keep], p.Buf[p.Off:p.Off+keep])
	ipb := p.Buf[off+l2 : off+keep]
	if job.v6 {
		header.IPv6(ipb).SetPayloadLen(uint16(job.ipHdrLen - header.IPv6Len + payloadLen))
		ipb[job.lastNH] = nh
	} else {
		ip := header.IPv4(ipb)
		ip.SetTotalLen(uint16(job.ipHdrLen + payloadLen))
		ip.SetProtocol(nh)
		checksum.SetIPv4(ip)
	}
	p.Off, p.Len = off, keep+payloadLen
	return OK
}
