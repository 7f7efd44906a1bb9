package offload

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// netTap is what DPDK 22.11's net_tap advertises (anchors/show_caps.sh).
func netTap() *Table {
	return NewTable(0, "net_tap", RxIPv4Cksum|RxUDPCksum|RxTCPCksum|RxScatter,
		TxIPv4Cksum|TxUDPCksum|TxTCPCksum|TxTCPTSO|TxMultiSegs)
}

func TestCapNames(t *testing.T) {
	for c := RxCaps(1); c != 0; c <<= 1 {
		if name, ok := rxCapNames[c]; ok {
			if got, err := ParseRxCap(name); err != nil || got != c {
				t.Errorf("rx %s: %v %v", name, got, err)
			}
		}
	}
	for c := TxCaps(1); c != 0; c <<= 1 {
		if name, ok := txCapNames[c]; ok {
			if got, err := ParseTxCap(strings.ToUpper(name)); err != nil || got != c {
				t.Errorf("tx %s: %v %v", name, got, err)
			}
		}
	}
	if _, err := ParseTxCap("tcp_lro"); !errors.Is(err, ErrUnknownCapability) || !strings.Contains(err.Error(), "tcp_tso6") {
		t.Errorf("tcp_lro is RX only: %v", err)
	}
	if got := (TxTCPTSO | TxTCPTSO6 | TxUFO).String(); got != "tcp_tso tcp_tso6 ufo" {
		t.Errorf("set %q", got)
	}
	if SoftwareRx&^AllRxCaps() != 0 || SoftwareTx&^AllTxCaps() != 0 {
		t.Error("a software capability has no name")
	}
}

func TestPerformer(t *testing.T) {
	tab, err := netTap().Apply(Change{
		EnableTx: TxIPv4Cksum | TxTCPCksum | TxTCPTSO | TxTCPTSO6 | TxUDPTSO,
		EnableRx: RxTCPCksum | RxTCPLRO,
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		c    TxCaps
		want Performer
	}{
		{TxTCPTSO, PerformHardware},  // net_tap does it
		{TxTCPTSO6, PerformSoftware}, // only we do
		{TxUDPTSO, PerformSoftware},  // only we do
		{TxUDPCksum, PerformNone},    // not enabled
		{TxIPv4Cksum, PerformHardware},
	}
	for _, c := range cases {
		if got := tab.TxBy(c.c); got != c.want {
			t.Errorf("%v: %v, want %v", c.c, got, c.want)
		}
	}
	if tab.RxBy(RxTCPLRO) != PerformSoftware || tab.RxBy(RxTCPCksum) != PerformHardware {
		t.Errorf("rx: lro %v cksum %v", tab.RxBy(RxTCPLRO), tab.RxBy(RxTCPCksum))
	}
	if tab.DeviceTx() != TxIPv4Cksum|TxTCPCksum|TxTCPTSO || tab.DeviceRx() != RxTCPCksum {
		t.Errorf("device config tx [%v] rx [%v]", tab.DeviceTx(), tab.DeviceRx())
	}
	// testpmd's `csum set ip sw`: the device could, software does.
	sw, err := tab.Apply(Change{SoftwareTx: TxIPv4Cksum})
	if err != nil {
		t.Fatal(err)
	}
	if sw.TxBy(TxIPv4Cksum) != PerformSoftware || sw.DeviceTx().Has(TxIPv4Cksum) || sw.Version != tab.Version+1 {
		t.Errorf("forced software: %v, device [%v], version %d", sw.TxBy(TxIPv4Cksum), sw.DeviceTx(), sw.Version)
	}
	if tab.TxBy(TxIPv4Cksum) != PerformHardware {
		t.Error("Apply changed the old table")
	}
	// Neither the device nor software can do SCTP checksums.
	_, err = tab.Apply(Change{EnableTx: TxSCTPCksum, SoftwareTx: TxVLANInsert})
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("want ErrNotSupported, got %v", err)
	}
	for _, want := range []string{"tx sctp_cksum", "vlan_insert in software", "net_tap"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestTableJSONRoundTrip(t *testing.T) {
	tab, err := netTap().Apply(Change{EnableTx: TxIPv4Cksum | TxTCPTSO6, SoftwareTx: TxIPv4Cksum, EnableRx: RxUDPGRO})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tab)
	if err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != *tab {
		t.Fatalf("round trip:\n%+v\n%+v", back, *tab)
	}
	var doc struct {
		Capabilities []Entry `json:"capabilities"`
	}
	_ = json.Unmarshal(b, &doc)
	found := false
	for _, e := range doc.Capabilities {
		if e.Dir == "tx" && e.Name == "ipv4_cksum" {
			found = e.Hardware && e.Software && e.Enabled && e.Performer == "software"
		}
	}
	if !found || len(doc.Capabilities) != len(rxCapNames)+len(txCapNames) {
		t.Errorf("JSON: %s", b)
	}
}

// TestRegistryLockFree: readers load tables while a writer publishes
// changes; every table a reader sees is complete (run with -race).
func TestRegistryLockFree(t *testing.T) {
	var r Registry
	if err := r.Publish(netTap()); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := uint64(0)
			for !stop.Load() {
				tab := r.Load(0)
				if tab.Version < last {
					t.Errorf("version went back from %d to %d", last, tab.Version)
					return
				}
				last = tab.Version
				// A table is either with both or with neither.
				if tab.EnabledTx().Has(TxTCPTSO) != tab.EnabledTx().Has(TxTCPCksum) {
					t.Error("torn table")
					return
				}
			}
		}()
	}
	for i := range 2000 {
		c := Change{EnableTx: TxTCPTSO | TxTCPCksum}
		if i%2 == 1 {
			c = Change{DisableTx: TxTCPTSO | TxTCPCksum}
		}
		if _, err := r.Update(0, c); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if r.Load(0).Version != 2000 {
		t.Errorf("version %d", r.Load(0).Version)
	}
	if _, err := r.Update(5, Change{}); err == nil {
		t.Error("update of a port without a table")
	}
}

