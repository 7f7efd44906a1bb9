// Package segment is offloadpmd's segmentation engine: it cuts one large
// packet into packets the wire takes, in software, for a NIC (or a path)
// that cannot.
//
//   - TSO: TCP segmentation (DPDK RTE_MBUF_F_TX_TCP_SEG, Linux
//     SKB_GSO_TCPV4/TCPV6). Every output is a TCP segment of at most
//     SegSize payload bytes.
//   - USO: UDP segmentation with Linux UDP_SEGMENT semantics (DPDK
//     RTE_MBUF_F_TX_UDP_SEG). Every output is a whole UDP datagram, with
//     its own UDP length and checksum.
//   - UFO: IP fragmentation of one UDP datagram (RFC 791 §3.2, RFC 8200
//     §4.5). The UDP header, and its checksum over the whole datagram, is
//     in the first fragment only.
//
// The input is a scatter list with every header in the first segment (the
// rule DPDK sets for TX offloads) and its header.Layout. It is only read.
// The outputs are described, not built: for output i the engine writes
// the headers into a caller buffer and names the payload as a pkt.Span of
// the input, so the data path can either copy the payload behind the
// headers (Frames) or reference the input's memory (Headers, then attach
// the input mbuf's data). Nothing allocates.
//
// Use Prepare to validate a request once, then Count, Seg and Headers or
// Frames; or the one-call Count, Headers and Frames functions. A request
// the engine cannot honour exactly is refused with a Reason and nothing
// is written; it never emits a packet larger than the MTU.
package segment

