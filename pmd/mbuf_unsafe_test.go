package pmd

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// needEAL skips where the test binary's EAL did not start (see pmdtest).
func needEAL(t *testing.T) {
	t.Helper()
	ealMu.Lock()
	defer ealMu.Unlock()
	if ealCur == nil {
		t.Skipf("DPDK EAL unavailable here: %v", ealErr)
	}
}

func testPool(t *testing.T, n uint) *Mempool {
	t.Helper()
	needEAL(t)
	p, err := NewMempool(MempoolConfig{Name: fmt.Sprintf("int_%d", rand.Uint32()), Size: n, Socket: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n := p.InUse(); n != 0 {
			t.Errorf("%d mbufs leaked", n)
		}
		p.Free()
	})
	return p
}

func TestTxOffloadPackMatchesDPDK(t *testing.T) {
	needEAL(t)
	cases := []TxLengths{
		{},
		{L2: 14, L3: 20, L4: 20},
		{L2: 14, L3: 40, L4: 32, TSOSegsz: 1448},
		{L2: 18, L3: 60, L4: 60, TSOSegsz: 9000, OuterL2: 14, OuterL3: 20},
		MaxTxLengths,
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		cases = append(cases, TxLengths{
			L2: uint16(r.IntN(int(MaxTxLengths.L2) + 1)), L3: uint16(r.IntN(int(MaxTxLengths.L3) + 1)),
			L4: uint16(r.IntN(int(MaxTxLengths.L4) + 1)), TSOSegsz: uint16(r.IntN(1 << 16)),
			OuterL2: uint16(r.IntN(int(MaxTxLengths.OuterL2) + 1)), OuterL3: uint16(r.IntN(int(MaxTxLengths.OuterL3) + 1)),
		})
	}
	pool := testPool(t, 64)
	m := pool.Alloc()
	defer m.Free()
	for _, c := range cases {
		if !c.Fits() {
			t.Fatalf("%+v should fit", c)
		}
		if got, want := c.Pack(), refTxOffload(c); got != want {
			t.Fatalf("Pack(%+v) = %#x, rte_mbuf_tx_offload = %#x", c, got, want)
		}
		m.SetTxLengths(c)
		if got := refFields(m); got != c {
			t.Fatalf("C reads bitfields %+v after Go wrote %+v", got, c)
		}
		if got := m.TxLengths(); got != c {
			t.Fatalf("Go reads %+v after writing %+v", got, c)
		}
	}
	// The partial setters leave the other fields alone.
	m.SetTxLengths(TxLengths{L2: 1, L3: 2, L4: 3, TSOSegsz: 4, OuterL2: 5, OuterL3: 6})
	m.SetL2L3L4(14, 20, 8)
	m.SetTSOSegsz(1400)
	want := TxLengths{L2: 14, L3: 20, L4: 8, TSOSegsz: 1400, OuterL2: 5, OuterL3: 6}
	if got := refFields(m); got != want {
		t.Fatalf("after partial setters C reads %+v, want %+v", got, want)
	}
	if (TxLengths{L2: 200}).Fits() || (TxLengths{L3: 600}).Fits() {
		t.Fatal("Fits accepted an over-wide length")
	}
}

func TestMbufViewMatchesDPDK(t *testing.T) {
	pool := testPool(t, 64)
	m := pool.Alloc()
	defer m.Free()
	payload := []byte("offloadpmd mbuf view")
	if !m.SetData(payload) {
		t.Fatal("SetData failed")
	}
	if unsafe.Pointer(&m.Data()[0]) != refMtod(m) {
		t.Fatal("Data() does not start at rte_pktmbuf_mtod")
	}
	if !bytes.Equal(m.Data(), payload) || m.PktLen() != uint32(len(payload)) || m.DataLen() != uint16(len(payload)) {
		t.Fatalf("data %q pkt_len %d data_len %d", m.Data(), m.PktLen(), m.DataLen())
	}
	m.SetRSSHash(0xdeadbeef)
	if refRSS(m) != 0xdeadbeef {
		t.Fatal("RSS hash at the wrong offset")
	}
	if m.NbSegs() != 1 || m.Next() != nil || m.Refcnt() != 1 || m.BufLen() != DefaultDataRoom {
		t.Fatalf("fresh mbuf: segs %d next %v refcnt %d buf_len %d", m.NbSegs(), m.Next(), m.Refcnt(), m.BufLen())
	}
}

