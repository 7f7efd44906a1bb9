package pmd

/*
#include "opmd.h"
*/
import "C"

import (
	"fmt"
	"math/bits"
	"strings"
)

// RxOffload is a set of ethdev RX offloads (RTE_ETH_RX_OFFLOAD_*).
type RxOffload uint64

// TxOffload is a set of ethdev TX offloads (RTE_ETH_TX_OFFLOAD_*). It is a
// distinct type from RxOffload: the two bit spaces overlap and must never
// be mixed.
type TxOffload uint64

// RX offloads, DPDK 22.11.
const (
	RxOffloadVLANStrip      RxOffload = C.RTE_ETH_RX_OFFLOAD_VLAN_STRIP
	RxOffloadIPv4Cksum      RxOffload = C.RTE_ETH_RX_OFFLOAD_IPV4_CKSUM
	RxOffloadUDPCksum       RxOffload = C.RTE_ETH_RX_OFFLOAD_UDP_CKSUM
	RxOffloadTCPCksum       RxOffload = C.RTE_ETH_RX_OFFLOAD_TCP_CKSUM
	RxOffloadTCPLRO         RxOffload = C.RTE_ETH_RX_OFFLOAD_TCP_LRO
	RxOffloadQinQStrip      RxOffload = C.RTE_ETH_RX_OFFLOAD_QINQ_STRIP
	RxOffloadOuterIPv4Cksum RxOffload = C.RTE_ETH_RX_OFFLOAD_OUTER_IPV4_CKSUM
	RxOffloadMACsecStrip    RxOffload = C.RTE_ETH_RX_OFFLOAD_MACSEC_STRIP
	RxOffloadVLANFilter     RxOffload = C.RTE_ETH_RX_OFFLOAD_VLAN_FILTER
	RxOffloadVLANExtend     RxOffload = C.RTE_ETH_RX_OFFLOAD_VLAN_EXTEND
	RxOffloadScatter        RxOffload = C.RTE_ETH_RX_OFFLOAD_SCATTER
	RxOffloadTimestamp      RxOffload = C.RTE_ETH_RX_OFFLOAD_TIMESTAMP
	RxOffloadSecurity       RxOffload = C.RTE_ETH_RX_OFFLOAD_SECURITY
	RxOffloadKeepCRC        RxOffload = C.RTE_ETH_RX_OFFLOAD_KEEP_CRC
	RxOffloadSCTPCksum      RxOffload = C.RTE_ETH_RX_OFFLOAD_SCTP_CKSUM
	RxOffloadOuterUDPCksum  RxOffload = C.RTE_ETH_RX_OFFLOAD_OUTER_UDP_CKSUM
	RxOffloadRSSHash        RxOffload = C.RTE_ETH_RX_OFFLOAD_RSS_HASH
	RxOffloadBufferSplit    RxOffload = C.RTE_ETH_RX_OFFLOAD_BUFFER_SPLIT

	// RxOffloadChecksum is IPv4, UDP and TCP checksum verification.
	RxOffloadChecksum = RxOffloadIPv4Cksum | RxOffloadUDPCksum | RxOffloadTCPCksum
)

