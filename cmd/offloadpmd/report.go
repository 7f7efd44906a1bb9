package main

import (
	"fmt"
	"io"
	"net"
	"strings"
)

// The statistics blocks below reproduce dpdk-testpmd 22.11.11's output
// byte for byte (widths, trailing spaces and all), so scripts written for
// testpmd parse offloadpmd the same way.

const (
	fwdStreamBorder = "-------"
	fwdStatsBorder  = "----------------------"
	accStatsBorder  = "+++++++++++++++"
	nicStatsBorder  = "########################"
)

// streamReport is one stream's line in the forward statistics.
type streamReport struct {
	RxPort    uint16 `json:"rx_port"`
	RxQueue   uint16 `json:"rx_queue"`
	TxPort    uint16 `json:"tx_port"`
	TxQueue   uint16 `json:"tx_queue"`
	RxPackets uint64 `json:"rx_packets"`
	TxPackets uint64 `json:"tx_packets"`
	TxDropped uint64 `json:"tx_dropped"`
}

// portFwdReport is one port's forward statistics: NIC counters relative
// to the start of forwarding, plus the streams' TX drops.
type portFwdReport struct {
	Port      uint16 `json:"port"`
	RxPackets uint64 `json:"rx_packets"` // Δ ipackets
	RxDropped uint64 `json:"rx_dropped"` // Δ imissed
	RxErrors  uint64 `json:"rx_errors"`  // ierrors, cumulative (as testpmd prints it)
	RxNoMbuf  uint64 `json:"rx_nombufs"` // Δ rx_nombuf
	TxPackets uint64 `json:"tx_packets"` // Δ opackets
	TxDropped uint64 `json:"tx_dropped"` // Σ streams' drops + Δ oerrors
}

// fwdReport is the whole forward statistics block.
type fwdReport struct {
	Streams []streamReport  `json:"streams"` // printed only when there are more streams than ports
	Ports   []portFwdReport `json:"ports"`
}

func writeStreamStats(w io.Writer, s streamReport) {
	if s.RxPackets == 0 && s.TxPackets == 0 && s.TxDropped == 0 {
		return
	}
	fmt.Fprintf(w, "\n  %s Forward Stats for RX Port=%2d/Queue=%2d -> TX Port=%2d/Queue=%2d %s\n",
		fwdStreamBorder, s.RxPort, s.RxQueue, s.TxPort, s.TxQueue, fwdStreamBorder)
	fmt.Fprintf(w, "  RX-packets: %-14d TX-packets: %-14d TX-dropped: %-14d\n", s.RxPackets, s.TxPackets, s.TxDropped)
}

func writePortFwdStats(w io.Writer, p portFwdReport) {
	fmt.Fprintf(w, "\n  %s Forward statistics for port %-2d %s\n", fwdStatsBorder, p.Port, fwdStatsBorder)
	fmt.Fprintf(w, "  RX-packets: %-14d RX-dropped: %-14dRX-total: %d\n", p.RxPackets, p.RxDropped, p.RxPackets+p.RxDropped)
	if p.RxErrors+p.RxNoMbuf > 0 {
		fmt.Fprintf(w, "  RX-error: %d\n", p.RxErrors)
		fmt.Fprintf(w, "  RX-nombufs: %-14d\n", p.RxNoMbuf)
	}
	fmt.Fprintf(w, "  TX-packets: %-14d TX-dropped: %-14dTX-total: %d\n", p.TxPackets, p.TxDropped, p.TxPackets+p.TxDropped)
	fmt.Fprintf(w, "  %s--------------------------------%s\n", fwdStatsBorder, fwdStatsBorder)
}

