package pipeline

import (
	"bytes"
	"encoding/hex"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// testStream is a stream not bound to any port, for driving engines by
// hand: Rx() is filled by the test through fill.
func testStream(t *testing.T, e *Engine, pool *pmd.Mempool) *Stream {
	t.Helper()
	s, err := NewStream(0, StreamSpec{
		Burst: 32, PeerMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, TxMAC: net.HardwareAddr{0x02, 0x70, 0x63, 0x61, 0x70, 0x01},
		TxOnly: TxOnlySpec{SrcIP: net.IPv4(198, 18, 0, 1), DstIP: net.IPv4(198, 18, 0, 2), SrcPort: 9, DstPort: 9},
	}, e, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// burst allocates mbufs holding frames.
func burst(t *testing.T, pool *pmd.Mempool, frames [][]byte) []*pmd.Mbuf {
	t.Helper()
	var ms []*pmd.Mbuf
	for _, f := range frames {
		m := pool.Alloc()
		if m == nil || !m.SetData(f) {
			t.Fatal("cannot build mbuf")
		}
		ms = append(ms, m)
	}
	return ms
}

// TestMACEngines checks mac and macswap on a burst with a runt in it: the
// runt is dropped and counted, the rest rewritten and kept in order.
func TestMACEngines(t *testing.T) {
	pool := pmdtest.Pool(t, 256, 0)
	for _, e := range []*Engine{&MACEngine, &MACSwapEngine} {
		s := testStream(t, e, pool)
		frames := [][]byte{udpFrame(t, 1, 64), make([]byte, 10), udpFrame(t, 2, 128)}
		pkts := burst(t, pool, frames)
		if n := e.Fwd(s, pkts); n != 2 {
			t.Errorf("%s: kept %d, want 2", e.Name, n)
		}
		if got := s.Counter(DropRuntFrame); got != 1 {
			t.Errorf("%s: runt counter %d, want 1", e.Name, got)
		}
		kept := pkts[:2]
		for i, f := range [][]byte{frames[0], frames[2]} {
			d := kept[i].Data()
			want := append([]byte(nil), f...)
			if e == &MACEngine {
				copy(want[0:6], s.PeerMAC[:])
				copy(want[6:12], s.TxMAC[:])
			} else {
				copy(want[0:6], f[6:12])
				copy(want[6:12], f[0:6])
			}
			if !bytes.Equal(d, want) {
				t.Errorf("%s: packet %d header % x, want % x", e.Name, i, d[:14], want[:14])
			}
		}
		s.Close()
		for _, m := range kept {
			m.Free()
		}
	}
}

// TestTxOnlyPacketMatchesTestpmd compares a generated packet with the one
// dpdk-testpmd 22.11's txonly engine put on the wire for the same
// settings (captured on this machine: 64 bytes, 198.18.0.1:9 ->
// 198.18.0.2:9, IP checksum 0xee93, UDP checksum 0, and the zeros of a
// fresh pool as payload). Like testpmd's, the engine writes the headers
// only: an mbuf that held something keeps it as payload.
func TestTxOnlyPacketMatchesTestpmd(t *testing.T) {
	pool := pmdtest.Pool(t, 64, 0)
	s := testStream(t, &TxOnlyEngine, pool)
	defer s.Close()
	if err := prepareTxOnly(s, pool); err != nil {
		t.Fatal(err)
	}
	m := pool.Alloc()
	defer m.Free()
	fillTxOnly(s, []*pmd.Mbuf{m})
	d := m.Data()
	want, _ := hex.DecodeString("020000000001" + "027063617001" + "0800" +
		"45000032000000004011ee93c6120001c6120002" + "00090009001e0000")
	if len(d) != 64 || !bytes.Equal(d[:len(want)], want) || !bytes.Equal(d[len(want):], make([]byte, 64-len(want))) {
		t.Fatalf("txonly packet\n got % x\nwant % x + zeros", d, want)
	}
	p := gopacket.NewPacket(d, layers.LayerTypeEthernet, gopacket.Default)
	ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip == nil || ip.TTL != 64 || m.L2Len() != 14 || m.L3Len() != 20 {
		t.Fatalf("decoded %v, l2 %d l3 %d", p, m.L2Len(), m.L3Len())
	}
	// A used mbuf: the headers are rewritten, the payload is left.
	used := bytes.Repeat([]byte{0xaa}, 100)
	if !m.SetData(used) {
		t.Fatal("cannot refill the mbuf")
	}
	fillTxOnly(s, []*pmd.Mbuf{m})
	if d := m.Data(); len(d) != 64 || !bytes.Equal(d[:len(want)], want) || !bytes.Equal(d[len(want):], used[len(want):64]) {
		t.Fatalf("txonly packet in a used mbuf\n got % x\nwant % x + the old payload", d, want)
	}
	// Multi-flow: the source is (dst | n<<8) + lcore, with a valid checksum.
	s.tx.spec.MultiFlow, s.tx.spec.Lcore = true, 1
	ms := burst(t, pool, [][]byte{{0}, {0}, {0}})
	fillTxOnly(s, ms)
	for i, m := range ms {
		p := gopacket.NewPacket(m.Data(), layers.LayerTypeEthernet, gopacket.Default)
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if want := net.IPv4(198, 18, byte(i), 3).To4(); !ip.SrcIP.Equal(want) {
			t.Errorf("multi-flow packet %d from %v, want %v", i, ip.SrcIP, want)
		}
		csum := ip.Checksum
		_ = ip.SerializeTo(gopacket.NewSerializeBuffer(), gopacket.SerializeOptions{ComputeChecksums: true})
		if ip.Checksum != csum {
			t.Errorf("multi-flow packet %d: IP checksum %#x, want %#x", i, csum, ip.Checksum)
		}
		m.Free()
	}
}

// TestEnginesDoNotAllocate: a burst through any engine allocates nothing
// on the Go heap.
func TestEnginesDoNotAllocate(t *testing.T) {
	pool := pmdtest.Pool(t, 256, 0)
	frames := make([][]byte, 32)
	for i := range frames {
		frames[i] = udpFrame(t, i, 64)
	}
	for _, e := range Engines {
		s := testStream(t, e, pool)
		if e.Begin != nil {
			if err := e.Begin(s); err != nil {
				t.Fatal(err)
			}
		}
		pkts := burst(t, pool, frames)
		allocs := testing.AllocsPerRun(100, func() {
			_ = e.Fwd(s, pkts)
			s.IO().FreeRx(0) // forget the verdicts: the same mbufs go round again
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per burst, want 0", e.Name, allocs)
		}
		s.Close()
		for _, m := range pkts {
			m.Free()
		}
	}
}
