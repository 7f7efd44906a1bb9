package pmd

import (
	"strings"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload"
)

// TestOffloadMirrorsDPDK: the pure-Go offload package mirrors DPDK's mbuf
// flags and offload bits; every value and name must match the headers and
// library this binary links.
func TestOffloadMirrorsDPDK(t *testing.T) {
	flags := map[string]uint64{
		"RX_VLAN": offload.OlRxVLAN, "RX_RSS_HASH": offload.OlRxRSSHash, "RX_L4_CKSUM_BAD": offload.OlRxL4CksumBad,
		"RX_IP_CKSUM_BAD": offload.OlRxIPCksumBad, "RX_VLAN_STRIPPED": offload.OlRxVLANStripped,
		"RX_IP_CKSUM_GOOD": offload.OlRxIPCksumGood, "RX_L4_CKSUM_GOOD": offload.OlRxL4CksumGood,
		"RX_IP_CKSUM_NONE": offload.OlRxIPCksumNone, "RX_L4_CKSUM_NONE": offload.OlRxL4CksumNone,
		"RX_LRO": offload.OlRxLRO, "RX_QINQ": offload.OlRxQinQ,
		"TX_OUTER_UDP_CKSUM": offload.OlTxOuterUDPCksum, "TX_UDP_SEG": offload.OlTxUDPSeg,
		"TX_SEC_OFFLOAD": offload.OlTxSecOffload, "TX_MACSEC": offload.OlTxMACsec, "TX_TUNNEL_MASK": offload.OlTxTunnelMask,
		"TX_QINQ": offload.OlTxQinQ, "TX_TCP_SEG": offload.OlTxTCPSeg, "TX_IEEE1588_TMST": offload.OlTxIEEE1588,
		"TX_TCP_CKSUM": offload.OlTxTCPCksum, "TX_SCTP_CKSUM": offload.OlTxSCTPCksum, "TX_UDP_CKSUM": offload.OlTxUDPCksum,
		"TX_L4_MASK": offload.OlTxL4Mask, "TX_IP_CKSUM": offload.OlTxIPCksum, "TX_IPV4": offload.OlTxIPv4,
		"TX_IPV6": offload.OlTxIPv6, "TX_VLAN": offload.OlTxVLAN, "TX_OUTER_IP_CKSUM": offload.OlTxOuterIPCksum,
		"TX_OUTER_IPV4": offload.OlTxOuterIPv4, "TX_OUTER_IPV6": offload.OlTxOuterIPv6, "TX_OFFLOAD_MASK": offload.OlTxOffloadMask,
	}
	if len(flags) != len(refOlFlags) {
		t.Fatalf("%d flags mirrored, %d referenced", len(flags), len(refOlFlags))
	}
	for name, want := range refOlFlags {
		if got := flags[name]; got != want {
			t.Errorf("RTE_MBUF_F_%s: offload has %#x, DPDK %#x", name, got, want)
		}
	}
	// Capability bits below 40 are DPDK's, with DPDK's names lower-cased.
	for i := range 40 {
		rx := offload.RxCaps(1) << i
		if dpdk := rxNames[i]; dpdk != offloadUnknown {
			if got := rx.Names(); len(got) != 1 || got[0] != strings.ToLower(dpdk) {
				t.Errorf("rx bit %d: offload %v, DPDK %s", i, got, dpdk)
			}
		}
		tx := offload.TxCaps(1) << i
		if dpdk := txNames[i]; dpdk != offloadUnknown {
			if got := tx.Names(); len(got) != 1 || got[0] != strings.ToLower(dpdk) {
				t.Errorf("tx bit %d: offload %v, DPDK %s", i, got, dpdk)
			}
		}
	}
	if offload.RxCaps(RxOffloadTCPLRO) != offload.RxTCPLRO || offload.TxCaps(TxOffloadTCPTSO) != offload.TxTCPTSO ||
		offload.TxCaps(TxOffloadUDPTSO) != offload.TxUDPTSO || offload.TxCaps(TxOffloadMultiSegs) != offload.TxMultiSegs {
		t.Error("capability bits differ from pmd's offload bits")
	}
}
