package pipeline

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/dos"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// TestOffloadStagesDoNotAllocate runs the offload stages at full speed on
// a worker lcore (net_pcap infinite_rx, looped to itself) and counts the
// Go heap allocations the whole process makes over a window: software TSO
// and USO with checksums per segment, the checksum-only fast path, and
// GRO with verification. The test goroutine allocates nothing while it
// waits, so a per-burst or per-packet allocation anywhere in the data
// path shows as thousands.
func TestOffloadStagesDoNotAllocate(t *testing.T) {
	var tcpFlows, udpFlows, groFlows []e2eFlow
	for i := range 4 {
		tcpFlows = append(tcpFlows, e2eFlow{id: 300 + i, v6: i%2 == 1, tsopt: i >= 2, mss: 512})
		udpFlows = append(udpFlows, e2eFlow{id: 310 + i, v6: i%2 == 1, udp: true, mss: 400})
		groFlows = append(groFlows, e2eFlow{id: 320 + i, v6: i%2 == 1, mss: 1400})
	}
	super := newTraffic(t, append(tcpFlows, udpFlows...), []int{1400, 1400, 1200}, false)
	small := newTraffic(t, append(tcpFlows, udpFlows...), []int{64, 300, 1000}, false)
	sizes := make([]int, 64)
	for i := range sizes {
		sizes[i] = 1400
	}
	gro := newTraffic(t, groFlows, sizes, false)
	cases := []struct {
		name   string
		frames [][]byte
		e      *Engine
		cs     CsumSettings
		rx     offload.Change
		esp    esp.Algorithm // encrypt everything sent with an SA of this algorithm
	}{
		{"tso-uso", super.frames(), &CsumEngine, CsumSettings{TSOSegsz: 512, USOSegsz: 400}, offload.Change{}, 0},
		{"csum", small.frames(), &CsumEngine, CsumSettings{}, offload.Change{}, 0},
		{"gro", gro.frames(), &IOEngine, CsumSettings{}, offload.Change{EnableRx: offload.RxTCPLRO, SoftwareRx: offload.RxTCPLRO}, 0},
		{"esp-gcm", small.frames(), &IOEngine, CsumSettings{}, offload.Change{}, esp.AESGCM128},
		{"esp-cbc", small.frames(), &IOEngine, CsumSettings{}, offload.Change{}, esp.AESCBC128SHA256},
		// Appended digests verified and stripped (TestDigestDoesNotAllocate
		// makes them too).
		{"digest-verify", withDigests(t, small.frames()), &IOEngine, CsumSettings{}, offload.Change{EnableRx: offload.RxDigestVerify}, 0},
		// The DoS filter on a spoofed-source SYN flood beside the flows:
		// its tables full, evicting, dropping over the budget.
		{"dos", dosFlood(t, small.frames(), 3000), &IOEngine, CsumSettings{}, offload.Change{EnableRx: offload.RxDoSFilter}, 0},
		// 1,000 ingress rules and egress ones: counting, marking, checksum
		// tasks and drops (classifyAllocRules).
		{"classify", small.frames(), &IOEngine, CsumSettings{}, offload.Change{EnableRx: offload.RxClassify}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, 8192)
			in := filepath.Join(t.TempDir(), "in.pcap")
			writePcap(t, in, c.frames)
			p, err := pmd.ProbeVdev("net_pcap_alloc_" + c.name + ",rx_pcap=" + in + ",infinite_rx=1")
			if err != nil {
				t.Fatal(err)
			}
			ch := c.rx
			ch.EnableTx, ch.SoftwareTx = allCsums|allSegs, allCsums|allSegs
			if ch.EnableRx.Has(offload.RxDigestVerify) {
				if err := r.off.Digests.Set(p.ID(), hmacConfig(16, DigestModeAppend)); err != nil {
					t.Fatal(err)
				}
			}
			if ch.EnableRx.Has(offload.RxDoSFilter) {
				cfg := dosTestConfig()
				cfg.SYNBudget = dos.Rate{Rate: 1_000_000, Burst: 1000}
				ctl, err := dos.NewControl(cfg)
				if err != nil {
					t.Fatal(err)
				}
				r.off.DoS = ctl
			}
			if ch.EnableRx.Has(offload.RxClassify) {
				r.off.Flows = classifyAllocRules(t, p.ID())
			}
			if c.esp != 0 {
				ch.EnableTx |= offload.TxESPEncrypt
				if _, err := r.off.SAs.AddAt(0, espConfig(0x3003, esp.Outbound, esp.Tunnel, c.esp)); err != nil {
					t.Fatal(err)
				}
				r.off.ESP.Set(p.ID(), []ESPPolicy{{Port: p.ID(), SA: 0}})
			}
			r.startWith(p, r.publish(p, ch))
			r.off.SetCsum(p.ID(), c.cs)
			f := r.start(c.e, [2]*pmd.EthPort{p, p})
			time.Sleep(200 * time.Millisecond) // the first bursts fill the spares
			before := total(f)
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			time.Sleep(300 * time.Millisecond)
			runtime.ReadMemStats(&m1)
			after := total(f)
			if err := f.Stop(); err != nil {
				t.Error(err)
			}
			rx, tx := after.RxPackets-before.RxPackets, after.TxPackets-before.TxPackets
			if rx < 10000 || tx == 0 {
				t.Fatalf("only %d packets in, %d out in the window: %s", rx, tx, after.nonZero())
			}
			// The runtime itself may allocate now and then; the data path
			// would allocate per burst at least (over a thousand here).
			if n := m1.Mallocs - m0.Mallocs; n > 20 {
				t.Errorf("%d heap allocations while %d packets went in and %d out", n, rx, tx)
			}
			if c.esp != 0 && after.Counters[ESPEncrypted] == before.Counters[ESPEncrypted] {
				t.Errorf("nothing was encrypted: %s", after.nonZero())
			}
			if c.rx.EnableRx.Has(offload.RxDoSFilter) {
				u, _ := f.Streams()[0].DoSUsage()
				if after.Dropped() == before.Dropped() || after.Counters[DoSSourceEvictions] == 0 || u.Sources > u.SourcesCap {
					t.Errorf("the filter dropped or evicted nothing (usage %+v): %s", u, after.nonZero())
				}
			}
			if c.rx.EnableRx.Has(offload.RxClassify) && (after.Counters[ClassifyMatched] == before.Counters[ClassifyMatched] ||
				after.Counters[ClassifyDrop] == before.Counters[ClassifyDrop] || after.Counters[ClassifyTasks] == before.Counters[ClassifyTasks]) {
				t.Errorf("nothing classified: %s", after.nonZero())
			}
			if c.rx.EnableRx.Has(offload.RxDigestVerify) && (after.Counters[DigestVerifiedGood] == before.Counters[DigestVerifiedGood] || after.Counters[DigestVerifiedBad] != 0) {
				t.Errorf("digests not verified good: %s", after.nonZero())
			}
			t.Logf("%d packets in, %d out, %d allocations", rx, tx, m1.Mallocs-m0.Mallocs)
		})
	}
}
