// Package offload is offloadpmd's task-offload model: what a port can do
// (capabilities, in hardware and in software), what the OS side enabled
// (a per-port capability table, published by atomic swap), and what one
// packet asks for (a request decoded into an ordered batch of tasks, each
// with a verdict). The task engines live in subpackages: checksum,
// segment, assembly, and later esp, classify and dos.
//
// The package is pure Go: it mirrors the DPDK bits it needs, and pmd's
// tests check them against DPDK's headers.
package offload

import (
	"fmt"
	"math/bits"
	"strings"
)

// RxCaps is a set of RX capabilities. DPDK's RTE_ETH_RX_OFFLOAD_* bits
// keep their positions, so a device's rx_offload_capa converts directly;
// tasks only offloadpmd's software provides use bits from 40 up.
type RxCaps uint64

// TxCaps is a set of TX capabilities, laid out like RxCaps over
// RTE_ETH_TX_OFFLOAD_*. A distinct type: the two spaces overlap.
type TxCaps uint64

// RX capabilities.
const (
	RxVLANStrip      RxCaps = 1 << 0
	RxIPv4Cksum      RxCaps = 1 << 1
	RxUDPCksum       RxCaps = 1 << 2
	RxTCPCksum       RxCaps = 1 << 3
	RxTCPLRO         RxCaps = 1 << 4 // TCP assembly (GRO/LRO), IPv4 and IPv6
	RxQinQStrip      RxCaps = 1 << 5
	RxOuterIPv4Cksum RxCaps = 1 << 6
	RxMACsecStrip    RxCaps = 1 << 7
	RxVLANFilter     RxCaps = 1 << 9
	RxVLANExtend     RxCaps = 1 << 10
	RxScatter        RxCaps = 1 << 13
	RxTimestamp      RxCaps = 1 << 14
	RxSecurity       RxCaps = 1 << 15
	RxKeepCRC        RxCaps = 1 << 16
	RxSCTPCksum      RxCaps = 1 << 17
	RxOuterUDPCksum  RxCaps = 1 << 18
	RxRSSHash        RxCaps = 1 << 19
	RxBufferSplit    RxCaps = 1 << 20

	// Software only.
	RxUDPGRO         RxCaps = 1 << 40 // UDP assembly of equal-size datagrams
	RxIPv4Reassembly RxCaps = 1 << 41
	RxIPv6Reassembly RxCaps = 1 << 42
	RxESPDecrypt     RxCaps = 1 << 43
	RxDigestVerify   RxCaps = 1 << 44
	RxClassify       RxCaps = 1 << 45
	RxDoSFilter      RxCaps = 1 << 46

	// RxDPDKMask covers the bits DPDK 22.11 defines.
	RxDPDKMask RxCaps = 1<<21 - 1
)

// TX capabilities.
const (
	TxVLANInsert     TxCaps = 1 << 0
	TxIPv4Cksum      TxCaps = 1 << 1
	TxUDPCksum       TxCaps = 1 << 2
	TxTCPCksum       TxCaps = 1 << 3
	TxSCTPCksum      TxCaps = 1 << 4
	TxTCPTSO         TxCaps = 1 << 5 // TCP segmentation over IPv4 (a device's TCP_TSO)
	TxUDPTSO         TxCaps = 1 << 6 // UDP segmentation (USO) over IPv4
	TxOuterIPv4Cksum TxCaps = 1 << 7
	TxQinQInsert     TxCaps = 1 << 8
	TxVXLANTnlTSO    TxCaps = 1 << 9
	TxGRETnlTSO      TxCaps = 1 << 10
	TxIPIPTnlTSO     TxCaps = 1 << 11
	TxGENEVETnlTSO   TxCaps = 1 << 12
	TxMACsecInsert   TxCaps = 1 << 13
	TxMTLockfree     TxCaps = 1 << 14
	TxMultiSegs      TxCaps = 1 << 15
	TxMbufFastFree   TxCaps = 1 << 16
	TxSecurity       TxCaps = 1 << 17
	TxUDPTnlTSO      TxCaps = 1 << 18
	TxIPTnlTSO       TxCaps = 1 << 19
	TxOuterUDPCksum  TxCaps = 1 << 20
	TxSendOnTime     TxCaps = 1 << 21

	// Software only.
	TxTCPTSO6    TxCaps = 1 << 40 // TCP segmentation over IPv6 (librte_gso is IPv4-only)
	TxUDPTSO6    TxCaps = 1 << 41 // USO over IPv6
	TxUFO        TxCaps = 1 << 42 // UDP fragmentation, IPv4 and IPv6
	TxESPEncrypt TxCaps = 1 << 43
	TxDigest     TxCaps = 1 << 44

	// TxDPDKMask covers the bits DPDK 22.11 defines.
	TxDPDKMask TxCaps = 1<<22 - 1
)

