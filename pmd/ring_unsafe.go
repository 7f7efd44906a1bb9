package pmd

/*
#include "opmd.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Ring is a DPDK rte_ring of mbuf pointers.
type Ring struct {
	c    *C.struct_rte_ring
	name string
}

// RingFlags choose producer and consumer synchronisation.
type RingFlags uint

// Ring flags.
const (
	RingMPMC RingFlags = 0
	RingSPSC RingFlags = C.RING_F_SP_ENQ | C.RING_F_SC_DEQ
	// RingExactSize makes count the usable size rather than a power of two
	// minus one.
	RingExactSize RingFlags = C.RING_F_EXACT_SZ
)

// NewRing creates a ring that holds count objects.
func NewRing(name string, count uint, socket int, flags RingFlags) (*Ring, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var errno C.int
	r := C.opmd_ring_create(cname, C.uint(count), C.int(socket), C.uint(flags), &errno)
	if r == nil {
		return nil, rteError(fmt.Sprintf("ring %q: create %d entries", name, count), errno)
	}
	return &Ring{c: r, name: name}, nil
}

// Name is the ring's name.
func (r *Ring) Name() string { return r.name }

// Free releases the ring (not the objects in it).
func (r *Ring) Free() {
	if r.c != nil {
		C.rte_ring_free(r.c)
		r.c = nil
	}
}

// Count is the number of objects in the ring.
func (r *Ring) Count() int { return int(C.opmd_ring_count(r.c)) }

// FreeAll dequeues every mbuf left in the ring, frees it and returns how
// many there were.
func (r *Ring) FreeAll() int {
	b := NewBurst(BurstMax)
	defer b.Close()
	n := 0
	for r.Dequeue(b) > 0 {
		n += b.Len()
		FreeBulk(b)
	}
	return n
}

// Enqueue moves as many packets of b as fit into the ring, in order, and
// removes them from b (which keeps the rest). It returns how many moved.
func (r *Ring) Enqueue(b *Burst) int {
	n := int(C.opmd_ring_enqueue_burst(r.c, (*unsafe.Pointer)(unsafe.Pointer(b.c)), C.uint(b.n)))
	copy(b.pkts, b.pkts[n:b.n])
	b.n -= n
	return n
}

// Dequeue appends up to the free room of b from the ring and returns how
// many it took.
func (r *Ring) Dequeue(b *Burst) int {
	room := len(b.pkts) - b.n
	if room == 0 {
		return 0
	}
	base := (*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(b.c), b.n*int(unsafe.Sizeof(uintptr(0)))))
	n := int(C.opmd_ring_dequeue_burst(r.c, base, C.uint(room)))
	b.n += n
	return n
}

// NewRingPort creates an ethdev port over existing rings
// (rte_eth_from_rings): RX queue i reads rx[i], TX queue i writes tx[i].
// The name must start with "net_ring", the driver's prefix.
func NewRingPort(name string, rx, tx []*Ring, socket int) (*EthPort, error) {
	if len(rx) == 0 || len(tx) == 0 {
		return nil, fmt.Errorf("ring port %q: %w: need rings", name, ErrInvalid)
	}
	rxa := (**C.struct_rte_ring)(C.calloc(C.size_t(len(rx)), C.size_t(unsafe.Sizeof(uintptr(0)))))
	txa := (**C.struct_rte_ring)(C.calloc(C.size_t(len(tx)), C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(rxa))
	defer C.free(unsafe.Pointer(txa))
	for i, r := range rx {
		unsafe.Slice(rxa, len(rx))[i] = r.c
	}
	for i, r := range tx {
		unsafe.Slice(txa, len(tx))[i] = r.c
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	id := C.opmd_eth_from_rings(cname, rxa, C.uint(len(rx)), txa, C.uint(len(tx)), C.uint(max(socket, 0)))
	if id < 0 {
		return nil, rteError(fmt.Sprintf("ring port %q", name), id)
	}
	p, err := OpenPort(uint16(id))
	if err != nil {
		return nil, err
	}
	p.probed = true
	return p, nil
}
