package pmd

/*
#include "opmd.h"
*/
import "C"

import (
	"unsafe"
)

// Mbuf is a view of a DPDK struct rte_mbuf (one segment of a packet). It is
// never created in Go: it points at mempool memory, and every accessor is a
// plain load or store at the offset DPDK's layout defines, with no cgo call.
//
// The field layout mirrors DPDK 22.11 with RTE_IOVA_AS_PA (the Debian
// build); the assertions below fail the build if the installed headers
// disagree.
type Mbuf struct {
	bufAddr      unsafe.Pointer
	bufIova      uint64
	dataOff      uint16
	refcnt       uint16
	nbSegs       uint16
	port         uint16
	olFlags      uint64
	packetType   uint32
	pktLen       uint32
	dataLen      uint16
	vlanTCI      uint16
	hash         [2]uint32 // rss (or fdir lo) and fdir hi / sched
	vlanTCIOuter uint16
	bufLen       uint16
	pool         unsafe.Pointer
	next         *Mbuf
	txOffload    uint64
	shinfo       unsafe.Pointer
	privSize     uint16
	timesync     uint16
	dynfield1    [9]uint32
}

// Compile-time layout checks: each line fails to compile (constant index
// out of range, or constant overflow) unless Go's offset equals C's.
var (
	_ = [1]struct{}{}[unsafe.Sizeof(Mbuf{})-C.OPMD_MBUF_SIZE]
	_ = [1]struct{}{}[C.OPMD_MBUF_SIZE-unsafe.Sizeof(Mbuf{})]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.bufIova)-C.OPMD_MBUF_OFF_BUF_IOVA]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.dataOff)-C.OPMD_MBUF_OFF_DATA_OFF]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.refcnt)-C.OPMD_MBUF_OFF_REFCNT]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.nbSegs)-C.OPMD_MBUF_OFF_NB_SEGS]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.port)-C.OPMD_MBUF_OFF_PORT]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.olFlags)-C.OPMD_MBUF_OFF_OL_FLAGS]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.packetType)-C.OPMD_MBUF_OFF_PACKET_TYPE]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.pktLen)-C.OPMD_MBUF_OFF_PKT_LEN]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.dataLen)-C.OPMD_MBUF_OFF_DATA_LEN]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.vlanTCI)-C.OPMD_MBUF_OFF_VLAN_TCI]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.hash)-C.OPMD_MBUF_OFF_HASH]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.vlanTCIOuter)-C.OPMD_MBUF_OFF_VLAN_TCI_OUTER]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.bufLen)-C.OPMD_MBUF_OFF_BUF_LEN]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.pool)-C.OPMD_MBUF_OFF_POOL]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.next)-C.OPMD_MBUF_OFF_NEXT]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.txOffload)-C.OPMD_MBUF_OFF_TX_OFFLOAD]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.shinfo)-C.OPMD_MBUF_OFF_SHINFO]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.privSize)-C.OPMD_MBUF_OFF_PRIV_SIZE]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.timesync)-C.OPMD_MBUF_OFF_TIMESYNC]
	_ = [1]struct{}{}[unsafe.Offsetof(Mbuf{}.dynfield1)-C.OPMD_MBUF_OFF_DYNFIELD1]
)

// Bit layout of the packed tx_offload word (rte_mbuf_core.h, little endian).
const (
	txoL2Bits    = C.RTE_MBUF_L2_LEN_BITS
	txoL3Bits    = C.RTE_MBUF_L3_LEN_BITS
	txoL4Bits    = C.RTE_MBUF_L4_LEN_BITS
	txoTSOBits   = C.RTE_MBUF_TSO_SEGSZ_BITS
	txoOL3Bits   = C.RTE_MBUF_OUTL3_LEN_BITS
	txoOL2Bits   = C.RTE_MBUF_OUTL2_LEN_BITS
	txoL2Shift   = C.RTE_MBUF_L2_LEN_OFS
	txoL3Shift   = C.RTE_MBUF_L3_LEN_OFS
	txoL4Shift   = C.RTE_MBUF_L4_LEN_OFS
	txoTSOShift  = C.RTE_MBUF_TSO_SEGSZ_OFS
	txoOL3Shift  = C.RTE_MBUF_OUTL3_LEN_OFS
	txoOL2Shift  = C.RTE_MBUF_OUTL2_LEN_OFS
	txoFieldMask = 1<<(txoOL2Shift+txoOL2Bits) - 1
)

