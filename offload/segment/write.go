package segment

import (
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

// tcpUrgentOff is the urgent pointer's offset in the TCP header (RFC 9293
// §3.1); package header has no setter for it.
const tcpUrgentOff = 18

// tcp writes TSO output i (RFC 9293 §3.1 fields, Linux tcp_gso_segment
// semantics): the sequence number advances by the payload before it; CWR
// stays on the first output only (RFC 3168 §6.1.2: once per window),
// FIN and PSH on the last only; ECE, ACK and the options are on every
// output. URG stays on the outputs before the urgent point with the
// pointer rebased to each (RFC 9293 §3.8.5); the first output keeps the
// input's.
func (j *Job) tcp(c *cursor, i int, h []byte, p pkt.Span) {
	copy(h, j.in)
	l4len := j.payOff - j.l4Off + p.Len
	j.setIP(h, i, l4len)
	t := header.TCP(h[j.l4Off:])
	flags := j.flags
	if i > 0 {
		off := i * j.size
		t.SetSeq(j.seq + uint32(off))
		flags &^= header.TCPFlagCWR
		if flags&header.TCPFlagURG != 0 {
			up := int(j.urg) - off
			if up <= 0 {
				flags &^= header.TCPFlagURG
				up = 0
			}
			be.PutUint16(t[tcpUrgentOff:], uint16(up))
		}
	}
	if i < j.n-1 {
		flags &^= header.TCPFlagFIN | header.TCPFlagPSH
	}
	t.SetFlags(flags)
	j.setL4Csum(c, h, j.l4Off, header.TCPChecksumOff, l4len, p)
}

// udp writes USO output i: a whole datagram with its own UDP length and
// checksum (Linux UDP_SEGMENT). It also writes the single output of a UFO
// request that needs no fragmenting.
func (j *Job) udp(c *cursor, i int, h []byte, p pkt.Span) {
	copy(h, j.in)
	l4len := header.UDPLen + p.Len
	j.setIP(h, i, l4len)
	header.UDP(h[j.l4Off:]).SetLength(uint16(l4len))
	j.setL4Csum(c, h, j.l4Off, header.UDPChecksumOff, l4len, p)
}

// frag writes UFO fragment i. Every fragment carries the input's L2 header
// and the IP header's unfragmentable part; IPv4 fragments share the ID and
// carry MF and the offset (RFC 791 §3.2), options without the copied flag
// only in the first (later ones carry NOPs in their place, so every
// header is as long); IPv6 fragments carry a Fragment header after the
// unfragmentable part (RFC 8200 §4.5). The first fragment also carries
// the fragmentable part's headers and the UDP header, whose checksum
// covers the whole datagram.
func (j *Job) frag(c *cursor, i int, h []byte) {
	start := i * j.size
	fragLen := min(j.size, j.dataLen-start)
	more := i < j.n-1
	if j.op == opFrag6 {
		fh := j.hdrLen - header.IPv6FragmentLen
		copy(h, j.in[:fh])
		header.IPv6Fragment(h[fh:j.hdrLen]).Encode(j.in[j.nextOff], start, more, j.fragID)
		h[j.nextOff] = header.ProtoFragment
		header.IPv6(h[j.l3Off:]).SetPayloadLen(uint16(j.hdrLen - j.l3Off - header.IPv6Len + fragLen))
	} else {
		copy(h, j.in[:j.hdrLen])
		ip := header.IPv4(h[j.l3Off:])
		ip.SetTotalLen(uint16(j.hdrLen - j.l3Off + fragLen))
		flags := ip.Flags() // DF is clear: Prepare refused it
		if more {
			flags |= header.IPv4FlagMF
		}
		ip.SetFlagsFragOffset(flags, start)
		if i > 0 {
			nopUncopied(ip.Options())
		}
		j.ipv4Csum(ip)
	}
	if i == 0 {
		copy(h[j.hdrLen:], j.in[j.dataOff:j.payOff])
		j.setL4Csum(c, h, len(h)-header.UDPLen, header.UDPChecksumOff, j.pktLen-j.l4Off,
			pkt.Span{Off: j.payOff, Len: j.pktLen - j.payOff})
	}
}
