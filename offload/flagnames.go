package offload

import "strings"

// Names of the mbuf ol_flags as DPDK 22.11 prints them
// (rte_get_rx_ol_flag_list, rte_get_tx_ol_flag_list in lib/mbuf/rte_mbuf.c):
// each name a flag or a field value whose bits under its mask equal it, in
// DPDK's order, each followed by a space.

// RX flags offload has no constant for, and the multi-bit fields' values.
const (
	olRxOuterIPCksumBad     uint64 = 1 << 5
	olRxIEEE1588PTP         uint64 = 1 << 9
	olRxIEEE1588Tmst        uint64 = 1 << 10
	olRxFDIRFlx             uint64 = 1 << 14
	olRxQinQStripped        uint64 = 1 << 15
	olRxSecOffload          uint64 = 1 << 18
	olRxSecOffloadFailed    uint64 = 1 << 19
	olRxOuterL4CksumBad     uint64 = 1 << 21
	olRxOuterL4CksumGood    uint64 = 1 << 22
	olRxOuterL4CksumMask           = olRxOuterL4CksumBad | olRxOuterL4CksumGood
	olTxTunnelVXLAN         uint64 = 0x1 << 45
	olTxTunnelGRE           uint64 = 0x2 << 45
	olTxTunnelIPIP          uint64 = 0x3 << 45
	olTxTunnelGENEVE        uint64 = 0x4 << 45
	olTxTunnelMPLSinUDP     uint64 = 0x5 << 45
	olTxTunnelVXLANGPE      uint64 = 0x6 << 45
	olTxTunnelGTP           uint64 = 0x7 << 45
	olTxTunnelIP            uint64 = 0xd << 45
	olTxTunnelUDP           uint64 = 0xe << 45
	olRxOuterL4CksumInvalid        = olRxOuterL4CksumMask
)

type flagName struct {
	flag, mask uint64
	name       string
}

var rxFlagNames = []flagName{
	{OlRxVLAN, OlRxVLAN, "RTE_MBUF_F_RX_VLAN"},
	{OlRxRSSHash, OlRxRSSHash, "RTE_MBUF_F_RX_RSS_HASH"},
	{OlRxFDIR, OlRxFDIR, "RTE_MBUF_F_RX_FDIR"},
	{OlRxL4CksumBad, OlRxL4CksumMask, "RTE_MBUF_F_RX_L4_CKSUM_BAD"},
	{OlRxL4CksumGood, OlRxL4CksumMask, "RTE_MBUF_F_RX_L4_CKSUM_GOOD"},
	{OlRxL4CksumNone, OlRxL4CksumMask, "RTE_MBUF_F_RX_L4_CKSUM_NONE"},
	{0, OlRxL4CksumMask, "RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN"},
	{OlRxIPCksumBad, OlRxIPCksumMask, "RTE_MBUF_F_RX_IP_CKSUM_BAD"},
	{OlRxIPCksumGood, OlRxIPCksumMask, "RTE_MBUF_F_RX_IP_CKSUM_GOOD"},
	{OlRxIPCksumNone, OlRxIPCksumMask, "RTE_MBUF_F_RX_IP_CKSUM_NONE"},
	{0, OlRxIPCksumMask, "RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN"},
	{olRxOuterIPCksumBad, olRxOuterIPCksumBad, "RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD"},
	{OlRxVLANStripped, OlRxVLANStripped, "RTE_MBUF_F_RX_VLAN_STRIPPED"},
	{olRxIEEE1588PTP, olRxIEEE1588PTP, "RTE_MBUF_F_RX_IEEE1588_PTP"},
	{olRxIEEE1588Tmst, olRxIEEE1588Tmst, "RTE_MBUF_F_RX_IEEE1588_TMST"},
	{OlRxFDIRID, OlRxFDIRID, "RTE_MBUF_F_RX_FDIR_ID"},
	{olRxFDIRFlx, olRxFDIRFlx, "RTE_MBUF_F_RX_FDIR_FLX"},
	{olRxQinQStripped, olRxQinQStripped, "RTE_MBUF_F_RX_QINQ_STRIPPED"},
	{OlRxLRO, OlRxLRO, "RTE_MBUF_F_RX_LRO"},
	{olRxSecOffload, olRxSecOffload, "RTE_MBUF_F_RX_SEC_OFFLOAD"},
	{olRxSecOffloadFailed, olRxSecOffloadFailed, "RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED"},
	{OlRxQinQ, OlRxQinQ, "RTE_MBUF_F_RX_QINQ"},
	{olRxOuterL4CksumBad, olRxOuterL4CksumMask, "RTE_MBUF_F_RX_OUTER_L4_CKSUM_BAD"},
	{olRxOuterL4CksumGood, olRxOuterL4CksumMask, "RTE_MBUF_F_RX_OUTER_L4_CKSUM_GOOD"},
	{olRxOuterL4CksumInvalid, olRxOuterL4CksumMask, "RTE_MBUF_F_RX_OUTER_L4_CKSUM_INVALID"},
	{0, olRxOuterL4CksumMask, "RTE_MBUF_F_RX_OUTER_L4_CKSUM_UNKNOWN"},
}