// writeFwdStats prints testpmd's forward statistics: per-stream blocks
// when streams outnumber ports, per-port blocks, and the accumulated
// block.
func writeFwdStats(w io.Writer, r fwdReport) {
	if len(r.Streams) > len(r.Ports) {
		for _, s := range r.Streams {
			writeStreamStats(w, s)
		}
	}
	var rx, rxDrop, tx, txDrop, noMbuf uint64
	for _, p := range r.Ports {
		writePortFwdStats(w, p)
		rx += p.RxPackets
		rxDrop += p.RxDropped
		tx += p.TxPackets
		txDrop += p.TxDropped
		noMbuf += p.RxNoMbuf
	}
	fmt.Fprintf(w, "\n  %s Accumulated forward statistics for all ports%s\n", accStatsBorder, accStatsBorder)
	fmt.Fprintf(w, "  RX-packets: %-14d RX-dropped: %-14dRX-total: %d\n", rx, rxDrop, rx+rxDrop)
	fmt.Fprintf(w, "  TX-packets: %-14d TX-dropped: %-14dTX-total: %d\n", tx, txDrop, tx+txDrop)
	if noMbuf > 0 {
		fmt.Fprintf(w, "  RX-nombufs: %-14d\n", noMbuf)
	}
	fmt.Fprintf(w, "  %s++++++++++++++++++++++++++++++++++++++++++++++%s\n", accStatsBorder, accStatsBorder)
}

// nicReport is one port's NIC statistics and the rates since the last
// show.
type nicReport struct {
	Port      uint16      `json:"port"`
	RxPackets uint64      `json:"rx_packets"`
	RxMissed  uint64      `json:"rx_missed"`
	RxBytes   uint64      `json:"rx_bytes"`
	RxErrors  uint64      `json:"rx_errors"`
	RxNoMbuf  uint64      `json:"rx_nombuf"`
	TxPackets uint64      `json:"tx_packets"`
	TxErrors  uint64      `json:"tx_errors"`
	TxBytes   uint64      `json:"tx_bytes"`
	RxPPS     uint64      `json:"rx_pps"`
	RxBPS     uint64      `json:"rx_bps"`
	TxPPS     uint64      `json:"tx_pps"`
	TxBPS     uint64      `json:"tx_bps"`
	XStats    []xstatRate `json:"xstats,omitempty"`
}

// xstatRate is one --display-xstats line.
type xstatRate struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
	Rate  uint64 `json:"rate"`
}

func writeNICStats(w io.Writer, r nicReport) {
	fmt.Fprintf(w, "\n  %s NIC statistics for port %-2d %s\n", nicStatsBorder, r.Port, nicStatsBorder)
	fmt.Fprintf(w, "  RX-packets: %-10d RX-missed: %-10d RX-bytes:  %d\n", r.RxPackets, r.RxMissed, r.RxBytes)
	fmt.Fprintf(w, "  RX-errors: %d\n", r.RxErrors)
	fmt.Fprintf(w, "  RX-nombuf:  %-10d\n", r.RxNoMbuf)
	fmt.Fprintf(w, "  TX-packets: %-10d TX-errors: %-10d TX-bytes:  %d\n", r.TxPackets, r.TxErrors, r.TxBytes)
	fmt.Fprintf(w, "\n  Throughput (since last show)\n")
	fmt.Fprintf(w, "  Rx-pps: %12d          Rx-bps: %12d\n  Tx-pps: %12d          Tx-bps: %12d\n", r.RxPPS, r.RxBPS, r.TxPPS, r.TxBPS)
	if len(r.XStats) > 0 {
		fmt.Fprintf(w, "\n%-31s%-17s%s\n", " ", "Value", "Rate (since last show)")
		for _, x := range r.XStats {
			fmt.Fprintf(w, "  %-25s%12d %15d\n", x.Name, x.Value, x.Rate)
		}
	}
	fmt.Fprintf(w, "  %s############################%s\n", nicStatsBorder, nicStatsBorder)
}

// clearScreen is what testpmd prints before each periodic block.
const clearScreen = "\x1b[2J\x1b[1;1H"

func writePeriodicStats(w io.Writer, ports []nicReport) {
	fmt.Fprint(w, clearScreen)
	fmt.Fprint(w, "\nPort statistics ====================================")
	for _, p := range ports {
		writeNICStats(w, p)
	}
}

// rate is testpmd's "since last show" arithmetic: wall-clock nanoseconds,
// truncated to an integer rate; bytes per second truncated before the
// multiplication by 8.
func rate(diff uint64, ns int64) uint64 {
	if ns <= 0 {
		return 0
	}
	return uint64(float64(diff) / float64(ns) * 1e9)
}

// fwdConfigReport is the stream layout printed at start and by `show
// config fwd`.
type fwdConfigReport struct {
	Engine    string
	Retry     bool
	RetryNum  uint32
	RetryUs   uint32
	NbPorts   int
	NbLcores  int
	NbStreams int
	Lcores    []lcoreConfigReport
}

