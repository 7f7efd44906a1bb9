package dos

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// refMatch is the reference: every prefix tried, the longest containing
// a wins.
func refMatch(es []listEntry, a netip.Addr) (Action, netip.Prefix, bool) {
	best := -1
	for i, e := range es {
		if e.p.Contains(a) && (best < 0 || e.p.Bits() > es[best].p.Bits()) {
			best = i
		}
	}
	if best < 0 {
		return NoAction, netip.Prefix{}, false
	}
	return es[best].action, es[best].p, true
}

func randAddr(r *rand.Rand, v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if r.IntN(2) == 0 {
			b[0], b[1] = 0x20, 0x01 // share a few leading bits, as real lists do
		}
		return netip.AddrFrom16(b)
	}
	var b [4]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if r.IntN(2) == 0 {
		b[0] = 10
	}
	return netip.AddrFrom4(b)
}

// randLists makes n distinct random prefixes, nested often: many are
// derived from earlier ones by lengthening them.
func randLists(r *rand.Rand, n int, v6 bool) (allow, block []string, ps []netip.Prefix) {
	bitsMax := 32
	if v6 {
		bitsMax = 128
	}
	seen := map[netip.Prefix]bool{}
	for len(ps) < n {
		var p netip.Prefix
		if len(ps) > 0 && r.IntN(2) == 0 {
			base := ps[r.IntN(len(ps))]
			a := randAddr(r, v6)
			// a inside base, then a longer prefix of it
			ab, bb := a.AsSlice(), base.Addr().AsSlice()
			for i := range bb {
				keep := min(max(base.Bits()-8*i, 0), 8)
				m := byte(0xff << (8 - keep))
				ab[i] = bb[i]&m | ab[i]&^m
			}
			a, _ = netip.AddrFromSlice(ab)
			p = netip.PrefixFrom(a, base.Bits()+r.IntN(bitsMax-base.Bits()+1)).Masked()
		} else {
			l := r.IntN(bitsMax + 1)
			if r.IntN(3) > 0 { // mostly the lengths lists use
				l = []int{8, 16, 20, 24, 28, 32}[r.IntN(6)]
				if v6 {
					l = []int{16, 32, 48, 56, 64, 128}[r.IntN(6)]
				}
			}
			p = netip.PrefixFrom(randAddr(r, v6), l).Masked()
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		ps = append(ps, p)
		if r.IntN(3) == 0 {
			allow = append(allow, p.String())
		} else {
			block = append(block, p.String())
		}
	}
	return allow, block, ps
}

// TestLPMDifferential compares both tables with the reference on random
// lists and addresses: random ones, and ones at and around every prefix's
// ends.
func TestLPMDifferential(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		for _, v6 := range []bool{false, true} {
			n := []int{1, 5, 50, 500, 3000}[seed%5]
			allow, block, ps := randLists(r, n, v6)
			cfg := Config{Allow: allow, Block: block}
			es, err := parseLists(&cfg)
			if err != nil {
				t.Fatal(err)
			}
			ls, err := buildLists(es)
			if err != nil {
				t.Fatal(err)
			}
			check := func(a netip.Addr) {
				t.Helper()
				ga, gp, gok := ls.match(a)
				wa, wp, wok := refMatch(es, a)
				if ga != wa || gp != wp || gok != wok {
					t.Fatalf("seed %d v6 %v, %d prefixes: %s: got %v %v %v, want %v %v %v", seed, v6, n, a, ga, gp, gok, wa, wp, wok)
				}
			}
			for range 5000 {
				check(randAddr(r, v6))
			}
			for _, p := range ps {
				first := p.Addr()
				last := lastAddr(p)
				check(first)
				check(last)
				if a := first.Prev(); a.IsValid() {
					check(a)
				}
				if a := last.Next(); a.IsValid() {
					check(a)
				}
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := range b {
		keep := min(max(p.Bits()-8*i, 0), 8)
		b[i] |= byte(0xff >> keep)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestLPMEdges(t *testing.T) {
	cfg := Config{
		Block: []string{"0.0.0.0/0", "::/0", "10.0.0.0/8", "10.1.2.3", "2001:db8::/32", "2001:db8::1"},
		Allow: []string{"10.1.0.0/16", "10.1.2.0/25", "255.255.255.255/32", "2001:db8:1::/48"},
	}
	es, err := parseLists(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := buildLists(es)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		addr   string
		action Action
		prefix string
	}{
		{"1.2.3.4", Block, "0.0.0.0/0"},
		{"10.9.9.9", Block, "10.0.0.0/8"},
		{"10.1.9.9", Allow, "10.1.0.0/16"},
		{"10.1.2.1", Allow, "10.1.2.0/25"},
		{"10.1.2.3", Block, "10.1.2.3/32"},
		{"10.1.2.200", Allow, "10.1.0.0/16"},
		{"255.255.255.255", Allow, "255.255.255.255/32"},
		{"255.255.255.254", Block, "0.0.0.0/0"},
		{"::1", Block, "::/0"},
		{"2001:db8::1", Block, "2001:db8::1/128"},
		{"2001:db8::2", Block, "2001:db8::/32"},
		{"2001:db8:1::2", Allow, "2001:db8:1::/48"},
		{"::ffff:10.1.9.9", Allow, "10.1.0.0/16"}, // Match unmaps
	} {
		a, p, ok := ls.match(netip.MustParseAddr(c.addr))
		if !ok || a != c.action || p.String() != c.prefix {
			t.Errorf("%s: got %v %v %v, want %v %v", c.addr, a, p, ok, c.action, c.prefix)
		}
	}
}

// TestLPMMemoryBound: host routes spread over the space need two tables
// each; a list that would pass the bound is refused with an error.
func TestLPMMemoryBound(t *testing.T) {
	var block []string
	for i := range 200_000 {
		a := netip.AddrFrom4([4]byte{byte(i), byte(i >> 8), byte(i >> 16), 1})
		block = append(block, a.String())
	}
	cfg := DefaultConfig()
	cfg.Block = block
	_, err := NewControl(cfg)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, "MiB of tables") {
		t.Fatalf("200000 scattered host prefixes: error %v; want the table memory bound", err)
	}
	cfg.Block = block[:50_000] // 50000 /16s' tables and 50000 /24s': about 100 MiB
	if _, err := NewControl(cfg); err != nil {
		t.Fatal(err)
	}
}
