package main

import (
	"bytes"
	"net"
	"testing"
)

// The expected texts were printed by dpdk-testpmd 22.11.11 on this
// machine (q2c2, xst and ringtx runs in the research notes); the reports
// are fed the same numbers and must match byte for byte.

func TestFwdStatsMatchTestpmd(t *testing.T) {
	r := fwdReport{
		Streams: []streamReport{
			{RxPort: 0, RxQueue: 0, TxPort: 1, TxQueue: 0, RxPackets: 6125888, TxPackets: 6125888},
			{RxPort: 1, RxQueue: 0, TxPort: 0, TxQueue: 0, RxPackets: 6125888, TxPackets: 6125888},
			{RxPort: 0, RxQueue: 1, TxPort: 1, TxQueue: 1, RxPackets: 6095136, TxPackets: 6095136},
			{RxPort: 1, RxQueue: 1, TxPort: 0, TxQueue: 1, RxPackets: 6095136, TxPackets: 6095136},
			{RxPort: 1, RxQueue: 2, TxPort: 0, TxQueue: 2}, // idle: skipped
		},
		Ports: []portFwdReport{
			{Port: 0, RxPackets: 12221024, TxPackets: 12221024},
			{Port: 1, RxPackets: 12221024, TxPackets: 12221024},
		},
	}
	want := `
  ------- Forward Stats for RX Port= 0/Queue= 0 -> TX Port= 1/Queue= 0 -------
  RX-packets: 6125888        TX-packets: 6125888        TX-dropped: 0             

  ------- Forward Stats for RX Port= 1/Queue= 0 -> TX Port= 0/Queue= 0 -------
  RX-packets: 6125888        TX-packets: 6125888        TX-dropped: 0             

  ------- Forward Stats for RX Port= 0/Queue= 1 -> TX Port= 1/Queue= 1 -------
  RX-packets: 6095136        TX-packets: 6095136        TX-dropped: 0             

  ------- Forward Stats for RX Port= 1/Queue= 1 -> TX Port= 0/Queue= 1 -------
  RX-packets: 6095136        TX-packets: 6095136        TX-dropped: 0             

  ---------------------- Forward statistics for port 0  ----------------------
  RX-packets: 12221024       RX-dropped: 0             RX-total: 12221024
  TX-packets: 12221024       TX-dropped: 0             TX-total: 12221024
  ----------------------------------------------------------------------------

  ---------------------- Forward statistics for port 1  ----------------------
  RX-packets: 12221024       RX-dropped: 0             RX-total: 12221024
  TX-packets: 12221024       TX-dropped: 0             TX-total: 12221024
  ----------------------------------------------------------------------------

  +++++++++++++++ Accumulated forward statistics for all ports+++++++++++++++
  RX-packets: 24442048       RX-dropped: 0             RX-total: 24442048
  TX-packets: 24442048       TX-dropped: 0             TX-total: 24442048
  ++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++++
`
	var b bytes.Buffer
	writeFwdStats(&b, r)
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestPortFwdStatsDropsMatchTestpmd(t *testing.T) {
	want := `
  ---------------------- Forward statistics for port 0  ----------------------
  RX-packets: 0              RX-dropped: 0             RX-total: 0
  TX-packets: 1023           TX-dropped: 10300321      TX-total: 10301344
  ----------------------------------------------------------------------------
`
	var b bytes.Buffer
	writePortFwdStats(&b, portFwdReport{Port: 0, TxPackets: 1023, TxDropped: 10300321})
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
	// RX errors and no-mbuf lines appear only when non-zero.
	b.Reset()
	writePortFwdStats(&b, portFwdReport{Port: 12, RxPackets: 5, RxErrors: 2, RxNoMbuf: 3})
	if !bytes.Contains(b.Bytes(), []byte("  RX-error: 2\n  RX-nombufs: 3             \n")) ||
		!bytes.Contains(b.Bytes(), []byte("Forward statistics for port 12 ---")) {
		t.Fatalf("error lines missing:\n%s", b.String())
	}
}

func TestNICStatsMatchTestpmd(t *testing.T) {
	want := `
  ######################## NIC statistics for port 0  ########################
  RX-packets: 36838848   RX-missed: 0          RX-bytes:  0
  RX-errors: 0
  RX-nombuf:  0         
  TX-packets: 36464064   TX-errors: 0          TX-bytes:  0

  Throughput (since last show)
  Rx-pps:     36457074          Rx-bps:            0
  Tx-pps:     36457106          Tx-bps:            0

                               Value            Rate (since last show)
  rx_good_packets              36839296        36457217
  tx_good_packets              36464480        36457185
  ############################################################################
`
	var b bytes.Buffer
	writeNICStats(&b, nicReport{
		Port: 0, RxPackets: 36838848, TxPackets: 36464064,
		RxPPS: 36457074, TxPPS: 36457106,
		XStats: []xstatRate{{"rx_good_packets", 36839296, 36457217}, {"tx_good_packets", 36464480, 36457185}},
	})
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestFwdConfigMatchesTestpmd(t *testing.T) {
	want := `txonly packet forwarding - ports=2 - cores=1 - streams=2 - NUMA support enabled, MP allocation mode: native
Logical Core 1 (socket 0) forwards packets on 2 streams:
  RX P=0/Q=0 (socket 0) -> TX P=1/Q=0 (socket 0) peer=AA:BB:CC:DD:EE:FF
  RX P=1/Q=0 (socket 0) -> TX P=0/Q=0 (socket 0) peer=02:00:00:00:00:00

  txonly packet forwarding packets/burst=32
  packet len=64 - nb packet segments=1
  nb forwarding cores=1 - nb forwarding ports=2
`
	peer1, _ := net.ParseMAC("aa:bb:cc:dd:ee:ff")
	var b bytes.Buffer
	writeFwdConfig(&b, fwdConfigReport{Engine: "txonly", NbPorts: 2, NbLcores: 1, NbStreams: 2,
		Lcores: []lcoreConfigReport{{Lcore: 1, Streams: []streamConfigReport{
			{RxPort: 0, TxPort: 1, Peer: peer1},
			{RxPort: 1, TxPort: 0, Peer: net.HardwareAddr{2, 0, 0, 0, 0, 0}},
		}}}})
	writeRxTxConfig(&b, rxtxConfigReport{Engine: "txonly", Burst: 32, TxOnly: true, TxPktLen: 64, TxPktSegs: 1, NbCores: 1, NbPorts: 2})
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
}

func TestRateTruncates(t *testing.T) {
	if got := rate(100, 3e9); got != 33 {
		t.Fatalf("rate(100, 3s) = %d, want 33 (truncated)", got)
	}
	if rate(5, 0) != 0 {
		t.Fatal("first show must be 0")
	}
}