// DefaultHeadroom is RTE_PKTMBUF_HEADROOM, the room a fresh mbuf leaves before its data.
const DefaultHeadroom = C.RTE_PKTMBUF_HEADROOM

// Data returns the segment's data as a byte slice aliasing the mbuf buffer.
// It is valid until the mbuf is freed or its data offset or length change.
func (m *Mbuf) Data() []byte {
	return unsafe.Slice((*byte)(unsafe.Add(m.bufAddr, m.dataOff)), m.dataLen)
}

// Buf returns the segment's whole buffer, headroom and tailroom included.
func (m *Mbuf) Buf() []byte {
	return unsafe.Slice((*byte)(m.bufAddr), m.bufLen)
}

// DataOff is the offset of the data in the buffer.
func (m *Mbuf) DataOff() uint16 { return m.dataOff }

// DataLen is the length of this segment's data.
func (m *Mbuf) DataLen() uint16 { return m.dataLen }

// PktLen is the length of the whole packet, all segments (meaningful in the
// first segment).
func (m *Mbuf) PktLen() uint32 { return m.pktLen }

// BufLen is the size of the segment's buffer.
func (m *Mbuf) BufLen() uint16 { return m.bufLen }

// NbSegs is the number of segments in the packet (first segment).
func (m *Mbuf) NbSegs() uint16 { return m.nbSegs }

// Next is the next segment, or nil.
func (m *Mbuf) Next() *Mbuf { return m.next }

// Last returns the packet's last segment.
func (m *Mbuf) Last() *Mbuf {
	for m.next != nil {
		m = m.next
	}
	return m
}

// Port is the input port of a received mbuf.
func (m *Mbuf) Port() uint16 { return m.port }

// SetPort sets the mbuf's port field.
func (m *Mbuf) SetPort(p uint16) { m.port = p }

// Refcnt is the segment's reference count.
func (m *Mbuf) Refcnt() uint16 { return m.refcnt }

// OlFlags are the offload flags (RTE_MBUF_F_*).
func (m *Mbuf) OlFlags() uint64 { return m.olFlags }

// SetOlFlags replaces the offload flags.
func (m *Mbuf) SetOlFlags(f uint64) { m.olFlags = f }

// PacketType is the RTE_PTYPE_* classification a driver set on RX.
func (m *Mbuf) PacketType() uint32 { return m.packetType }

// SetPacketType sets the packet type.
func (m *Mbuf) SetPacketType(t uint32) { m.packetType = t }

// RSSHash is the RSS hash set on RX when RTE_MBUF_F_RX_RSS_HASH is set.
func (m *Mbuf) RSSHash() uint32 { return m.hash[0] }

// SetRSSHash sets the RSS hash word.
func (m *Mbuf) SetRSSHash(h uint32) { m.hash[0] = h }

// VlanTCI is the stripped (RX) or to-be-inserted (TX) VLAN TCI.
func (m *Mbuf) VlanTCI() uint16 { return m.vlanTCI }

// TxOffload returns the packed tx_offload word.
func (m *Mbuf) TxOffload() uint64 { return m.txOffload }

// SetTxOffload replaces the packed tx_offload word.
func (m *Mbuf) SetTxOffload(v uint64) { m.txOffload = v }

// L2Len is the (inner) L2 header length.
func (m *Mbuf) L2Len() uint16 { return uint16(m.txOffload>>txoL2Shift) & (1<<txoL2Bits - 1) }

// L3Len is the (inner) L3 header length.
func (m *Mbuf) L3Len() uint16 { return uint16(m.txOffload>>txoL3Shift) & (1<<txoL3Bits - 1) }

// L4Len is the (inner) L4 header length.
func (m *Mbuf) L4Len() uint16 { return uint16(m.txOffload>>txoL4Shift) & (1<<txoL4Bits - 1) }

// TSOSegsz is the TCP/UDP segment size asked for with TX_TCP_SEG/TX_UDP_SEG.
func (m *Mbuf) TSOSegsz() uint16 { return uint16(m.txOffload>>txoTSOShift) & (1<<txoTSOBits - 1) }

// OuterL2Len is the outer L2 length of a tunnelled packet.
func (m *Mbuf) OuterL2Len() uint16 { return uint16(m.txOffload>>txoOL2Shift) & (1<<txoOL2Bits - 1) }

// OuterL3Len is the outer L3 length of a tunnelled packet.
func (m *Mbuf) OuterL3Len() uint16 { return uint16(m.txOffload>>txoOL3Shift) & (1<<txoOL3Bits - 1) }