// Stable capability names, used by the CLI, the config file, JSON and
// telemetry. DPDK's bits keep DPDK's names, lower-cased (testpmd's
// spelling in `port config N tx_offload tcp_tso on`).
var rxCapNames = map[RxCaps]string{
	RxVLANStrip: "vlan_strip", RxIPv4Cksum: "ipv4_cksum", RxUDPCksum: "udp_cksum", RxTCPCksum: "tcp_cksum",
	RxTCPLRO: "tcp_lro", RxQinQStrip: "qinq_strip", RxOuterIPv4Cksum: "outer_ipv4_cksum",
	RxMACsecStrip: "macsec_strip", RxVLANFilter: "vlan_filter", RxVLANExtend: "vlan_extend",
	RxScatter: "scatter", RxTimestamp: "timestamp", RxSecurity: "security", RxKeepCRC: "keep_crc",
	RxSCTPCksum: "sctp_cksum", RxOuterUDPCksum: "outer_udp_cksum", RxRSSHash: "rss_hash",
	RxBufferSplit: "buffer_split",
	RxUDPGRO:      "udp_gro", RxIPv4Reassembly: "ipv4_reassembly", RxIPv6Reassembly: "ipv6_reassembly",
	RxESPDecrypt: "esp_decrypt", RxDigestVerify: "digest_verify", RxClassify: "classify", RxDoSFilter: "dos_filter",
}

var txCapNames = map[TxCaps]string{
	TxVLANInsert: "vlan_insert", TxIPv4Cksum: "ipv4_cksum", TxUDPCksum: "udp_cksum", TxTCPCksum: "tcp_cksum",
	TxSCTPCksum: "sctp_cksum", TxTCPTSO: "tcp_tso", TxUDPTSO: "udp_tso", TxOuterIPv4Cksum: "outer_ipv4_cksum",
	TxQinQInsert: "qinq_insert", TxVXLANTnlTSO: "vxlan_tnl_tso", TxGRETnlTSO: "gre_tnl_tso",
	TxIPIPTnlTSO: "ipip_tnl_tso", TxGENEVETnlTSO: "geneve_tnl_tso", TxMACsecInsert: "macsec_insert",
	TxMTLockfree: "mt_lockfree", TxMultiSegs: "multi_segs", TxMbufFastFree: "mbuf_fast_free",
	TxSecurity: "security", TxUDPTnlTSO: "udp_tnl_tso", TxIPTnlTSO: "ip_tnl_tso",
	TxOuterUDPCksum: "outer_udp_cksum", TxSendOnTime: "send_on_timestamp",
	TxTCPTSO6: "tcp_tso6", TxUDPTSO6: "udp_tso6", TxUFO: "ufo", TxESPEncrypt: "esp_encrypt", TxDigest: "digest",
}

// What offloadpmd's own engines perform. A capability is listed only once
// its engine exists.
const (
	SoftwareRx = RxIPv4Cksum | RxUDPCksum | RxTCPCksum | RxTCPLRO | RxUDPGRO | RxIPv4Reassembly | RxIPv6Reassembly |
		RxESPDecrypt | RxDigestVerify | RxDoSFilter | RxClassify
	SoftwareTx = TxIPv4Cksum | TxUDPCksum | TxTCPCksum | TxTCPTSO | TxUDPTSO | TxMultiSegs |
		TxTCPTSO6 | TxUDPTSO6 | TxUFO | TxESPEncrypt | TxDigest
)

func capNames[T ~uint64](set T, names map[T]string) []string {
	var out []string
	for s := uint64(set); s != 0; {
		i := bits.TrailingZeros64(s)
		s &^= 1 << i
		if n, ok := names[T(1)<<i]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("bit%d", i))
		}
	}
	return out
}

func parseCap[T ~uint64](dir, name string, names map[T]string) (T, error) {
	n := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "-", "_"))
	for c, s := range names {
		if s == n {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w: %s capability %q: known are %s", ErrUnknownCapability, dir, name, strings.Join(allNames(names), ", "))
}

func allNames[T ~uint64](names map[T]string) []string {
	var all T
	for c := range names {
		all |= c
	}
	return capNames(all, names)
}

// Names lists the set by stable name, lowest bit first.
func (c RxCaps) Names() []string { return capNames(c, rxCapNames) }

// Names lists the set by stable name, lowest bit first.
func (c TxCaps) Names() []string { return capNames(c, txCapNames) }

func (c RxCaps) String() string { return setString(c.Names()) }
func (c TxCaps) String() string { return setString(c.Names()) }

func setString(n []string) string {
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, " ")
}

// Has reports whether every capability of x is in c.
func (c RxCaps) Has(x RxCaps) bool { return c&x == x }

// Has reports whether every capability of x is in c.
func (c TxCaps) Has(x TxCaps) bool { return c&x == x }

// ParseRxCap reads one RX capability by name ("tcp_lro", "udp-gro").
func ParseRxCap(name string) (RxCaps, error) { return parseCap("rx", name, rxCapNames) }

// ParseTxCap reads one TX capability by name ("tcp_tso6", "ufo").
func ParseTxCap(name string) (TxCaps, error) { return parseCap("tx", name, txCapNames) }

// AllRxCaps and AllTxCaps are every capability with a name.
func AllRxCaps() RxCaps {
	var all RxCaps
	for c := range rxCapNames {
		all |= c
	}
	return all
}

// AllTxCaps is every TX capability with a name.
func AllTxCaps() TxCaps {
	var all TxCaps
	for c := range txCapNames {
		all |= c
	}
	return all
}
