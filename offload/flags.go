package offload

// DPDK 22.11 mbuf ol_flags (RTE_MBUF_F_*), mirrored so the request decoder runs without
// DPDK (unit tests, fuzzing). pmd's tests check every value against
// rte_mbuf_core.h.
const (
	OlRxVLAN    uint64 = 1 << 0
	OlRxRSSHash uint64 = 1 << 1
	// OlRxFDIR: the packet matched a flow rule; with OlRxFDIRID, the
	// rule's mark is in the mbuf's hash.fdir.hi (rte_flow's MARK action).
	OlRxFDIR         uint64 = 1 << 2
	OlRxL4CksumBad   uint64 = 1 << 3
	OlRxIPCksumBad   uint64 = 1 << 4
	OlRxVLANStripped uint64 = 1 << 6
	OlRxIPCksumGood  uint64 = 1 << 7
	OlRxL4CksumGood  uint64 = 1 << 8
	OlRxFDIRID       uint64 = 1 << 13
	OlRxIPCksumMask         = OlRxIPCksumBad | OlRxIPCksumGood
	OlRxIPCksumNone         = OlRxIPCksumBad | OlRxIPCksumGood
	OlRxL4CksumMask         = OlRxL4CksumBad | OlRxL4CksumGood
	OlRxL4CksumNone         = OlRxL4CksumBad | OlRxL4CksumGood
	OlRxLRO          uint64 = 1 << 16
	// OlRxSecOffload: the packet was decrypted (inline IPsec); with
	// OlRxSecOffloadFailed, it failed to be.
	OlRxSecOffload       uint64 = 1 << 18
	OlRxSecOffloadFailed uint64 = 1 << 19
	OlRxQinQ             uint64 = 1 << 20

	OlTxOuterUDPCksum uint64 = 1 << 41
	// OlTxUDPSeg asks for UDP segmentation. DPDK's documentation calls it
	// UDP fragmentation; offloadpmd follows DESIGN.md and the later DPDK
	// and virtio (UDP_L4) meaning: USO, every segment a whole datagram.
	// UFO is asked for with a dynamic flag.
	OlTxUDPSeg       uint64 = 1 << 42
	OlTxSecOffload   uint64 = 1 << 43
	OlTxMACsec       uint64 = 1 << 44
	OlTxTunnelMask   uint64 = 0xf << 45
	OlTxQinQ         uint64 = 1 << 49
	OlTxTCPSeg       uint64 = 1 << 50
	OlTxIEEE1588     uint64 = 1 << 51
	OlTxL4NoCksum    uint64 = 0 << 52
	OlTxTCPCksum     uint64 = 1 << 52
	OlTxSCTPCksum    uint64 = 2 << 52
	OlTxUDPCksum     uint64 = 3 << 52
	OlTxL4Mask       uint64 = 3 << 52
	OlTxIPCksum      uint64 = 1 << 54
	OlTxIPv4         uint64 = 1 << 55
	OlTxIPv6         uint64 = 1 << 56
	OlTxVLAN         uint64 = 1 << 57
	OlTxOuterIPCksum uint64 = 1 << 58
	OlTxOuterIPv4    uint64 = 1 << 59
	OlTxOuterIPv6    uint64 = 1 << 60

	// OlTxOffloadMask is RTE_MBUF_F_TX_OFFLOAD_MASK: every TX request flag.
	OlTxOffloadMask = OlTxOuterIPv6 | OlTxOuterIPv4 | OlTxOuterIPCksum | OlTxVLAN | OlTxIPv6 | OlTxIPv4 |
		OlTxIPCksum | OlTxL4Mask | OlTxIEEE1588 | OlTxTCPSeg | OlTxQinQ | OlTxTunnelMask | OlTxMACsec |
		OlTxSecOffload | OlTxUDPSeg | OlTxOuterUDPCksum
)