// TestWithHardwareTx: a device's TX abilities replaced at run time (a
// vhost-user guest attaching): what is enabled stays enabled, performed
// by the device where it now can and by software otherwise; an enabled
// capability nobody can perform any longer is disabled and reported.
func TestWithHardwareTx(t *testing.T) {
	base, err := NewTable(3, "net_vhost", 0, TxMultiSegs|TxVLANInsert).Apply(Change{EnableTx: TxTCPCksum | TxTCPTSO | TxVLANInsert})
	if err != nil {
		t.Fatal(err)
	}
	if base.TxBy(TxTCPTSO) != PerformSoftware {
		t.Fatalf("before: tcp_tso by %v", base.TxBy(TxTCPTSO))
	}
	up, lost := base.WithHardwareTx(TxMultiSegs | TxVLANInsert | TxTCPCksum | TxTCPTSO)
	if lost != 0 || up.TxBy(TxTCPTSO) != PerformHardware || up.TxBy(TxTCPCksum) != PerformHardware || up.Version != base.Version+1 {
		t.Errorf("guest with TSO: lost [%v], tcp_tso by %v, tcp_cksum by %v, version %d", lost, up.TxBy(TxTCPTSO), up.TxBy(TxTCPCksum), up.Version)
	}
	if got := up.HardwareTxTasks(); got != TxTCPCksum|TxTCPTSO|TxVLANInsert {
		t.Errorf("hardware tasks [%v]", got)
	}
	down, lost := up.WithHardwareTx(TxMultiSegs)
	if lost != TxVLANInsert || down.EnabledTx() != TxTCPCksum|TxTCPTSO || down.TxBy(TxTCPTSO) != PerformSoftware {
		t.Errorf("guest gone: lost [%v], enabled [%v], tcp_tso by %v", lost, down.EnabledTx(), down.TxBy(TxTCPTSO))
	}
	if base.TxBy(TxTCPTSO) != PerformSoftware {
		t.Error("WithHardwareTx changed the table it was called on")
	}
	var r Registry
	if err := r.Publish(base); err != nil {
		t.Fatal(err)
	}
	if got, _, err := r.RebaseTx(3, TxTCPTSO); err != nil || r.Load(3) != got || got.TxBy(TxTCPTSO) != PerformHardware {
		t.Errorf("RebaseTx: %v, published %v", err, r.Load(3) == got)
	}
	if _, _, err := r.RebaseTx(4, 0); err == nil {
		t.Error("RebaseTx of a port without a table: no error")
	}
}
