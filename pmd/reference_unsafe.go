package pmd

/*
#include "opmd.h"
*/
import "C"

import "unsafe"

// DPDK's own implementations of what Mbuf does in Go, for the package's
// tests to check against. Not for the fast path: each is a cgo call.

func refTxOffload(t TxLengths) uint64 {
	return uint64(C.opmd_tx_offload_pack(C.uint64_t(t.L2), C.uint64_t(t.L3), C.uint64_t(t.L4),
		C.uint64_t(t.TSOSegsz), C.uint64_t(t.OuterL3), C.uint64_t(t.OuterL2)))
}

// refFields reads the tx_offload bitfields the way C compiles them.
func refFields(m *Mbuf) TxLengths {
	c := m.cptr()
	return TxLengths{
		L2: uint16(C.opmd_ref_l2_len(c)), L3: uint16(C.opmd_ref_l3_len(c)), L4: uint16(C.opmd_ref_l4_len(c)),
		TSOSegsz: uint16(C.opmd_ref_tso_segsz(c)),
		OuterL2:  uint16(C.opmd_ref_outer_l2_len(c)), OuterL3: uint16(C.opmd_ref_outer_l3_len(c)),
	}
}

func refRSS(m *Mbuf) uint32 { return uint32(C.opmd_ref_rss(m.cptr())) }

func refMtod(m *Mbuf) unsafe.Pointer { return C.opmd_ref_mtod(m.cptr()) }

func refPrepend(m *Mbuf, n uint16) bool { return C.opmd_ref_prepend(m.cptr(), C.uint16_t(n)) != nil }
func refAppend(m *Mbuf, n uint16) bool  { return C.opmd_ref_append(m.cptr(), C.uint16_t(n)) != nil }
func refAdj(m *Mbuf, n uint16) bool     { return C.opmd_ref_adj(m.cptr(), C.uint16_t(n)) != nil }
func refTrim(m *Mbuf, n uint16) bool    { return C.opmd_ref_trim(m.cptr(), C.uint16_t(n)) == 0 }
func refChain(h, t *Mbuf) bool          { return C.opmd_ref_chain(h.cptr(), t.cptr()) == 0 }
func refReset(m *Mbuf)                  { C.opmd_ref_reset(m.cptr()) }
func refContiguous(m *Mbuf) bool        { return C.opmd_ref_is_contiguous(m.cptr()) != 0 }

// refOlFlags are DPDK's mbuf flags by name, for the package's tests to
// check offload's mirror against.
var refOlFlags = map[string]uint64{
	"RX_VLAN": C.RTE_MBUF_F_RX_VLAN, "RX_RSS_HASH": C.RTE_MBUF_F_RX_RSS_HASH,
	"RX_L4_CKSUM_BAD": C.RTE_MBUF_F_RX_L4_CKSUM_BAD, "RX_IP_CKSUM_BAD": C.RTE_MBUF_F_RX_IP_CKSUM_BAD,
	"RX_VLAN_STRIPPED": C.RTE_MBUF_F_RX_VLAN_STRIPPED, "RX_IP_CKSUM_GOOD": C.RTE_MBUF_F_RX_IP_CKSUM_GOOD,
	"RX_L4_CKSUM_GOOD": C.RTE_MBUF_F_RX_L4_CKSUM_GOOD, "RX_IP_CKSUM_NONE": C.RTE_MBUF_F_RX_IP_CKSUM_NONE,
	"RX_L4_CKSUM_NONE": C.RTE_MBUF_F_RX_L4_CKSUM_NONE, "RX_LRO": C.RTE_MBUF_F_RX_LRO, "RX_QINQ": C.RTE_MBUF_F_RX_QINQ,
	"TX_OUTER_UDP_CKSUM": C.RTE_MBUF_F_TX_OUTER_UDP_CKSUM, "TX_UDP_SEG": C.RTE_MBUF_F_TX_UDP_SEG,
	"TX_SEC_OFFLOAD": C.RTE_MBUF_F_TX_SEC_OFFLOAD, "TX_MACSEC": C.RTE_MBUF_F_TX_MACSEC,
	"TX_TUNNEL_MASK": C.RTE_MBUF_F_TX_TUNNEL_MASK, "TX_QINQ": C.RTE_MBUF_F_TX_QINQ,
	"TX_TCP_SEG": C.RTE_MBUF_F_TX_TCP_SEG, "TX_IEEE1588_TMST": C.RTE_MBUF_F_TX_IEEE1588_TMST,
	"TX_TCP_CKSUM": C.RTE_MBUF_F_TX_TCP_CKSUM, "TX_SCTP_CKSUM": C.RTE_MBUF_F_TX_SCTP_CKSUM,
	"TX_UDP_CKSUM": C.RTE_MBUF_F_TX_UDP_CKSUM, "TX_L4_MASK": C.RTE_MBUF_F_TX_L4_MASK,
	"TX_IP_CKSUM": C.RTE_MBUF_F_TX_IP_CKSUM, "TX_IPV4": C.RTE_MBUF_F_TX_IPV4, "TX_IPV6": C.RTE_MBUF_F_TX_IPV6,
	"TX_VLAN": C.RTE_MBUF_F_TX_VLAN, "TX_OUTER_IP_CKSUM": C.RTE_MBUF_F_TX_OUTER_IP_CKSUM,
	"TX_OUTER_IPV4": C.RTE_MBUF_F_TX_OUTER_IPV4, "TX_OUTER_IPV6": C.RTE_MBUF_F_TX_OUTER_IPV6,
	"TX_OFFLOAD_MASK": C.RTE_MBUF_F_TX_OFFLOAD_MASK,
}
