package pmd

import (
	"bytes"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

// TestMbufStore drives the Store the way the assembly engine does and
// checks the chains against the bytes, and that every mbuf comes back.
func TestMbufStore(t *testing.T) {
	pool := testPool(t, 512)
	s, err := NewStream(StreamConfig{Burst: 32, RxMode: RxNone})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := NewMbufStore(s)
	var _ pkt.Store = st
	mk := func(b []byte) *Mbuf {
		m := pool.Alloc()
		if !m.SetData(b) {
			t.Fatal("SetData")
		}
		return m
	}
	head := mk([]byte("HDR-aaaa"))
	h := Handle(head)
	if HandleMbuf(h) != head {
		t.Fatal("handle round trip")
	}
	// Append a packet whose headers (4 bytes) go and whose payload stays.
	if !st.Append(h, Handle(mk([]byte("hdr-bbbb"))), 4) {
		t.Fatal("append")
	}
	// Append a two-segment packet whose first segment is all header: that
	// segment is freed, not chained empty.
	two := mk([]byte("hdr-"))
	two.Chain(mk([]byte("cccc")))
	if !st.Append(h, Handle(two), 4) {
		t.Fatal("append two")
	}
	var segs [][]byte
	if got := bytes.Join(st.Segs(h, segs), nil); string(got) != "HDR-aaaabbbbcccc" || head.NbSegs() != 3 || st.Len(h) != 16 {
		t.Fatalf("chain %q segs %d len %d", got, head.NbSegs(), st.Len(h))
	}
	st.Trim(h, 6)
	if got := bytes.Join(st.Segs(h, segs[:0]), nil); string(got) != "HDR-aaaabb" || head.NbSegs() != 2 || head.PktLen() != 10 {
		t.Fatalf("after trim %q segs %d len %d", got, head.NbSegs(), head.PktLen())
	}
	x := mk([]byte("x"))
	if st.Append(h, Handle(x), 5) {
		t.Fatal("append past the first segment accepted")
	}
	st.Free(h)
	s.Flush()
	// The refused packet is still the caller's; everything else is back.
	if pool.InUse() != 1 {
		t.Fatalf("%d mbufs in use, want 1 (the refused packet)", pool.InUse())
	}
	x.Free()
}

// TestMbufStoreAppendTail: the tail AppendTail returns is the chain's last
// segment, and passing it back builds the same chain as walking would.
func TestMbufStoreAppendTail(t *testing.T) {
	pool := testPool(t, 512)
	s, err := NewStream(StreamConfig{Burst: 32, RxMode: RxNone})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st := NewMbufStore(s)
	var _ pkt.TailStore = st
	mk := func(b string) *Mbuf {
		m := pool.Alloc()
		if !m.SetData([]byte(b)) {
			t.Fatal("SetData")
		}
		return m
	}
	head := mk("H:0")
	h, tail := Handle(head), pkt.Nil
	want := "H:0"
	for i := 1; i <= 20; i++ {
		src := mk("h:" + string(rune('a'+i)))
		if i%5 == 0 { // a two-segment source: the tail is its second
			src.Chain(mk("+"))
		}
		var ok bool
		if tail, ok = st.AppendTail(h, tail, Handle(src), 2); !ok {
			t.Fatalf("append %d", i)
		}
		want += string(rune('a' + i))
		if i%5 == 0 {
			want += "+"
		}
		if HandleMbuf(tail) != head.Last() {
			t.Fatalf("append %d: tail is not the chain's last segment", i)
		}
	}
	if got := string(bytes.Join(st.Segs(h, nil), nil)); got != want || int(head.PktLen()) != len(want) || head.NbSegs() != 25 {
		t.Fatalf("chain %q (%d segs, len %d), want %q", got, head.NbSegs(), head.PktLen(), want)
	}
	st.Free(h)
	s.Flush()
	if pool.InUse() != 0 {
		t.Fatalf("%d mbufs in use", pool.InUse())
	}
}