// TxLengths are the tx_offload fields, unpacked.
type TxLengths struct {
	L2, L3, L4       uint16
	TSOSegsz         uint16
	OuterL2, OuterL3 uint16
}

// MaxTxLengths are the largest values the tx_offload bitfields hold; Pack
// rejects anything larger rather than truncate it.
var MaxTxLengths = TxLengths{
	L2: 1<<txoL2Bits - 1, L3: 1<<txoL3Bits - 1, L4: 1<<txoL4Bits - 1,
	TSOSegsz: 1<<txoTSOBits - 1, OuterL2: 1<<txoOL2Bits - 1, OuterL3: 1<<txoOL3Bits - 1,
}

// Fits reports whether every length fits its tx_offload bitfield.
func (t TxLengths) Fits() bool {
	return t.L2 <= MaxTxLengths.L2 && t.L3 <= MaxTxLengths.L3 && t.L4 <= MaxTxLengths.L4 &&
		t.OuterL2 <= MaxTxLengths.OuterL2 && t.OuterL3 <= MaxTxLengths.OuterL3
}

// Pack returns the tx_offload word for t, as rte_mbuf_tx_offload does.
// Values wider than their field are masked; check Fits first.
func (t TxLengths) Pack() uint64 {
	return (uint64(t.L2)&(1<<txoL2Bits-1))<<txoL2Shift |
		(uint64(t.L3)&(1<<txoL3Bits-1))<<txoL3Shift |
		(uint64(t.L4)&(1<<txoL4Bits-1))<<txoL4Shift |
		(uint64(t.TSOSegsz)&(1<<txoTSOBits-1))<<txoTSOShift |
		(uint64(t.OuterL3)&(1<<txoOL3Bits-1))<<txoOL3Shift |
		(uint64(t.OuterL2)&(1<<txoOL2Bits-1))<<txoOL2Shift
}

// TxLengths unpacks the mbuf's tx_offload word.
func (m *Mbuf) TxLengths() TxLengths {
	return TxLengths{
		L2: m.L2Len(), L3: m.L3Len(), L4: m.L4Len(), TSOSegsz: m.TSOSegsz(),
		OuterL2: m.OuterL2Len(), OuterL3: m.OuterL3Len(),
	}
}

// SetTxLengths packs t into the mbuf's tx_offload, keeping the unused bits.
func (m *Mbuf) SetTxLengths(t TxLengths) {
	m.txOffload = m.txOffload&^txoFieldMask | t.Pack()
}

// SetL2L3L4 sets the three inner header lengths, leaving the rest.
func (m *Mbuf) SetL2L3L4(l2, l3, l4 uint16) {
	const mask = (1<<(txoL2Bits+txoL3Bits+txoL4Bits) - 1) << txoL2Shift
	m.txOffload = m.txOffload&^mask |
		uint64(l2)&(1<<txoL2Bits-1)<<txoL2Shift |
		uint64(l3)&(1<<txoL3Bits-1)<<txoL3Shift |
		uint64(l4)&(1<<txoL4Bits-1)<<txoL4Shift
}

// SetTSOSegsz sets tso_segsz, leaving the other lengths.
func (m *Mbuf) SetTSOSegsz(v uint16) {
	const mask = (1<<txoTSOBits - 1) << txoTSOShift
	m.txOffload = m.txOffload&^mask | uint64(v)<<txoTSOShift
}

// Headroom is the room before the data in this segment.
func (m *Mbuf) Headroom() uint16 { return m.dataOff }

// Tailroom is the room after the data in this segment.
func (m *Mbuf) Tailroom() uint16 { return m.bufLen - m.dataOff - m.dataLen }

// Prepend grows the packet at the front by n bytes inside the first
// segment's headroom and returns the new bytes, or nil if the headroom is
// too small (rte_pktmbuf_prepend).
func (m *Mbuf) Prepend(n uint16) []byte {
	if n > m.dataOff {
		return nil
	}
	m.dataOff -= n
	m.dataLen += n
	m.pktLen += uint32(n)
	return unsafe.Slice((*byte)(unsafe.Add(m.bufAddr, m.dataOff)), n)
}

// Append grows the packet at the end by n bytes inside the last segment's
// tailroom and returns the new bytes, or nil if there is no room
// (rte_pktmbuf_append).
func (m *Mbuf) Append(n uint16) []byte {
	last := m.Last()
	if n > last.Tailroom() {
		return nil
	}
	off := uintptr(last.dataOff) + uintptr(last.dataLen)
	last.dataLen += n
	m.pktLen += uint32(n)
	return unsafe.Slice((*byte)(unsafe.Add(last.bufAddr, off)), n)
}

