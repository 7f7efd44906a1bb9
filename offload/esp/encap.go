package esp

import (
	"math"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// Next headers of a tunnel's inner packet (IANA protocol numbers).
const (
	protoIPv4 = 4
	protoIPv6 = 41
)

// ipPacket is what Prepare reads of the IP packet after the L2 header.
type ipPacket struct {
	v6     bool
	len    int // the IP packet, as its header states it (no L2 padding)
	hdrLen int // IPv4 header with options; IPv6 fixed header
	proto  uint8
	tos    uint8 // DSCP and ECN
	df     bool
}

// readIP checks the IP header at b (the frame after its L2 header) and
// fills ip. (It fills the caller's ipPacket rather than returning one: a
// returned struct is stored field by field and reloaded whole, which
// stalls on store forwarding once per packet.)
func readIP(b []byte, ip *ipPacket) Reason {
	if len(b) < 1 {
		return NotIP
	}
	switch b[0] >> 4 {
	case 4:
		h := header.IPv4(b)
		if !h.IsValid(len(b)) {
			return Malformed
		}
		ip.v6, ip.len, ip.hdrLen, ip.proto, ip.tos = false, int(h.TotalLen()), h.HeaderLen(), h.Protocol(), h.TOS()
		ip.df = h.Flags()&header.IPv4FlagDF != 0
		return OK
	case 6:
		h := header.IPv6(b)
		if !h.IsValid(len(b)) {
			return Malformed
		}
		ip.v6, ip.len, ip.hdrLen, ip.proto, ip.tos = true, header.IPv6Len+int(h.PayloadLen()), header.IPv6Len, h.NextHeader(), h.TrafficClass()
		ip.df = false
		return OK
	}
	return NotIP
}

// isIPv6Ext reports whether an IPv6 next header is an extension header
// that would have to stay in front of ESP (RFC 4303 §3.1.1).
func isIPv6Ext(nh uint8) bool {
	switch nh {
	case header.ProtoHopByHop, header.ProtoRouting, header.ProtoFragment, header.ProtoDestOpts, header.ProtoAH:
		return true
	}
	return false
}

// PrepareEncrypt encapsulates the frame p in ESP under the outbound SA sa,
// in place, and fills job with the crypto work for an Engine. l2Len is the
// length of the frame's L2 header (0 for a bare IP packet).
//
// It writes everything but the ciphertext and the ICV: the ESP header
// with the next sequence number, the IV, the padding (1, 2, 3, ...,
// RFC 4303 §2.4), pad length and next header, and
//   - in tunnel mode, a new outer header in front of the whole IP packet
//     (IPv4: DSCP and ECN copied, DF per the SA's policy, ID from the
//     sequence number, TTL, checksum; IPv6: traffic class copied, hop
//     limit), the L2 header moved in front of it with the EtherType of
//     the outer version;
//   - in transport mode, the IP header moved to make room for ESP after
//     it, its protocol (IPv6: next header) set to ESP, its length and
//     checksum updated.
//
// Ethernet padding after the IP packet is dropped. On success p is the
// ESP frame (p.Off and p.Len changed). On a refusal nothing is written
// and no sequence number is used, except SeqOverflow.
func (sa *SA) PrepareEncrypt(p *Packet, l2Len int, job *Job) Reason {
	return sa.PrepareEncryptSeq(p, l2Len, job, nil)
}

// PrepareEncryptSeq is PrepareEncrypt taking the sequence number from
// seqs, the caller's block of numbers taken ahead (nil: one from the SA
// itself, as PrepareEncrypt).
func (sa *SA) PrepareEncryptSeq(p *Packet, l2Len int, job *Job, seqs *SeqBlock) Reason {
	if sa == nil {
		return NoSA
	}
	if sa.cfg.Dir != Outbound {
		return WrongDirection
	}
	if l2Len < 0 || l2Len > p.Len || p.Off < 0 || p.Off+p.Len > len(p.Buf) {
		return Malformed
	}
	buf := p.Buf
	start := p.Off + l2Len // the IP header
	if sa.fast4 && l2Len == header.EthernetLen {
		if b := buf[start : p.Off+p.Len]; len(b) >= header.IPv4MinLen && b[0] == 0x45 {
			return sa.encapTunnel4(p, job, seqs)
		}
	}
	var ip ipPacket
	if why := readIP(buf[start:p.Off+p.Len], &ip); why != OK {
		return why
	}
	ivLen := sa.ivLen

	// What goes in front of the payload, and what the payload is.
	var front, payloadLen int
	var nextHeader uint8
	if sa.cfg.Mode == Tunnel {
		front = sa.outer + HeaderLen + ivLen
		payloadLen = ip.len
		nextHeader = protoIPv4
		if ip.v6 {
			nextHeader = protoIPv6
		}
	} else {
		if f := sa.cfg.Family(); f != 0 && (f == 6) != ip.v6 {
			return FamilyMismatch
		}
		if ip.v6 && isIPv6Ext(ip.proto) {
			return ExtHeaders
		}
		if !ip.v6 && header.IPv4(buf[start:]).IsFragment() {
			return Fragment
		}
		front = HeaderLen + ivLen
		payloadLen = ip.len - ip.hdrLen
		nextHeader = ip.proto
	}
	// Align is a power of two (4 or 16): no division.
	padLen := -(payloadLen + TrailerLen) & sa.padMask
	cipherLen := payloadLen + padLen + TrailerLen
	espLen := HeaderLen + ivLen + cipherLen + ICVLen

	// The new IP length, and its limit.
	var ipLen int
	if sa.cfg.Mode == Tunnel {
		ipLen = sa.outer + espLen
		if sa.outer == header.IPv6Len {
			if espLen > math.MaxUint16 {
				return TooBig
			}
		} else if ipLen > math.MaxUint16 {
			return TooBig
		}
	} else {
		ipLen = ip.hdrLen + espLen
		if !ip.v6 && ipLen > math.MaxUint16 || ip.v6 && ipLen-header.IPv6Len > math.MaxUint16 {
			return TooBig
		}
	}
	if p.Off < front {
		return NoHeadroom
	}
	payloadEnd := start + ip.len
	if payloadEnd+padLen+TrailerLen+ICVLen+sa.spare > len(buf) {
		return NoTailroom
	}

	// Take a sequence number (RFC 4303 §3.3.3): the first is 1, and it
	// never wraps.
	seq, ok := sa.nextSeq(seqs)
	if !ok {
		return SeqOverflow
	}

	// Move the headers that stay in front: L2 in tunnel mode, L2 and the
	// IP header in transport mode.
	off := p.Off - front
	keep := l2Len
	if sa.cfg.Mode == Transport {
		keep += ip.hdrLen
	}
	if keep == header.EthernetLen {
		// The usual case, tunnel mode behind a plain Ethernet header:
		// a fixed-size move, without memmove's call.
		*(*[header.EthernetLen]byte)(buf[off:]) = *(*[header.EthernetLen]byte)(buf[p.Off:])
	} else {
		copy(buf[off:off+keep], buf[p.Off:p.Off+keep])
	}
	espOff := off + keep
	if sa.cfg.Mode == Tunnel {
		espOff += sa.outer
	}

	writeTrailer(buf[payloadEnd:payloadEnd+padLen+TrailerLen], padLen, nextHeader)
	iv := sa.writeHeader(buf[espOff:espOff+HeaderLen+ivLen], seq)

	// The IP header.
	if sa.cfg.Mode == Tunnel {
		sa.writeOuter(buf[off+l2Len:espOff], &ip, seq, ipLen)
		if l2Len >= 2 {
			et := uint16(header.EtherTypeIPv4)
			if sa.outer == header.IPv6Len {
				et = header.EtherTypeIPv6
			}
			be.PutUint16(buf[off+l2Len-2:], et)
		}
	} else if ip.v6 {
		h := header.IPv6(buf[off+l2Len : espOff])
		h.SetPayloadLen(uint16(ipLen - header.IPv6Len))
		h.SetNextHeader(header.ProtoESP)
	} else {
		h := header.IPv4(buf[off+l2Len : espOff])
		h.SetTotalLen(uint16(ipLen))
		h.SetProtocol(header.ProtoESP)
		checksum.SetIPv4(h)
	}

	p.Off = off
	p.Len = l2Len + ipLen
	sa.fillJob(job, Encrypt, espOff-off, cipherLen, seq, iv)
	return OK
}

// writeTrailer writes tr, the ESP trailer after the payload: padding 1,
// 2, 3, ..., then the pad length and the next header (RFC 4303 §2.4).
func writeTrailer(tr []byte, padLen int, nextHeader uint8) {
	for i := range padLen {
		tr[i] = byte(i + 1)
	}
	tr[padLen], tr[padLen+1] = byte(padLen), nextHeader
}

// writeHeader writes esp, the ESP header and IV of the packet with
// sequence number seq, and returns the IV. IVs: RFC 4106 §3.1, unique per
// key (GCM: the sequence number, unique per SA, masked per SA); RFC 3602
// §2.3, unpredictable (CBC: seq, SPI, 0 encrypted under the SA's IV key).
func (sa *SA) writeHeader(esp []byte, seq uint64) []byte {
	be.PutUint32(esp[0:], sa.cfg.SPI)
	be.PutUint32(esp[4:], uint32(seq))
	iv := esp[HeaderLen:]
	if sa.aead != nil {
		be.PutUint64(iv, seq^sa.secrets.ivMask)
	} else {
		be.PutUint64(iv, seq)
		be.PutUint32(iv[8:], sa.cfg.SPI)
		be.PutUint32(iv[12:], 0)
		sa.ivGen.Encrypt(iv, iv)
	}
	return iv
}

// encapTunnel4 is PrepareEncryptSeq's usual case, written out without
// its branches and calls: a tunnel SA with an IPv4 outer header (fast4),
// the packet behind a plain Ethernet header (p checked as
// PrepareEncryptSeq does), an IPv4 header without options. Its results,
// refusals included, are the general path's byte for byte
// (TestEncapFastPathMatches).
func (sa *SA) encapTunnel4(p *Packet, job *Job, seqs *SeqBlock) Reason {
	const l2, outer = header.EthernetLen, header.IPv4MinLen
	buf := p.Buf
	start := p.Off + l2
	in := buf[start : p.Off+p.Len]
	tl := int(be.Uint16(in[2:]))
	if tl < header.IPv4MinLen || tl > len(in) {
		return Malformed // as readIP
	}
	tos, df := in[1], be.Uint16(in[6:])&header.IPv4FlagDF != 0
	ivLen := sa.ivLen
	padLen := -(tl + TrailerLen) & sa.padMask
	cipherLen := tl + padLen + TrailerLen
	ipLen := outer + HeaderLen + ivLen + cipherLen + ICVLen
	if ipLen > math.MaxUint16 {
		return TooBig
	}
	front := outer + HeaderLen + ivLen
	if p.Off < front {
		return NoHeadroom
	}
	payloadEnd := start + tl
	if payloadEnd+padLen+TrailerLen+ICVLen+sa.spare > len(buf) {
		return NoTailroom
	}
	seq, ok := seqs.take(sa)
	if !ok {
		if seq, ok = sa.nextSeqSlow(seqs); !ok {
			return SeqOverflow
		}
	}

	// Ethernet in front, its EtherType IPv4 (the outer header's).
	off := p.Off - front
	*(*[l2]byte)(buf[off:]) = *(*[l2]byte)(buf[p.Off:])
	be.PutUint16(buf[off+l2-2:], header.EtherTypeIPv4)
	espOff := off + l2 + outer

	writeTrailer(buf[payloadEnd:payloadEnd+padLen+TrailerLen], padLen, protoIPv4)
	iv := sa.writeHeader(buf[espOff:espOff+HeaderLen+ivLen], seq)

	sa.writeOuter4(buf[off+l2:espOff], tos, df, seq, ipLen)

	p.Off = off
	p.Len = l2 + ipLen
	sa.fillJob(job, Encrypt, espOff-off, cipherLen, seq, iv)
	return OK
}

// seqLimit is the last sequence number the SA may send: 2^32-1, or with
// extended sequence numbers 2^64-1 (RFC 4303 §3.3.3: never a wrap).
func (sa *SA) seqLimit() uint64 {
	if sa.cfg.ESN {
		return math.MaxUint64
	}
	return math.MaxUint32
}

// nextSeq takes the packet's sequence number: from b when it holds
// numbers of sa (refilled when empty), otherwise from the SA's counter
// directly. false: the SA has sent its last.
func (sa *SA) nextSeq(b *SeqBlock) (uint64, bool) {
	if s, ok := b.take(sa); ok {
		return s, true
	}
	return sa.nextSeqSlow(b)
}

// take hands out b's next number if b holds numbers of sa: the usual
// case, small enough to inline where it is called directly (encapTunnel4).
func (b *SeqBlock) take(sa *SA) (uint64, bool) {
	if b == nil || b.sa != sa || b.left == 0 {
		return 0, false
	}
	b.left--
	b.next++
	return b.next - 1, true
}

func (sa *SA) nextSeqSlow(b *SeqBlock) (uint64, bool) {
	if b != nil {
		if b.left == 0 {
			b.fill(sa)
		}
		if b.sa == sa && b.left > 0 {
			s := b.next
			b.next++
			b.left--
			return s, true
		}
	}
	seq := sa.seq.Add(1)
	if seq > sa.seqLimit() || seq == 0 {
		sa.seq.Add(^uint64(0)) // leave it at the limit
		return 0, false
	}
	return seq, true
}

// SeqBlockSize is how many sequence numbers a SeqBlock takes at once.
const SeqBlockSize = 32

// SeqBlock is a run of an outbound SA's sequence numbers taken in one
// atomic step by an lcore that encrypts a burst (PrepareEncryptSeq), so
// that a burst costs one or two atomic operations instead of one per
// packet: a locked instruction also drains the store buffer the packet
// writes just filled. It holds the numbers of one SA at a time (the
// first one to take from it when it is empty); packets of other SAs take
// theirs from their SA directly meanwhile.
//
// Release gives back what the burst did not use, if no other lcore has
// taken numbers of the SA since, so one lcore's packets carry consecutive
// numbers exactly as without a block. Otherwise the unused numbers are
// never sent: a gap, which RFC 4303 allows (§3.3.3 asks only that the
// counter never repeat or wrap; a receiver sees lost packets). Several
// lcores sharing one SA reorder their packets by up to SeqBlockSize
// numbers, within the default replay window of 64. A SeqBlock belongs to
// one lcore; its zero value is empty. Release it at the end of each
// burst, before the numbers' packets are sent, so that SA.Seq is right
// between bursts.
type SeqBlock struct {
	sa   *SA
	next uint64 // the next number to use
	left uint64 // numbers left from next on
}

// fill takes up to SeqBlockSize numbers of sa into the empty block; it
// stays empty if the SA has none left.
func (b *SeqBlock) fill(sa *SA) {
	limit := sa.seqLimit()
	for {
		cur := sa.seq.Load()
		if cur >= limit {
			b.sa, b.left = nil, 0
			return
		}
		n := min(SeqBlockSize, limit-cur)
		if sa.seq.CompareAndSwap(cur, cur+n) {
			b.sa, b.next, b.left = sa, cur+1, n
			return
		}
	}
}

// Release gives the block's unused numbers back to their SA when it has
// handed out none since, and empties the block.
func (b *SeqBlock) Release() {
	if b.left > 0 {
		b.sa.seq.CompareAndSwap(b.next+b.left-1, b.next-1)
	}
	b.sa, b.left = nil, 0
}

// esnSpare is the tailroom a CBC+ESN job may use beyond the ICV.
func (sa *SA) esnSpare() int {
	if sa.cfg.ESN && !sa.cfg.Alg.AEAD() {
		return esnHiLen
	}
	return 0
}

// initOuter builds a tunnel SA's outer header template: everything that
// is the same in each packet's outer header (version, TTL or hop limit,
// protocol, addresses), and for IPv4 the checksum of those fields.
func (sa *SA) initOuter() {
	ttl := sa.cfg.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if sa.outer == header.IPv6Len {
		header.IPv6(sa.outerTmpl[:]).Encode(&header.IPv6Fields{
			NextHeader: header.ProtoESP,
			HopLimit:   ttl,
			Src:        sa.cfg.Src,
			Dst:        sa.cfg.Dst,
		})
		return
	}
	h := sa.outerTmpl[:header.IPv4MinLen]
	header.IPv4(h).Encode(&header.IPv4Fields{TTL: ttl, Protocol: header.ProtoESP, Src: sa.cfg.Src, Dst: sa.cfg.Dst})
	var sum uint32
	for i := 0; i < len(h); i += 2 {
		sum += uint32(be.Uint16(h[i:]))
	}
	sa.outerSum = sum
}

// writeOuter writes a tunnel's outer header into h for an inner packet ip
// and an outer IP packet of ipLen bytes: the SA's template with the
// packet's fields (IPv4: DSCP and ECN, length, ID, DF; IPv6: traffic class
// and payload length). The IPv4 checksum is the template's sum plus those
// fields (RFC 1071), computed without reading the header back.
func (sa *SA) writeOuter(h []byte, ip *ipPacket, seq uint64, ipLen int) {
	if sa.outer == header.IPv6Len {
		*(*[header.IPv6Len]byte)(h) = sa.outerTmpl
		// Version 6, the traffic class, flow label 0.
		h[0] = 6<<4 | ip.tos>>4
		h[1] = ip.tos << 4
		be.PutUint16(h[4:], uint16(ipLen-header.IPv6Len))
		return
	}
	sa.writeOuter4(h, ip.tos, ip.df, seq, ipLen)
}

// writeOuter4 writes h, an outer IPv4 header from the SA's template, for
// an inner packet with ToS tos and DF df, sequence number seq and outer
// length ipLen; its checksum is the template's plus what changed.
func (sa *SA) writeOuter4(h []byte, tos uint8, df bool, seq uint64, ipLen int) {
	var flags uint16
	if sa.cfg.DF == DFSet || sa.cfg.DF == DFCopy && df {
		flags = header.IPv4FlagDF
	}
	// Unique per SA for 65536 packets; RFC 6864 needs no more of a
	// datagram that may be fragmented, and nothing of one with DF.
	id := uint16(seq)
	*(*[header.IPv4MinLen]byte)(h) = [header.IPv4MinLen]byte(sa.outerTmpl[:header.IPv4MinLen])
	h[1] = tos
	be.PutUint16(h[2:], uint16(ipLen))
	be.PutUint16(h[4:], id)
	be.PutUint16(h[6:], flags)
	sum := sa.outerSum + uint32(tos) + uint32(uint16(ipLen)) + uint32(id) + uint32(flags)
	sum = sum&0xffff + sum>>16
	sum += sum >> 16
	be.PutUint16(h[10:], ^uint16(sum))
}

// fillJob describes the crypto of an ESP packet whose header is at espOff
// (from the frame's start), with the IV iv and cipherLen encrypted bytes.
func (sa *SA) fillJob(j *Job, op Op, espOff, cipherLen int, seq uint64, iv []byte) {
	ivLen := sa.ivLen
	// Field by field, Pkt kept: a composite literal would zero and copy
	// the whole Job first.
	j.SA, j.Op = sa, op
	j.ESPOff = espOff
	j.IVOff = espOff + HeaderLen
	j.CipherOff = espOff + HeaderLen + ivLen
	j.CipherLen = cipherLen
	j.ICVOff = espOff + HeaderLen + ivLen + cipherLen
	j.AuthOff = espOff
	j.AuthLen = HeaderLen + ivLen + cipherLen
	j.AADLen = 0
	j.ESN = sa.cfg.ESN
	j.Seq = seq
	j.Status = Unprocessed
	j.NextHeader = 0
	j.l2Len, j.ipHdrLen, j.v6, j.lastNH = 0, 0, false, 0
	be.PutUint32(j.ESNHi[:], uint32(seq>>32))
	if sa.aead != nil {
		// Fixed-size moves (GCM's IV is 8 bytes): no memmove calls.
		*(*[SaltLen]byte)(j.Nonce[:SaltLen]) = sa.secrets.salt
		*(*[NonceLen - SaltLen]byte)(j.Nonce[SaltLen:]) = [NonceLen - SaltLen]byte(iv)
		be.PutUint32(j.AAD[0:], sa.cfg.SPI)
		if sa.cfg.ESN {
			be.PutUint64(j.AAD[4:], seq)
			j.AADLen = 12
		} else {
			be.PutUint32(j.AAD[4:], uint32(seq))
			j.AADLen = 8
		}
		return
	}
	j.Nonce, j.AAD = [NonceLen]byte{}, [MaxAADLen]byte{}
}

// FinishEncrypt completes an encryption: it returns the engine's verdict.
// On OK the packet is ready to send.
func FinishEncrypt(job *Job) Reason { return job.Status }
