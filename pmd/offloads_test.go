package pmd_test

import (
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

func TestOffloadNames(t *testing.T) {
	if got := (pmd.RxOffloadIPv4Cksum | pmd.RxOffloadTCPLRO).Names(); !reflect.DeepEqual(got, []string{"IPV4_CKSUM", "TCP_LRO"}) {
		t.Errorf("rx names %v", got)
	}
	if got := (pmd.TxOffloadTCPTSO | pmd.TxOffloadMultiSegs).String(); got != "TCP_TSO MULTI_SEGS" {
		t.Errorf("tx set %q", got)
	}
	if o, err := pmd.ParseTxOffload("tcp_tso"); err != nil || o != pmd.TxOffloadTCPTSO {
		t.Errorf("ParseTxOffload(tcp_tso) = %v, %v", o, err)
	}
	if o, err := pmd.ParseRxOffload("IPV4-CKSUM"); err != nil || o != pmd.RxOffloadIPv4Cksum {
		t.Errorf("ParseRxOffload(IPV4-CKSUM) = %v, %v", o, err)
	}
	// The two bit spaces overlap: bit 5 is TCP_TSO on TX and QINQ_STRIP on RX.
	if _, err := pmd.ParseRxOffload("tcp_tso"); err == nil || !strings.Contains(err.Error(), "known are") {
		t.Errorf("tcp_tso is a TX offload; RX parse gave %v", err)
	}
	if len(pmd.RxOffloadNames()) < 15 || len(pmd.TxOffloadNames()) < 20 {
		t.Errorf("DPDK 22.11 names %d RX and %d TX offloads", len(pmd.RxOffloadNames()), len(pmd.TxOffloadNames()))
	}
}

func TestResolve(t *testing.T) {
	rx, tx, down := pmd.Resolve(pmd.RxOffloadChecksum|pmd.RxOffloadTCPLRO, pmd.RxOffloadChecksum,
		pmd.TxOffloadTCPTSO|pmd.TxOffloadIPv4Cksum, pmd.TxOffloadIPv4Cksum)
	if rx != pmd.RxOffloadChecksum || tx != pmd.TxOffloadIPv4Cksum {
		t.Errorf("enabled rx [%v] tx [%v]", rx, tx)
	}
	want := []pmd.Downgrade{{Dir: "rx", Name: "TCP_LRO"}, {Dir: "tx", Name: "TCP_TSO"}}
	if !reflect.DeepEqual(down, want) {
		t.Errorf("downgrades %v, want %v", down, want)
	}
}

// TestConfigureEnablesOnlyAdvertised asks two real devices for the same
// offloads: net_null advertises none, net_tap checksums and TSO.
func TestConfigureEnablesOnlyAdvertised(t *testing.T) {
	pmdtest.Need(t)
	pool := pmdtest.Pool(t, 2048, 0)
	wantTx := pmd.TxOffloadTCPTSO | pmd.TxOffloadIPv4Cksum | pmd.TxOffloadSCTPCksum
	wantRx := pmd.RxOffloadChecksum | pmd.RxOffloadTCPLRO

	null, err := pmd.ProbeVdev("net_null_off0")
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if null.Info().TxOffloadCapa != 0 {
		t.Fatalf("net_null advertises TX [%v]; the test assumes none", null.Info().TxOffloadCapa)
	}
	if err := null.Configure(pmd.PortConfig{RxQueues: 1, TxQueues: 1, RxOffloads: wantRx, TxOffloads: wantTx, Pool: pool}); err != nil {
		t.Fatal(err)
	}
	if null.TxOffloads() != 0 || null.RxOffloads() != 0 {
		t.Errorf("net_null enabled rx [%v] tx [%v], want none", null.RxOffloads(), null.TxOffloads())
	}

	pmdtest.Tun(t)
	tap, err := pmd.ProbeVdev("net_tap_off0,iface=opmdoff0")
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	capa := tap.Info()
	if !capa.TxOffloadCapa.Has(pmd.TxOffloadTCPTSO | pmd.TxOffloadIPv4Cksum) {
		t.Fatalf("net_tap advertises TX [%v]", capa.TxOffloadCapa)
	}
	if err := tap.Configure(pmd.PortConfig{RxQueues: 1, TxQueues: 1, RxOffloads: wantRx, TxOffloads: wantTx, Pool: pool}); err != nil {
		t.Fatal(err)
	}
	if got := tap.TxOffloads(); got != wantTx&capa.TxOffloadCapa || !got.Has(pmd.TxOffloadTCPTSO) || got.Has(pmd.TxOffloadSCTPCksum) {
		t.Errorf("net_tap enabled TX [%v] from wanted [%v] and advertised [%v]", got, wantTx, capa.TxOffloadCapa)
	}
	if got := tap.RxOffloads(); got != wantRx&capa.RxOffloadCapa || got.Has(pmd.RxOffloadTCPLRO) {
		t.Errorf("net_tap enabled RX [%v] from wanted [%v] and advertised [%v]", got, wantRx, capa.RxOffloadCapa)
	}
}

// TestSendSkipsRefusedHead sends a burst through net_tap whose second
// packet the driver refuses (TSO whose segment frame exceeds the MTU): the
// stream drops that one packet, counting it, and sends the rest (it used
// to drop the whole burst behind it).
func TestSendSkipsRefusedHead(t *testing.T) {
	pmdtest.Need(t)
	pmdtest.Tun(t)
	pool := pmdtest.Pool(t, 2048, 0)
	tap, err := pmd.ProbeVdev("net_tap_skip0,iface=opmdskip0")
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	tso := pmd.TxOffloadTCPTSO | pmd.TxOffloadIPv4Cksum | pmd.TxOffloadTCPCksum
	if !tap.Info().TxOffloadCapa.Has(tso) {
		t.Skipf("net_tap advertises TX [%v] here, not TCP_TSO and the checksums", tap.Info().TxOffloadCapa)
	}
	if err := tap.Configure(pmd.PortConfig{RxQueues: 1, TxQueues: 1, TxOffloads: tso, Pool: pool}); err != nil {
		t.Fatal(err)
	}
	if err := tap.Start(); err != nil {
		t.Fatal(err)
	}
	pmdtest.Run(t, "ip", "link", "set", "opmdskip0", "up")
	s, err := pmd.NewStream(pmd.StreamConfig{TxPort: tap.ID(), Burst: 32, RxMode: pmd.RxNone})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	frame := tcpFrame(t, 1400)
	base := pool.InUse()
	for i := range 5 {
		m := pool.Alloc()
		if m == nil || !m.SetData(frame) {
			t.Fatal("no mbuf for the frame")
		}
		if i == 1 {
			// net_tap cuts only segments whose frame fits the MTU:
			// 14+20+20+1460 > 1500.
			m.SetOlFlags(offload.OlTxIPv4 | offload.OlTxIPCksum | offload.OlTxTCPCksum | offload.OlTxTCPSeg)
			m.SetTxLengths(pmd.TxLengths{L2: 14, L3: 20, L4: 20, TSOSegsz: 1460})
		}
		s.Send(m)
	}
	s.Flush()
	c := s.Counters()
	if c.TxPackets != 4 || c.TxDropped != 1 {
		t.Errorf("tx %d dropped %d, want 4 sent and the refused one dropped", c.TxPackets, c.TxDropped)
	}
	// net_tap counts every packet a call leaves unsent as an output
	// error, so its oerrors say little; its opackets must be the four.
	if st, err := tap.Stats(); err != nil || st.OPackets != 4 {
		t.Errorf("tap opackets %d (%v), want 4", st.OPackets, err)
	}
	if got := pool.InUse(); got != base {
		t.Errorf("%d mbufs in use after the send, %d before", got, base)
	}
}

// tcpFrame is an Ethernet/IPv4/TCP frame (20-byte TCP header) with
// payload bytes.
func tcpFrame(t *testing.T, payload int) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
	tcp := &layers.TCP{SrcPort: 5000, DstPort: 80, Seq: 1, ACK: true, Window: 100}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(make([]byte, payload))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