// Adj removes n bytes from the front of the first segment and reports
// whether it could (rte_pktmbuf_adj).
func (m *Mbuf) Adj(n uint16) bool {
	if n > m.dataLen {
		return false
	}
	m.dataOff += n
	m.dataLen -= n
	m.pktLen -= uint32(n)
	return true
}

// Trim removes n bytes from the end of the last segment and reports whether
// it could (rte_pktmbuf_trim).
func (m *Mbuf) Trim(n uint16) bool {
	last := m.Last()
	if n > last.dataLen {
		return false
	}
	last.dataLen -= n
	m.pktLen -= uint32(n)
	return true
}

// Reset returns a single-segment mbuf to the state a fresh allocation has:
// default headroom, no data, no flags (rte_pktmbuf_reset, for a direct mbuf).
func (m *Mbuf) Reset() {
	m.next = nil
	m.pktLen = 0
	m.txOffload = 0
	m.vlanTCI = 0
	m.vlanTCIOuter = 0
	m.nbSegs = 1
	m.port = ^uint16(0)
	m.olFlags &= C.RTE_MBUF_F_EXTERNAL
	m.packetType = 0
	m.dataOff = min(DefaultHeadroom, m.bufLen)
	m.dataLen = 0
}

// maxSegs is RTE_MBUF_MAX_NB_SEGS.
const maxSegs = C.RTE_MBUF_MAX_NB_SEGS

// Chain appends the packet tail to the packet m (rte_pktmbuf_chain). It
// fails, changing nothing, if the chain would exceed the segment limit.
func (m *Mbuf) Chain(tail *Mbuf) bool { return m.chainAt(m.Last(), tail) }

// chainAt is Chain given m's last segment.
func (m *Mbuf) chainAt(last, tail *Mbuf) bool {
	if uint32(m.nbSegs)+uint32(tail.nbSegs) > maxSegs {
		return false
	}
	last.next = tail
	m.nbSegs += tail.nbSegs
	m.pktLen += tail.pktLen
	// pkt_len is kept in the head only (DPDK resets the tail's likewise).
	tail.pktLen = uint32(tail.dataLen)
	return true
}

// SetFrame makes a fresh single-segment mbuf hold n bytes written at
// Buf()[DefaultHeadroom:]: data offset, data and packet lengths.
func (m *Mbuf) SetFrame(n int) {
	m.dataOff = min(DefaultHeadroom, m.bufLen)
	m.dataLen = uint16(n)
	m.pktLen = uint32(n)
}

// SetSpan makes a single-segment mbuf's data Buf()[off:off+n]: an engine
// that grew or shrank the frame in place inside the buffer (ESP) writes
// the result back. It reports false, changing nothing, for a chain or a
// span outside the buffer.
func (m *Mbuf) SetSpan(off, n int) bool {
	if m.next != nil || off < 0 || n < 0 || off+n > int(m.bufLen) {
		return false
	}
	m.dataOff = uint16(off)
	m.dataLen = uint16(n)
	m.pktLen = uint32(n)
	return true
}

// Room is the space a fresh mbuf has after the default headroom.
func (m *Mbuf) Room() []byte { return m.Buf()[min(DefaultHeadroom, m.bufLen):] }

// SetData sets a single segment's data to a copy of b, starting at the
// default headroom. It reports false if b does not fit.
func (m *Mbuf) SetData(b []byte) bool {
	if m.next != nil || len(b) > int(m.bufLen)-int(min(DefaultHeadroom, m.bufLen)) {
		return false
	}
	m.dataOff = min(DefaultHeadroom, m.bufLen)
	m.dataLen = uint16(len(b))
	m.pktLen = uint32(len(b))
	copy(m.Data(), b)
	return true
}

// CopyOut copies the packet's bytes, all segments, into dst and returns the
// number copied.
func (m *Mbuf) CopyOut(dst []byte) int {
	n := 0
	for s := m; s != nil && n < len(dst); s = s.next {
		n += copy(dst[n:], s.Data())
	}
	return n
}

// Bytes returns a copy of the packet, all segments. It allocates: for tests
// and the control plane, not the fast path.
func (m *Mbuf) Bytes() []byte {
	b := make([]byte, m.pktLen)
	return b[:m.CopyOut(b)]
}

// cptr converts to the C type for calls into DPDK.
func (m *Mbuf) cptr() *C.struct_rte_mbuf { return (*C.struct_rte_mbuf)(unsafe.Pointer(m)) }