var txFlagNames = []flagName{
	{OlTxVLAN, OlTxVLAN, "RTE_MBUF_F_TX_VLAN"},
	{OlTxIPCksum, OlTxIPCksum, "RTE_MBUF_F_TX_IP_CKSUM"},
	{OlTxTCPCksum, OlTxL4Mask, "RTE_MBUF_F_TX_TCP_CKSUM"},
	{OlTxSCTPCksum, OlTxL4Mask, "RTE_MBUF_F_TX_SCTP_CKSUM"},
	{OlTxUDPCksum, OlTxL4Mask, "RTE_MBUF_F_TX_UDP_CKSUM"},
	{OlTxL4NoCksum, OlTxL4Mask, "RTE_MBUF_F_TX_L4_NO_CKSUM"},
	{OlTxIEEE1588, OlTxIEEE1588, "RTE_MBUF_F_TX_IEEE1588_TMST"},
	{OlTxTCPSeg, OlTxTCPSeg, "RTE_MBUF_F_TX_TCP_SEG"},
	{OlTxIPv4, OlTxIPv4, "RTE_MBUF_F_TX_IPV4"},
	{OlTxIPv6, OlTxIPv6, "RTE_MBUF_F_TX_IPV6"},
	{OlTxOuterIPCksum, OlTxOuterIPCksum, "RTE_MBUF_F_TX_OUTER_IP_CKSUM"},
	{OlTxOuterIPv4, OlTxOuterIPv4, "RTE_MBUF_F_TX_OUTER_IPV4"},
	{OlTxOuterIPv6, OlTxOuterIPv6, "RTE_MBUF_F_TX_OUTER_IPV6"},
	{olTxTunnelVXLAN, OlTxTunnelMask, "RTE_MBUF_F_TX_TUNNEL_VXLAN"},
	{olTxTunnelGTP, OlTxTunnelMask, "RTE_MBUF_F_TX_TUNNEL_GTP"},
	{olTxTunnelGRE, OlTxTunnelMask, "RTE_MBUF_F_TX_TUNNEL_GRE"},
	{olTxTunnelIPIP, OlTxTunnelMask, "RTE_MBUF_F_TX_TUNNEL_IPIP"},
	{olTxTunnelGENEVE, OlTxTunnelMask, "RTE_MBUF_F_TX_TUNNEL_GENEVE"},
	{olTxTunnelMPLSinUDP, OlTxTunnelMask, "RTE_MBUF_F_TX_TUNNEL_MPLSINUDP"},
	{olTxTunnelVXLANGPE, OlTxTunnelMask, "RTE_MBUF_F_TX_TUNNEL_VXLAN_GPE"},
	{olTxTunnelIP, OlTxTunnelMask, "RTE_MBUF_F_TX_TUNNEL_IP"},
	{olTxTunnelUDP, OlTxTunnelMask, "RTE_MBUF_F_TX_TUNNEL_UDP"},
	{OlTxQinQ, OlTxQinQ, "RTE_MBUF_F_TX_QINQ"},
	{OlTxMACsec, OlTxMACsec, "RTE_MBUF_F_TX_MACSEC"},
	{OlTxSecOffload, OlTxSecOffload, "RTE_MBUF_F_TX_SEC_OFFLOAD"},
	{OlTxUDPSeg, OlTxUDPSeg, "RTE_MBUF_F_TX_UDP_SEG"},
	{OlTxOuterUDPCksum, OlTxOuterUDPCksum, "RTE_MBUF_F_TX_OUTER_UDP_CKSUM"},
}

// RxFlagList names the RX flags of f as rte_get_rx_ol_flag_list does
// (the unknown checksum states included: no flag names them).
func RxFlagList(f uint64) string { return flagList(f, rxFlagNames) }

// TxFlagList names the TX flags of f as rte_get_tx_ol_flag_list does
// (RTE_MBUF_F_TX_L4_NO_CKSUM for no L4 checksum request included).
func TxFlagList(f uint64) string { return flagList(f, txFlagNames) }

func flagList(f uint64, names []flagName) string {
	var b strings.Builder
	for _, n := range names {
		if f&n.mask == n.flag {
			b.WriteString(n.name)
			b.WriteByte(' ')
		}
	}
	return b.String()
}
