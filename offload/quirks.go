package offload

// Quirks are a device's known departures from what its advertised
// capabilities promise. For a packet a quirk would spoil, the TX stage
// takes the task back from the device and performs it in software, so
// what leaves the port is right whatever the driver does.
type Quirks uint8

const (
	// QuirkOddChainCksum: the device computes a chained packet's L4
	// checksum wrong when a piece before the last holds an odd number of
	// L4 bytes, and so the checksums of the segments it cuts from one.
	// net_tap (DPDK 22.11) adds the pieces' one's-complement sums without
	// byte-swapping those that start at an odd offset; the receiving
	// kernel counts TcpInCsumErrors.
	QuirkOddChainCksum Quirks = 1 << iota
	// QuirkTSOFrameMTU: the device segments only when a whole segment
	// frame, Ethernet header included, fits the port's MTU; otherwise it
	// drops the packet as an output error. net_tap compares
	// l2_len+l3_len+l4_len+tso_segsz with the MTU, so an IP-MTU-sized
	// segment (the usual MSS) is never cut by it.
	QuirkTSOFrameMTU
)

// DriverQuirks is what is known of a driver's departures.
func DriverQuirks(driver string) Quirks {
	switch driver {
	case "net_tap":
		return QuirkOddChainCksum | QuirkTSOFrameMTU
	}
	return 0
}

// Segmentation and L4 checksum capabilities, which quirks take back.
const (
	segCaps     = TxTCPTSO | TxTCPTSO6 | TxUDPTSO | TxUDPTSO6 | TxUFO
	l4CksumCaps = TxTCPCksum | TxUDPCksum | TxSCTPCksum
)

// Spoils returns the device capabilities q takes back for one packet
// whose batch b decoded with the device doing its marked steps: segsz is
// its segment size, mtu the port's, and oddPiece says a chain piece
// before the last holds an odd number of L4 bytes. Decoding again
// without them leaves those tasks to software.
func (q Quirks) Spoils(b *Batch, segsz, mtu int, oddPiece bool) TxCaps {
	if b.N == 0 {
		return 0
	}
	seg := isSegTask(b.Steps[0].Task)
	hwSeg := seg && b.Steps[0].Verdict == Hardware
	var back TxCaps
	if q&QuirkTSOFrameMTU != 0 && hwSeg && b.Layout.PayloadOff()+segsz > mtu {
		back |= segCaps
	}
	// Software's segments are each one piece: the device may checksum
	// them whatever the chain they were cut from.
	if q&QuirkOddChainCksum != 0 && oddPiece && (!seg || hwSeg) {
		if hwSeg {
			back |= segCaps
		} else {
			back |= l4CksumCaps
		}
	}
	return back
}

func isSegTask(t Task) bool { return t == TaskTSO || t == TaskUSO || t == TaskUFO }
