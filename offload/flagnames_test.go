package offload

import "testing"

// The zero cases are what dpdk-testpmd 22.11 printed on this machine for
// a packet net_pcap received (verbose 1) and sent (verbose 2).
func TestFlagLists(t *testing.T) {
	for _, c := range []struct {
		rx   bool
		f    uint64
		want string
	}{
		{true, 0, "RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN RTE_MBUF_F_RX_OUTER_L4_CKSUM_UNKNOWN "},
		{false, 0, "RTE_MBUF_F_TX_L4_NO_CKSUM "},
		{true, OlRxRSSHash | OlRxIPCksumGood | OlRxL4CksumNone | OlRxLRO,
			"RTE_MBUF_F_RX_RSS_HASH RTE_MBUF_F_RX_L4_CKSUM_NONE RTE_MBUF_F_RX_IP_CKSUM_GOOD RTE_MBUF_F_RX_LRO RTE_MBUF_F_RX_OUTER_L4_CKSUM_UNKNOWN "},
		{false, OlTxIPv4 | OlTxIPCksum | OlTxTCPCksum | OlTxTCPSeg,
			"RTE_MBUF_F_TX_IP_CKSUM RTE_MBUF_F_TX_TCP_CKSUM RTE_MBUF_F_TX_TCP_SEG RTE_MBUF_F_TX_IPV4 "},
		{false, OlTxIPv6 | OlTxUDPCksum | OlTxUDPSeg | olTxTunnelVXLAN,
			"RTE_MBUF_F_TX_UDP_CKSUM RTE_MBUF_F_TX_IPV6 RTE_MBUF_F_TX_TUNNEL_VXLAN RTE_MBUF_F_TX_UDP_SEG "},
	} {
		got := TxFlagList(c.f)
		if c.rx {
			got = RxFlagList(c.f)
		}
		if got != c.want {
			t.Errorf("flags %#x (rx %v): %q, want %q", c.f, c.rx, got, c.want)
		}
	}
}
