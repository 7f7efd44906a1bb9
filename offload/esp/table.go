package esp

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"sync"
	"sync/atomic"
)

// MaxSAs bounds a Table: SA indices run from 0 to MaxSAs-1.
const MaxSAs = 4096

// ErrNoSA is wrapped by Registry.Delete for an index without an SA.
var ErrNoSA = errors.New("no such SA")

// Table is an immutable set of SAs: by index, and the inbound ones by SPI
// and destination. Registry publishes a new Table for every change; SAs
// carry over from one to the next, with their sequence counters and replay
// windows.
type Table struct {
	sas []*SA // by index; nil where free
	n   int
	// spi is an open-addressing hash of the inbound SAs by SPI: index+1,
	// 0 for an empty slot; linear probing.
	spi   []uint16
	shift uint8
}

var emptyTable = &Table{spi: make([]uint16, 1), shift: 32}

// SA returns the SA at index, or nil.
func (t *Table) SA(index uint16) *SA {
	if int(index) < len(t.sas) {
		return t.sas[index]
	}
	return nil
}

// Len is the number of SAs.
func (t *Table) Len() int { return t.n }

// All appends the SAs, by index, to dst and returns it.
func (t *Table) All(dst []*SA) []*SA {
	for _, sa := range t.sas {
		if sa != nil {
			dst = append(dst, sa)
		}
	}
	return dst
}

func (t *Table) slot(spi uint32) uint32 { return spi * 0x9e3779b1 >> t.shift }

// Lookup returns the inbound SA for a packet with this SPI sent to dst
// (RFC 4301 §4.1): one whose Dst is dst if there is one, else one that
// has no Dst. It allocates nothing.
func (t *Table) Lookup(spi uint32, dst netip.Addr) *SA {
	var wild *SA
	mask := uint32(len(t.spi) - 1)
	for i := t.slot(spi); ; i = (i + 1) & mask {
		e := t.spi[i]
		if e == 0 {
			return wild
		}
		sa := t.sas[e-1]
		if sa.cfg.SPI != spi {
			continue
		}
		if sa.cfg.Dst == dst {
			return sa
		}
		if !sa.cfg.Dst.IsValid() && wild == nil {
			wild = sa
		}
	}
}

// build makes a Table of sas (by index).
func build(sas []*SA) *Table {
	t := &Table{sas: sas}
	in := 0
	for _, sa := range sas {
		if sa != nil {
			t.n++
			if sa.cfg.Dir == Inbound {
				in++
			}
		}
	}
	// At most half full: probes stay short.
	size := 1 << bits.Len(uint(2*in))
	t.spi = make([]uint16, size)
	t.shift = uint8(32 - bits.TrailingZeros(uint(size)))
	mask := uint32(size - 1)
	for i, sa := range sas {
		if sa == nil || sa.cfg.Dir != Inbound {
			continue
		}
		j := t.slot(sa.cfg.SPI)
		for t.spi[j] != 0 {
			j = (j + 1) & mask
		}
		t.spi[j] = uint16(i + 1)
	}
	return t
}

// Registry publishes the current Table. Load is lock-free, for lcores
// once per burst; changes are serialised and each publishes a new Table.
type Registry struct {
	mu  sync.Mutex
	cur atomic.Pointer[Table]
}

// Load returns the current Table (an empty one before any SA is added).
func (r *Registry) Load() *Table {
	if t := r.cur.Load(); t != nil {
		return t
	}
	return emptyTable
}

// Add creates an SA from cfg at the lowest free index and publishes it.
func (r *Registry) Add(cfg Config) (*SA, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.Load()
	i := 0
	for i < len(cur.sas) && cur.sas[i] != nil {
		i++
	}
	return r.addLocked(cur, i, cfg)
}

// AddAt creates an SA from cfg at index and publishes it.
func (r *Registry) AddAt(index uint16, cfg Config) (*SA, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addLocked(r.Load(), int(index), cfg)
}

func (r *Registry) addLocked(cur *Table, index int, cfg Config) (*SA, error) {
	if index >= MaxSAs {
		return nil, fmt.Errorf("%w: spi %#x: index %d: at most %d SAs", ErrConfig, cfg.SPI, index, MaxSAs)
	}
	if index < len(cur.sas) && cur.sas[index] != nil {
		return nil, fmt.Errorf("%w: spi %#x: index %d is taken by %v", ErrConfig, cfg.SPI, index, cur.sas[index])
	}
	for _, o := range cur.sas {
		if o != nil && o.cfg.SPI == cfg.SPI && o.cfg.Dir == cfg.Dir && o.cfg.Dst == cfg.Dst {
			return nil, fmt.Errorf("%w: spi %#x: %v has the same SPI, direction and destination", ErrConfig, cfg.SPI, o)
		}
	}
	sa, err := newSA(cfg, uint16(index))
	if err != nil {
		return nil, err
	}
	sas := make([]*SA, max(len(cur.sas), index+1))
	copy(sas, cur.sas)
	sas[index] = sa
	r.cur.Store(build(sas))
	return sa, nil
}

// Delete removes the SA at index and publishes the change. Packets already
// holding it finish with it.
func (r *Registry) Delete(index uint16) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.Load()
	if cur.SA(index) == nil {
		return fmt.Errorf("sa %d: %w", index, ErrNoSA)
	}
	sas := append([]*SA(nil), cur.sas...)
	sas[index] = nil
	for len(sas) > 0 && sas[len(sas)-1] == nil {
		sas = sas[:len(sas)-1]
	}
	r.cur.Store(build(sas))
	return nil
}
