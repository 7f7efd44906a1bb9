package esp

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
)

func inbound(spi uint32, dst netip.Addr) Config {
	return Config{SPI: spi, Dir: Inbound, Mode: Transport, Alg: AESGCM128, EncKey: keyOf(20, byte(spi)), Dst: dst}
}

// TestLookup: by SPI, by SPI and destination, a wildcard SA without a
// destination, outbound SAs not found.
func TestLookup(t *testing.T) {
	var r Registry
	add := func(c Config) *SA {
		sa, err := r.Add(c)
		if err != nil {
			t.Fatal(err)
		}
		return sa
	}
	a := add(inbound(0x100, addr4a))
	b := add(inbound(0x100, addr4b))
	w := add(inbound(0x100, netip.Addr{}))
	c := add(inbound(0x200, addr6a))
	o := inbound(0x300, addr4a)
	o.Dir = Outbound
	add(o)
	for i := uint32(0x1000); i < 0x1100; i++ { // enough to collide in the hash
		add(inbound(i, netip.Addr{}))
	}
	tab := r.Load()
	for _, q := range []struct {
		spi  uint32
		dst  netip.Addr
		want *SA
	}{
		{0x100, addr4a, a}, {0x100, addr4b, b}, {0x100, addr6b, w},
		{0x200, addr6a, c}, {0x200, addr6b, nil}, {0x300, addr4a, nil}, {0x999, addr4a, nil},
	} {
		if got := tab.Lookup(q.spi, q.dst); got != q.want {
			t.Errorf("%#x %v: %v, want %v", q.spi, q.dst, got, q.want)
		}
	}
	for i := uint32(0x1000); i < 0x1100; i++ {
		if sa := tab.Lookup(i, addr4a); sa == nil || sa.SPI() != i {
			t.Fatalf("%#x: %v", i, sa)
		}
	}
	if n := len(tab.All(nil)); n != tab.Len() || n != 5+0x100 {
		t.Fatalf("%d SAs, Len %d", n, tab.Len())
	}
}

// TestRegistryChanges: indices, duplicates, deletion; SAs and their state
// carry over to the next table.
func TestRegistryChanges(t *testing.T) {
	var r Registry
	if r.Load().Len() != 0 || r.Load().SA(0) != nil || r.Load().Lookup(0x100, addr4a) != nil {
		t.Fatal("empty registry")
	}
	a, _ := r.Add(inbound(0x100, addr4a))
	b, err := r.AddAt(7, inbound(0x101, addr4a))
	if err != nil || b.Index() != 7 {
		t.Fatal(b, err)
	}
	if _, err := r.AddAt(7, inbound(0x102, addr4a)); !errors.Is(err, ErrConfig) {
		t.Fatalf("index taken: %v", err)
	}
	if _, err := r.Add(inbound(0x100, addr4a)); !errors.Is(err, ErrConfig) {
		t.Fatalf("same SPI and destination: %v", err)
	}
	if _, err := r.AddAt(MaxSAs, inbound(0x103, addr4a)); !errors.Is(err, ErrConfig) {
		t.Fatalf("index %d: %v", MaxSAs, err)
	}
	c, _ := r.Add(inbound(0x104, addr4a))
	if c.Index() != 1 {
		t.Fatalf("lowest free index: %d", c.Index())
	}
	a.replay.update(5)
	old := r.Load()
	if err := r.Delete(a.Index()); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(a.Index()); !errors.Is(err, ErrNoSA) {
		t.Fatalf("deleted twice: %v", err)
	}
	if old.SA(0) != a || r.Load().SA(0) != nil || r.Load().Lookup(0x100, addr4a) != nil {
		t.Fatal("delete: old table changed or new one kept the SA")
	}
	if r.Load().SA(7) != b || r.Load().Lookup(0x104, addr4a) != c {
		t.Fatal("delete lost other SAs")
	}
	if _, err := r.Add(inbound(0x100, addr4a)); err != nil {
		t.Fatal(err)
	}
	if b.Seq() != 0 || a.Seq() != 5 {
		t.Fatalf("state: %d %d", a.Seq(), b.Seq())
	}
}

// TestRegistryLockFree: lookups from several goroutines while SAs are
// added and deleted (run with -race).
func TestRegistryLockFree(t *testing.T) {
	var r Registry
	if _, err := r.Add(inbound(0x100, addr4a)); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if r.Load().Lookup(0x100, addr4a) == nil {
					t.Error("lost the permanent SA")
					return
				}
			}
		}()
	}
	for i := range 200 {
		sa, err := r.Add(inbound(uint32(0x200+i), addr4b))
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if err := r.Delete(sa.Index()); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
}