type lcoreConfigReport struct {
	Lcore     uint
	Socket    int
	Streams   []streamConfigReport
	Pipelined bool // pipeline mode: PipeTx runs these streams' TX stage
	PipeTx    uint
}

type streamConfigReport struct {
	RxPort, RxQueue uint16
	RxSocket        int
	TxPort, TxQueue uint16
	TxSocket        int
	Peer            net.HardwareAddr
}

func withRetry(on bool) string {
	if on {
		return " with retry"
	}
	return ""
}

func writeFwdConfig(w io.Writer, r fwdConfigReport) {
	fmt.Fprintf(w, "%s packet forwarding%s - ports=%d - cores=%d - streams=%d - NUMA support enabled, MP allocation mode: native\n",
		r.Engine, withRetry(r.Retry), r.NbPorts, r.NbLcores, r.NbStreams)
	if r.Retry {
		fmt.Fprintf(w, "TX retry num: %d, delay between TX retries: %dus\n", r.RetryNum, r.RetryUs)
	}
	for _, l := range r.Lcores {
		fmt.Fprintf(w, "Logical Core %d (socket %d) forwards packets on %d streams:", l.Lcore, l.Socket, len(l.Streams))
		for _, s := range l.Streams {
			fmt.Fprintf(w, "\n  RX P=%d/Q=%d (socket %d) -> TX P=%d/Q=%d (socket %d) peer=%s",
				s.RxPort, s.RxQueue, s.RxSocket, s.TxPort, s.TxQueue, s.TxSocket, upperMAC(s.Peer))
		}
		fmt.Fprint(w, "\n")
		if l.Pipelined {
			fmt.Fprintf(w, "  (pipeline mode: the TX stage and TX of these streams run on lcore %d)\n", l.PipeTx)
		}
	}
	fmt.Fprint(w, "\n")
}

// rxtxConfigReport is what testpmd prints after the stream layout.
type rxtxConfigReport struct {
	Engine    string
	Retry     bool
	Burst     uint16
	TxOnly    bool
	TxPktLen  int
	TxPktSegs int
	NbCores   int // requested --nb-cores, as testpmd prints it
	NbPorts   int
	Ports     []portQueueReport
}

type portQueueReport struct {
	Port               uint16
	RxQueues, TxQueues uint16
	RxOffloads         uint64
	TxOffloads         uint64
	RxDesc, TxDesc     uint16
}

func writeRxTxConfig(w io.Writer, r rxtxConfigReport) {
	fmt.Fprintf(w, "  %s packet forwarding%s packets/burst=%d\n", r.Engine, withRetry(r.Retry), r.Burst)
	if r.TxOnly {
		fmt.Fprintf(w, "  packet len=%d - nb packet segments=%d\n", r.TxPktLen, r.TxPktSegs)
	}
	fmt.Fprintf(w, "  nb forwarding cores=%d - nb forwarding ports=%d\n", r.NbCores, r.NbPorts)
	for _, p := range r.Ports {
		fmt.Fprintf(w, "  port %d: RX queue number: %d Tx queue number: %d\n", p.Port, p.RxQueues, p.TxQueues)
		fmt.Fprintf(w, "    Rx offloads=0x%x Tx offloads=0x%x\n", p.RxOffloads, p.TxOffloads)
		fmt.Fprintf(w, "    RX queue: 0\n")
		fmt.Fprintf(w, "      RX desc=%d - RX free threshold=0\n", p.RxDesc)
		fmt.Fprintf(w, "      RX threshold registers: pthresh=0 hthresh=0  wthresh=0\n")
		fmt.Fprintf(w, "      RX Offloads=0x%x\n", p.RxOffloads)
		fmt.Fprintf(w, "    TX queue: 0\n")
		fmt.Fprintf(w, "      TX desc=%d - TX free threshold=0\n", p.TxDesc)
		fmt.Fprintf(w, "      TX threshold registers: pthresh=0 hthresh=0  wthresh=0\n")
		fmt.Fprintf(w, "      TX offloads=0x%x - TX RS bit threshold=0\n", p.TxOffloads)
	}
}

// upperMAC prints a MAC as testpmd does: %02X with colons.
func upperMAC(m net.HardwareAddr) string { return strings.ToUpper(m.String()) }