// snapshot is the part of an mbuf chain the manipulators change.
type snapshot struct {
	off, dlen []uint16
	plen      uint32
	segs      uint16
}

func snap(m *Mbuf) snapshot {
	s := snapshot{plen: m.PktLen(), segs: m.NbSegs()}
	for x := m; x != nil; x = x.Next() {
		s.off = append(s.off, x.DataOff())
		s.dlen = append(s.dlen, x.DataLen())
	}
	return s
}

func (s snapshot) String() string {
	return fmt.Sprintf("off %v dlen %v plen %d segs %d", s.off, s.dlen, s.plen, s.segs)
}

// TestMbufOpsMatchDPDK runs random prepend/append/adj/trim/chain
// sequences on two identical chains, one through the Go methods and one
// through DPDK's inline functions, and compares them after every step.
func TestMbufOpsMatchDPDK(t *testing.T) {
	pool := testPool(t, 256)
	r := rand.New(rand.NewPCG(3, 4))
	for iter := range 200 {
		g, c := pool.Alloc(), pool.Alloc()
		for step := range 40 {
			n := uint16(r.IntN(300))
			var okG, okC bool
			op := r.IntN(6)
			switch op {
			case 0:
				okG, okC = g.Prepend(n) != nil, refPrepend(c, n)
			case 1:
				okG, okC = g.Append(n) != nil, refAppend(c, n)
			case 2:
				okG, okC = g.Adj(n), refAdj(c, n)
			case 3:
				okG, okC = g.Trim(n), refTrim(c, n)
			case 4:
				tg, tc := pool.Alloc(), pool.Alloc()
				tg.Append(n)
				refAppend(tc, n)
				okG, okC = g.Chain(tg), refChain(c, tc)
			case 5:
				if g.Next() == nil {
					g.Reset()
					refReset(c)
				}
				okG, okC = true, true
			}
			if okG != okC || snap(g).String() != snap(c).String() {
				t.Fatalf("iter %d step %d op %d n %d: go ok=%v %v; dpdk ok=%v %v", iter, step, op, n, okG, snap(g), okC, snap(c))
			}
			if got, want := g.Next() == nil, refContiguous(c); got != want {
				t.Fatalf("contiguous: go %v dpdk %v", got, want)
			}
		}
		g.Free()
		c.Free()
	}
}

func TestDynfieldAndDynflag(t *testing.T) {
	pool := testPool(t, 16)
	f, err := RegisterDynfield("opmd_test_dynfield", 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	again, err := RegisterDynfield("opmd_test_dynfield", 8, 8)
	if err != nil || again.Off != f.Off {
		t.Fatalf("re-register: %v, offset %d vs %d", err, again.Off, f.Off)
	}
	if l, err := LookupDynfield("opmd_test_dynfield"); err != nil || l.Off != f.Off {
		t.Fatalf("lookup: %v %d", err, l.Off)
	}
	if _, err := LookupDynfield("opmd_no_such_field"); err == nil {
		t.Fatal("lookup of an unregistered field succeeded")
	}
	if f.Off < unsafe.Offsetof(Mbuf{}.dynfield1) || f.Off+8 > unsafe.Sizeof(Mbuf{}) {
		t.Fatalf("offset %d outside dynfield1", f.Off)
	}
	fl, err := RegisterDynflag("opmd_test_dynflag")
	if err != nil {
		t.Fatal(err)
	}
	m := pool.Alloc()
	defer m.Free()
	f.SetU64(m, 0x0123456789abcdef)
	if f.U64(m) != 0x0123456789abcdef || f.U32(m) != 0x89abcdef {
		t.Fatalf("U64 %#x U32 %#x", f.U64(m), f.U32(m))
	}
	fl.Set(m)
	if !fl.Test(m) || m.OlFlags() != fl.Mask() {
		t.Fatalf("flag not set: ol_flags %#x", m.OlFlags())
	}
	fl.Clear(m)
	if fl.Test(m) {
		t.Fatal("flag not cleared")
	}
	// A flag never registered is no bit at all: not ol_flags bit 0
	// (RX_VLAN), which a VLAN-stripping port sets.
	var none Dynflag
	m.SetOlFlags(1)
	if none.Mask() != 0 || none.Test(m) {
		t.Fatalf("unregistered flag: mask %#x, found in ol_flags %#x", none.Mask(), m.OlFlags())
	}
	none.Clear(m)
	none.Set(m)
	if m.OlFlags() != 1 {
		t.Fatalf("unregistered flag changed ol_flags to %#x", m.OlFlags())
	}
}