import (
	"encoding/binary"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

var be = binary.BigEndian

// Kind is what segmentation a Request asks for.
type Kind uint8

// Segmentation kinds.
const (
	// TSO splits a TCP segment into segments of SegSize payload bytes.
	TSO Kind = iota + 1
	// USO splits a UDP datagram's payload into datagrams of SegSize
	// payload bytes, each with its own UDP header.
	USO
	// UFO fragments a UDP datagram at the IP layer into fragments of at
	// most SegSize (rounded down to a multiple of 8) IP payload bytes.
	UFO
)

func (k Kind) String() string {
	switch k {
	case TSO:
		return "tso"
	case USO:
		return "uso"
	case UFO:
		return "ufo"
	}
	return "unknown"
}

// Csum says who finishes a checksum in the outputs.
type Csum uint8

// Checksum modes.
const (
	// Software: the engine computes the checksum in full.
	Software Csum = iota
	// Offload: left for the NIC. The IPv4 header checksum is 0 (DPDK
	// RTE_MBUF_F_TX_IP_CKSUM); the TCP or UDP checksum field holds the
	// pseudo-header sum of that output, its own length included, not
	// complemented (RTE_MBUF_F_TX_TCP_CKSUM / UDP_CKSUM on an ordinary
	// packet). Not for UFO's UDP checksum: no NIC sums across fragments.
	Offload
	// Keep: the UDP checksum field is the input's, which is already
	// complete. UFO only, since fragmenting does not change the datagram;
	// TSO and USO change what the checksum covers.
	Keep
)

func (c Csum) String() string {
	switch c {
	case Software:
		return "software"
	case Offload:
		return "offload"
	case Keep:
		return "keep"
	}
	return "unknown"
}

// MaxSegments is the most outputs one request may produce. It bounds the
// work and the header memory (MaxSegments header buffers) one packet can
// take: a 64 KiB packet segments at any SegSize of 256 bytes or more.
// Linux's UDP_SEGMENT stops at 128 segments; TCP MSS values below 256
// are rare enough that refusing them here (to a slower, counted path) is
// the better trade than larger per-packet arrays.
const MaxSegments = 256

// Request is one segmentation request.
type Request struct {
	Kind Kind
	// SegSize is, for TSO and USO, the L4 payload bytes per output (the
	// last may carry fewer; DPDK's tso_segsz, Linux's gso_size). For UFO
	// it is the most IP payload bytes per fragment (after the IPv4 header
	// or the IPv6 Fragment header), rounded down to a multiple of 8.
	SegSize int
	// MTU is the largest IP packet (IP header to the end, L2 excluded) an
	// output may be. A request with an output above it is refused. 0 is
	// no limit beyond IP's own.
	MTU int
	// FixedID keeps the IPv4 identification of every TSO or USO output
	// equal to the input's (Linux SKB_GSO_TCP_FIXEDID); otherwise output
	// i carries the input's ID plus i. UFO fragments always share the
	// input's ID (RFC 791 §3.2).
	FixedID bool
	// FragID is the identification of the IPv6 Fragment headers UFO
	// inserts (RFC 8200 §4.5); the caller keeps the per-flow counter.
	FragID uint32
	// IPv4Csum is Software or Offload.
	IPv4Csum Csum
	// L4Csum is Software or Offload for TSO and USO, Software or Keep for
	// UFO.
	L4Csum Csum
}

// Seg is where output i is: HdrLen bytes of headers at the start of its
// buffer, followed on the wire by Payload, a run of the input packet.
type Seg struct {
	HdrLen  int
	Payload pkt.Span
}

// Len is the output's frame length.
func (s Seg) Len() int { return s.HdrLen + s.Payload.Len }

// op is how outputs are written, fixed by Prepare.
type op uint8

const (
	opTCP   op = iota // TSO
	opUDP             // USO, and UFO of a datagram that needs no fragmenting
	opFrag4           // UFO over IPv4
	opFrag6           // UFO over IPv6
)

// Job is a validated request on one packet, from a Prepare that returned
// OK. Prepare has checked everything, so its methods fail only when the
// caller's output space is too small. A Job refers to the input segments;
// they must not change while it is used, and output buffers must not
// overlap them. It is a value: keep it on the stack, one per packet.
type Job struct {
	segs    [][]byte
	in      []byte // the input's headers: segs[0][:payOff]
	op      op
	v6      bool
	n       int // outputs
	l3Off   int
	l4Off   int
	payOff  int
	pktLen  int
	proto   uint8
	dataOff int // where the run divided between outputs starts in the input
	dataLen int
	size    int // bytes of that run per output
	hdrLen  int // header bytes of every output, the first one's lead aside
	lead    int // run bytes the first output carries as headers (UFO)
	nextOff int // opFrag6: the next-header byte that names the Fragment header
	ipv4    Csum
	l4      Csum
	fixedID bool
	id      uint16
	fragID  uint32
	seq     uint32
	flags   uint8
	urg     uint16
}

// Count is the number of outputs.
func (j *Job) Count() int { return j.n }

// Seg is where output i (below Count) is, before or after it is written.
// Output 0 is the largest, in headers and in all: header buffers of
// Seg(0).HdrLen bytes, or frame buffers of Seg(0).Len(), fit any output.
func (j *Job) Seg(i int) Seg {
	start := i * j.size
	end := min(start+j.size, j.dataLen)
	s := Seg{HdrLen: j.hdrLen, Payload: pkt.Span{Off: j.dataOff + start, Len: end - start}}
	if i == 0 {
		s.HdrLen += j.lead
		s.Payload.Off += j.lead
		s.Payload.Len -= j.lead
	}
	return s
}

// Headers writes output i's headers into hdrs[i] and its place into
// out[i], for i below Count. Checksums the engine computes cover the
// payload spans where they are, in the input. Nothing is written if a
// buffer is short.
func (j *Job) Headers(hdrs [][]byte, out []Seg) Reason {
	if len(hdrs) < j.n || len(out) < j.n {
		return OutputShort
	}
	for i := range j.n {
		if len(hdrs[i]) < j.Seg(i).HdrLen {
			return BufferShort
		}
	}
	j.write(hdrs, out)
	return OK
}

// Frames writes whole frames: output i's headers then its payload, copied
// from the input, into bufs[i], and its place into out[i]; the frame is
// bufs[i][:out[i].Len()]. Nothing is written if a buffer is short.
func (j *Job) Frames(bufs [][]byte, out []Seg) Reason {
	if len(bufs) < j.n || len(out) < j.n {
		return OutputShort
	}
	for i := range j.n {
		if len(bufs[i]) < j.Seg(i).Len() {
			return BufferShort
		}
	}
	j.write(bufs, out)
	c := cursor{segs: j.segs}
	for i := range j.n {
		s := out[i]
		segs, p := c.seek(s.Payload)
		pkt.Copy(bufs[i][s.HdrLen:s.Len()], segs, p)
	}
	return OK
}

// write writes every output's headers; the buffers are known to be large
// enough. The kind is chosen once, outside the per-output loops.
func (j *Job) write(hdrs [][]byte, out []Seg) {
	c := cursor{segs: j.segs}
	switch j.op {
	case opTCP:
		for i := range j.n {
			out[i] = j.Seg(i)
			j.tcp(&c, i, hdrs[i][:out[i].HdrLen], out[i].Payload)
		}
	case opUDP:
		for i := range j.n {
			out[i] = j.Seg(i)
			j.udp(&c, i, hdrs[i][:out[i].HdrLen], out[i].Payload)
		}
	case opFrag4, opFrag6:
		for i := range j.n {
			out[i] = j.Seg(i)
			j.frag(&c, i, hdrs[i][:out[i].HdrLen])
		}
	}
}

// Count validates a request and returns how many outputs it produces.
func Count(segs [][]byte, l *header.Layout, r *Request) (int, Reason) {
	j, why := Prepare(segs, l, r)
	if why != OK {
		return 0, why
	}
	return j.n, OK
}

// Headers segments the packet in reference mode: headers into hdrs,
// places into out (see Job.Headers). It returns the number of outputs.
func Headers(segs [][]byte, l *header.Layout, r *Request, hdrs [][]byte, out []Seg) (int, Reason) {
	j, why := Prepare(segs, l, r)
	if why == OK {
		why = j.Headers(hdrs, out)
	}
	if why != OK {
		return 0, why
	}
	return j.n, OK
}

// Frames segments the packet in copy mode: whole frames into bufs, places
// into out (see Job.Frames). It returns the number of outputs.
func Frames(segs [][]byte, l *header.Layout, r *Request, bufs [][]byte, out []Seg) (int, Reason) {
	j, why := Prepare(segs, l, r)
	if why == OK {
		why = j.Frames(bufs, out)
	}
	if why != OK {
		return 0, why
	}
	return j.n, OK
}

// setIP writes the IP length fields of an output whose upper-layer part
// (headers and payload) is l4len bytes, its IPv4 ID and IPv4 checksum.
func (j *Job) setIP(h []byte, i, l4len int) {
	if j.v6 {
		ip := header.IPv6(h[j.l3Off:])
		ip.SetPayloadLen(uint16(j.l4Off - j.l3Off - header.IPv6Len + l4len))
		return
	}
	ip := header.IPv4(h[j.l3Off:])
	ip.SetTotalLen(uint16(j.l4Off - j.l3Off + l4len))
	if !j.fixedID {
		ip.SetID(j.id + uint16(i))
	}
	j.ipv4Csum(ip)
}

func (j *Job) ipv4Csum(ip header.IPv4) {
	if j.ipv4 == Software {
		checksum.SetIPv4(ip)
	} else {
		ip.SetChecksum(0)
	}
}

// setL4Csum finishes the checksum of an upper-layer packet of l4len bytes
// whose header is h[l4:] and whose payload is the input's span p, found
// through c. field is the checksum's offset in the L4 header.
func (j *Job) setL4Csum(c *cursor, h []byte, l4, field, l4len int, p pkt.Span) {
	if j.l4 == Keep {
		return
	}
	f := h[l4+field:]
	var s uint16
	if j.v6 {
		s = checksum.PseudoIPv6(header.IPv6(h[j.l3Off:]), j.proto, l4len)
	} else {
		s = checksum.PseudoIPv4(header.IPv4(h[j.l3Off:]), j.proto, l4len)
	}
	if j.l4 == Offload {
		be.PutUint16(f, s)
		return
	}
	be.PutUint16(f, 0)
	s = checksum.Sum(h[l4:], s)
	segs, p := c.seek(p)
	s = ^checksum.SumRange(segs, p.Off, p.Off+p.Len, s)
	if s == 0 && j.proto == header.ProtoUDP {
		s = 0xffff // RFC 768: 0 means no checksum
	}
	be.PutUint16(f, s)
}

// cursor finds spans of a scatter list in increasing order without walking
// the list from its start for each: outputs' payloads follow each other.
type cursor struct {
	segs [][]byte
	k    int // the segment the last span started in
	base int // its offset in the packet
}

// seek returns the list from the segment where p starts, and p relative
// to it. Offsets must not decrease between calls.
func (c *cursor) seek(p pkt.Span) ([][]byte, pkt.Span) {
	for c.k < len(c.segs)-1 && c.base+len(c.segs[c.k]) <= p.Off {
		c.base += len(c.segs[c.k])
		c.k++
	}
	return c.segs[c.k:], pkt.Span{Off: p.Off - c.base, Len: p.Len}
}
