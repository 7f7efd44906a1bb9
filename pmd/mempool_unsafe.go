package pmd

/*
#include "opmd.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Mempool is a DPDK packet-mbuf pool.
type Mempool struct {
	c    *C.struct_rte_mempool
	name string
}

// MempoolConfig says how to create a pool; zero values take DPDK's defaults.
type MempoolConfig struct {
	Name     string
	Size     uint   // number of mbufs
	Cache    uint   // per-lcore cache (default 250, RTE_MEMPOOL_CACHE_MAX_SIZE 512)
	PrivSize uint16 // per-mbuf application private area
	DataRoom uint16 // buffer size including headroom (default 2048+128)
	Socket   int    // NUMA socket, -1 for any
}

// DefaultDataRoom is RTE_MBUF_DEFAULT_BUF_SIZE: 2048 bytes plus headroom.
const DefaultDataRoom = C.RTE_MBUF_DEFAULT_BUF_SIZE

// NewMempool creates a packet-mbuf pool (rte_pktmbuf_pool_create).
func NewMempool(cfg MempoolConfig) (*Mempool, error) {
	if cfg.DataRoom == 0 {
		cfg.DataRoom = DefaultDataRoom
	}
	if cfg.Cache == 0 {
		cfg.Cache = 250
	}
	if cfg.Cache > C.RTE_MEMPOOL_CACHE_MAX_SIZE {
		cfg.Cache = C.RTE_MEMPOOL_CACHE_MAX_SIZE
	}
	// DPDK requires cache*1.5 <= size.
	if cfg.Cache*3/2 > cfg.Size {
		cfg.Cache = cfg.Size * 2 / 3
	}
	cname := C.CString(cfg.Name)
	defer C.free(unsafe.Pointer(cname))
	var errno C.int
	mp := C.opmd_pktmbuf_pool_create(cname, C.uint(cfg.Size), C.uint(cfg.Cache),
		C.uint16_t(cfg.PrivSize), C.uint16_t(cfg.DataRoom), C.int(cfg.Socket), &errno)
	if mp == nil {
		return nil, rteError(fmt.Sprintf("mempool %q: create %d mbufs of %d bytes", cfg.Name, cfg.Size, cfg.DataRoom), errno)
	}
	return &Mempool{c: mp, name: cfg.Name}, nil
}

// Name is the pool's name.
func (p *Mempool) Name() string { return p.name }

// Size is the number of mbufs the pool holds.
func (p *Mempool) Size() int { return int(p.c.size) }

// InUse is the number of mbufs taken out of the pool (per-lcore caches
// count as available).
func (p *Mempool) InUse() int { return int(C.rte_mempool_in_use_count(p.c)) }

// Avail is the number of mbufs available, caches included.
func (p *Mempool) Avail() int { return int(C.rte_mempool_avail_count(p.c)) }

// DataRoom is the buffer size of each mbuf.
func (p *Mempool) DataRoom() uint16 { return uint16(C.rte_pktmbuf_data_room_size(p.c)) }

// Free releases the pool; every mbuf must be back in it.
func (p *Mempool) Free() {
	if p.c != nil {
		C.rte_mempool_free(p.c)
		p.c = nil
	}
}

// Alloc takes one mbuf, reset, or nil when the pool is empty. A cgo call:
// the fast path uses Stream or AllocBulk instead.
func (p *Mempool) Alloc() *Mbuf {
	return (*Mbuf)(unsafe.Pointer(C.opmd_alloc(p.c)))
}

// AllocBulk fills dst with fresh mbufs, all or none; dst must be in C
// memory (a Burst). It reports whether it succeeded.
func (p *Mempool) AllocBulk(dst *Burst, n int) bool {
	if n > dst.Cap() {
		n = dst.Cap()
	}
	if C.opmd_alloc_bulk(p.c, dst.c, C.uint(n)) != 0 {
		return false
	}
	dst.n = n
	return true
}

// Free returns a packet (all its segments) to its pool. A cgo call: the
// fast path hands packets to Stream.Free instead.
func (m *Mbuf) Free() { C.opmd_free(m.cptr()) }

// FreeBulk frees the packets in b (rte_pktmbuf_free_bulk) and empties it.
func FreeBulk(b *Burst) {
	if b.n > 0 {
		C.rte_pktmbuf_free_bulk(b.c, C.uint(b.n))
		b.n = 0
	}
}

// Burst is an array of mbuf pointers in C memory, for passing to DPDK
// without cgocheck scanning it. It is owned by one goroutine.
type Burst struct {
	c    **C.struct_rte_mbuf
	pkts []*Mbuf // view of c, full capacity
	n    int
}

// NewBurst allocates a burst array of capacity n in C memory. Close frees it.
func NewBurst(n int) *Burst {
	c := (**C.struct_rte_mbuf)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(uintptr(0)))))
	return &Burst{c: c, pkts: unsafe.Slice((**Mbuf)(unsafe.Pointer(c)), n)}
}

// Close frees the array (not the packets in it).
func (b *Burst) Close() {
	if b.c != nil {
		C.free(unsafe.Pointer(b.c))
		b.c, b.pkts, b.n = nil, nil, 0
	}
}

// Cap is the array's capacity.
func (b *Burst) Cap() int { return len(b.pkts) }

// Len is the number of packets held.
func (b *Burst) Len() int { return b.n }

// Pkts returns the packets held (a view into C memory).
func (b *Burst) Pkts() []*Mbuf { return b.pkts[:b.n] }

// All returns the whole array, for filling; follow with SetLen.
func (b *Burst) All() []*Mbuf { return b.pkts }

// SetLen sets the number of packets held.
func (b *Burst) SetLen(n int) { b.n = n }

// Push appends m and reports whether there was room.
func (b *Burst) Push(m *Mbuf) bool {
	if b.n == len(b.pkts) {
		return false
	}
	b.pkts[b.n] = m
	b.n++
	return true
}
