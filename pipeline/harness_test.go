package pipeline

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

func TestMain(m *testing.M) { pmdtest.Main(m, "pipeline") }

// startPort configures and starts a port with one queue pair and closes
// it at cleanup.
func startPort(t *testing.T, p *pmd.EthPort, pool *pmd.Mempool) {
	t.Helper()
	pmdtest.StartPort(t, p, pool)
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close port %s: %v", p.Name(), err)
		}
	})
}

// forward runs engine e over ports with topology topo on the first worker
// lcore until the returned stop function is called; stop returns the
// streams' stats.
func forward(t *testing.T, ports []*pmd.EthPort, topo config.Topology, e *Engine, pool *pmd.Mempool) func() []Stats {
	t.Helper()
	eal := pmdtest.Need(t)
	ids := make([]uint16, len(ports))
	macs := map[uint16]net.HardwareAddr{}
	for i, p := range ports {
		ids[i] = p.ID()
		mac, err := p.MACAddr()
		if err != nil {
			t.Fatal(err)
		}
		macs[p.ID()] = mac
	}
	plan, err := NewPlan(ids, 1, 1, topo, eal.Workers()[:1], 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Build(eal, plan, e, pool, nil, func(sp StreamPlan) StreamSpec {
		return StreamSpec{
			PeerMAC: net.HardwareAddr{2, 0, 0, 0, 0, byte(sp.TxPort)}, TxMAC: macs[sp.TxPort], Burst: 32,
			TxOnly: TxOnlySpec{SrcIP: net.IPv4(198, 18, 0, 1), DstIP: net.IPv4(198, 18, 0, 2), SrcPort: 9, DstPort: 9},
		}
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	f.ResetStats()
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() []Stats {
		if !stopped {
			stopped = true
			if err := f.Stop(); err != nil {
				t.Error(err)
			}
		}
		var st []Stats
		for _, s := range f.Streams() {
			st = append(st, s.Stats())
		}
		return st
	}
	t.Cleanup(func() {
		stop()
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return stop
}

// udpFrame builds a valid Ethernet/IPv4/UDP frame whose payload encodes
// seq, padded to size bytes.
func udpFrame(t testing.TB, seq, size int) []byte {
	t.Helper()
	eth := &layers.Ethernet{
		SrcMAC: net.HardwareAddr{0x02, 0, 0, 0, 0xa, byte(seq)}, DstMAC: net.HardwareAddr{0x02, 0, 0, 0, 0xb, 1},
		EthernetType: layers.EthernetTypeIPv4,
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, Id: uint16(seq),
		SrcIP: net.IPv4(10, 0, byte(seq>>8), byte(seq)).To4(), DstIP: net.IPv4(10, 1, 0, 1).To4()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(40000 + seq%5000), DstPort: 30000}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, max(size-42, 8))
	for i := range payload {
		payload[i] = byte(seq*7 + i)
	}
	copy(payload, fmt.Sprintf("%08d", seq))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// waitFor polls cond every millisecond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return cond()
}
