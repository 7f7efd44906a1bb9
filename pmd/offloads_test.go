package pmd_test

import (
	"reflect"
	"strings"
	"testing"

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