// TX offloads, DPDK 22.11.
const (
	TxOffloadVLANInsert     TxOffload = C.RTE_ETH_TX_OFFLOAD_VLAN_INSERT
	TxOffloadIPv4Cksum      TxOffload = C.RTE_ETH_TX_OFFLOAD_IPV4_CKSUM
	TxOffloadUDPCksum       TxOffload = C.RTE_ETH_TX_OFFLOAD_UDP_CKSUM
	TxOffloadTCPCksum       TxOffload = C.RTE_ETH_TX_OFFLOAD_TCP_CKSUM
	TxOffloadSCTPCksum      TxOffload = C.RTE_ETH_TX_OFFLOAD_SCTP_CKSUM
	TxOffloadTCPTSO         TxOffload = C.RTE_ETH_TX_OFFLOAD_TCP_TSO
	TxOffloadUDPTSO         TxOffload = C.RTE_ETH_TX_OFFLOAD_UDP_TSO
	TxOffloadOuterIPv4Cksum TxOffload = C.RTE_ETH_TX_OFFLOAD_OUTER_IPV4_CKSUM
	TxOffloadQinQInsert     TxOffload = C.RTE_ETH_TX_OFFLOAD_QINQ_INSERT
	TxOffloadVXLANTnlTSO    TxOffload = C.RTE_ETH_TX_OFFLOAD_VXLAN_TNL_TSO
	TxOffloadGRETnlTSO      TxOffload = C.RTE_ETH_TX_OFFLOAD_GRE_TNL_TSO
	TxOffloadIPIPTnlTSO     TxOffload = C.RTE_ETH_TX_OFFLOAD_IPIP_TNL_TSO
	TxOffloadGENEVETnlTSO   TxOffload = C.RTE_ETH_TX_OFFLOAD_GENEVE_TNL_TSO
	TxOffloadMACsecInsert   TxOffload = C.RTE_ETH_TX_OFFLOAD_MACSEC_INSERT
	TxOffloadMTLockfree     TxOffload = C.RTE_ETH_TX_OFFLOAD_MT_LOCKFREE
	TxOffloadMultiSegs      TxOffload = C.RTE_ETH_TX_OFFLOAD_MULTI_SEGS
	TxOffloadMbufFastFree   TxOffload = C.RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE
	TxOffloadSecurity       TxOffload = C.RTE_ETH_TX_OFFLOAD_SECURITY
	TxOffloadUDPTnlTSO      TxOffload = C.RTE_ETH_TX_OFFLOAD_UDP_TNL_TSO
	TxOffloadIPTnlTSO       TxOffload = C.RTE_ETH_TX_OFFLOAD_IP_TNL_TSO
	TxOffloadOuterUDPCksum  TxOffload = C.RTE_ETH_TX_OFFLOAD_OUTER_UDP_CKSUM
	TxOffloadSendOnTime     TxOffload = C.RTE_ETH_TX_OFFLOAD_SEND_ON_TIMESTAMP
)

// Offload names as DPDK spells them (rte_eth_dev_{rx,tx}_offload_name),
// read once from the library so they always match the linked DPDK.
var rxNames, txNames [64]string

func init() {
	for i := range 64 {
		rxNames[i] = C.GoString(C.rte_eth_dev_rx_offload_name(C.uint64_t(1) << i))
		txNames[i] = C.GoString(C.rte_eth_dev_tx_offload_name(C.uint64_t(1) << i))
	}
}

// offloadUnknown is what DPDK names a bit it does not define.
const offloadUnknown = "UNKNOWN"

func names(set uint64, table *[64]string) []string {
	var out []string
	for set != 0 {
		i := bits.TrailingZeros64(set)
		set &^= 1 << i
		out = append(out, table[i])
	}
	return out
}

func parse(name string, table *[64]string) (uint64, bool) {
	n := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	for i, s := range table {
		if s != offloadUnknown && s == n {
			return 1 << i, true
		}
	}
	return 0, false
}

func known(table *[64]string) []string {
	var out []string
	for _, s := range table {
		if s != offloadUnknown {
			out = append(out, s)
		}
	}
	return out
}

// Names lists the set's offloads by DPDK name, lowest bit first.
func (o RxOffload) Names() []string { return names(uint64(o), &rxNames) }

// Names lists the set's offloads by DPDK name, lowest bit first.
func (o TxOffload) Names() []string { return names(uint64(o), &txNames) }

func (o RxOffload) String() string { return fmtSet(o.Names()) }
func (o TxOffload) String() string { return fmtSet(o.Names()) }

func fmtSet(n []string) string {
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, " ")
}

// Has reports whether every offload in x is in o.
func (o RxOffload) Has(x RxOffload) bool { return o&x == x }

// Has reports whether every offload in x is in o.
func (o TxOffload) Has(x TxOffload) bool { return o&x == x }

// ParseRxOffload reads one RX offload by its DPDK name, case-insensitive,
// '-' or '_' (testpmd accepts "ipv4_cksum").
func ParseRxOffload(name string) (RxOffload, error) {
	if b, ok := parse(name, &rxNames); ok {
		return RxOffload(b), nil
	}
	return 0, fmt.Errorf("unknown rx offload %q: known are %s", name, strings.ToLower(strings.Join(known(&rxNames), ", ")))
}

// ParseTxOffload reads one TX offload by its DPDK name.
func ParseTxOffload(name string) (TxOffload, error) {
	if b, ok := parse(name, &txNames); ok {
		return TxOffload(b), nil
	}
	return 0, fmt.Errorf("unknown tx offload %q: known are %s", name, strings.ToLower(strings.Join(known(&txNames), ", ")))
}

// RxOffloadNames lists every RX offload DPDK names.
func RxOffloadNames() []string { return known(&rxNames) }

// TxOffloadNames lists every TX offload DPDK names.
func TxOffloadNames() []string { return known(&txNames) }
