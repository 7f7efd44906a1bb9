package pmd

/*
#include "opmd.h"
*/
import "C"

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Stream sizes.
const (
	BurstMax    = C.OPMD_BURST_MAX // largest RX burst
	StreamTxMax = C.OPMD_TX_MAX    // packets a stream can queue for TX per burst
)

// RxMode says where a stream's packets come from.
type RxMode uint16

// RX modes.
const (
	RxEthdev RxMode = C.OPMD_RX_ETHDEV // rte_eth_rx_burst on the RX port/queue
	RxAlloc  RxMode = C.OPMD_RX_ALLOC  // fresh mbufs from a pool (txonly)
	RxNone   RxMode = C.OPMD_RX_NONE   // nothing: only flush TX and frees
)

// StreamConfig describes a forwarding stream.
type StreamConfig struct {
	RxPort, RxQueue uint16
	TxPort, TxQueue uint16
	Burst           uint16 // RX burst size, 1..BurstMax
	RxMode          RxMode
	AllocPool       *Mempool // RxAlloc: the pool to allocate from
	TxRetry         uint32   // extra TX rounds when the TX queue takes nothing
	TxRetryDelayUs  uint32
	Socket          int // NUMA socket for the stream's memory; -1 any
}

// Stream is one RX port/queue to TX port/queue pipe with its burst arrays
// in C memory. One lcore owns it: Poll, Send and Drop are not safe for
// concurrent use, and the counters have that lcore as their only writer.
//
// A burst's life: Poll receives into Rx(); the engine hands each packet to
// Send or Drop; the next Poll frees what was dropped, transmits what was
// sent (freeing and counting what the TX queue refuses), then receives the
// next burst. That is one cgo call per burst for all three.
type Stream struct {
	c    *C.struct_opmd_stream
	rx   []*Mbuf
	tx   []*Mbuf
	free []*Mbuf
	cfg  StreamConfig
}

// NewStream allocates a stream. Close frees it.
func NewStream(cfg StreamConfig) (*Stream, error) {
	if cfg.Burst == 0 || cfg.Burst > BurstMax {
		return nil, fmt.Errorf("stream: %w: burst %d outside 1..%d", ErrInvalid, cfg.Burst, BurstMax)
	}
	if cfg.RxMode == RxAlloc && cfg.AllocPool == nil {
		return nil, fmt.Errorf("stream: %w: alloc mode needs a pool", ErrInvalid)
	}
	c := C.opmd_stream_new(C.int(cfg.Socket))
	if c == nil {
		return nil, fmt.Errorf("stream: %w: rte_zmalloc of %d bytes", ErrNoMemory, C.sizeof_struct_opmd_stream)
	}
	c.rx_port, c.rx_queue = C.uint16_t(cfg.RxPort), C.uint16_t(cfg.RxQueue)
	c.tx_port, c.tx_queue = C.uint16_t(cfg.TxPort), C.uint16_t(cfg.TxQueue)
	c.burst = C.uint16_t(cfg.Burst)
	c.rx_mode = C.uint16_t(cfg.RxMode)
	c.tx_retry, c.tx_retry_us = C.uint32_t(cfg.TxRetry), C.uint32_t(cfg.TxRetryDelayUs)
	if cfg.AllocPool != nil {
		c.alloc_pool = cfg.AllocPool.c
	}
	return &Stream{
		c:    c,
		rx:   unsafe.Slice((**Mbuf)(unsafe.Pointer(&c.rx[0])), BurstMax),
		tx:   unsafe.Slice((**Mbuf)(unsafe.Pointer(&c.tx[0])), StreamTxMax),
		free: unsafe.Slice((**Mbuf)(unsafe.Pointer(&c.free[0])), StreamTxMax),
		cfg:  cfg,
	}, nil
}

// Config is the stream's configuration.
func (s *Stream) Config() StreamConfig { return s.cfg }

// Close frees the stream's memory. Pending TX and frees are flushed first.
func (s *Stream) Close() {
	if s.c == nil {
		return
	}
	s.Flush()
	C.rte_free(unsafe.Pointer(s.c))
	s.c = nil
}

// Poll frees the dropped packets, sends the queued ones, then receives the
// next burst and returns its size. One cgo call.
func (s *Stream) Poll() int { return int(C.opmd_stream_poll(s.c)) }

// Flush frees and sends what is queued without receiving.
func (s *Stream) Flush() {
	if s.c.nb_tx == 0 && s.c.nb_free == 0 {
		return
	}
	mode := s.c.rx_mode
	s.c.rx_mode = C.OPMD_RX_NONE
	C.opmd_stream_poll(s.c)
	s.c.rx_mode = mode
	s.c.polls--
	s.c.idle_polls--
}

// Rx is the burst the last Poll received.
func (s *Stream) Rx() []*Mbuf { return s.rx[:s.c.nb_rx] }

// Send queues m for TX at the next Poll. If the TX array is full it is
// flushed first (an extra cgo call; only a burst that grew more than
// StreamTxMax/BurstMax times over needs it).
func (s *Stream) Send(m *Mbuf) {
	if int(s.c.nb_tx) == len(s.tx) {
		s.Flush()
	}
	s.tx[s.c.nb_tx] = m
	s.c.nb_tx++
}

// SendBurst queues pkts for TX in order.
func (s *Stream) SendBurst(pkts []*Mbuf) {
	for len(pkts) > 0 {
		if int(s.c.nb_tx) == len(s.tx) {
			s.Flush()
		}
		n := copy(s.tx[s.c.nb_tx:], pkts)
		s.c.nb_tx += C.uint16_t(n)
		pkts = pkts[n:]
	}
}

// Drop queues m to be freed at the next Poll. The caller counts why.
func (s *Stream) Drop(m *Mbuf) {
	if int(s.c.nb_free) == len(s.free) {
		s.Flush()
	}
	s.free[s.c.nb_free] = m
	s.c.nb_free++
}

// DropBurst queues pkts to be freed.
func (s *Stream) DropBurst(pkts []*Mbuf) {
	for len(pkts) > 0 {
		if int(s.c.nb_free) == len(s.free) {
			s.Flush()
		}
		n := copy(s.free[s.c.nb_free:], pkts)
		s.c.nb_free += C.uint16_t(n)
		pkts = pkts[n:]
	}
}

// Pending is the number of packets queued for TX.
func (s *Stream) Pending() int { return int(s.c.nb_tx) }

// StreamCounters are a stream's counters.
type StreamCounters struct {
	RxPackets uint64 // received from the RX queue
	TxPackets uint64 // accepted by the TX queue
	TxDropped uint64 // refused by the TX queue, freed (testpmd's TX-dropped)
	RxNoMbuf  uint64 // alloc mode: failed bulk allocations
	Polls     uint64
	IdlePolls uint64
	TxRetries uint64
}

func load(p *C.uint64_t) uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(p))) }

// Counters reads the counters; safe from any goroutine while the owner runs.
func (s *Stream) Counters() StreamCounters {
	c := s.c
	return StreamCounters{
		RxPackets: load(&c.rx_packets), TxPackets: load(&c.tx_packets),
		TxDropped: load(&c.tx_dropped), RxNoMbuf: load(&c.rx_nombuf),
		Polls: load(&c.polls), IdlePolls: load(&c.idle_polls), TxRetries: load(&c.tx_retries),
	}
}

// ResetCounters zeroes the counters; only while no lcore runs the stream.
func (s *Stream) ResetCounters() {
	c := s.c
	c.rx_packets, c.tx_packets, c.tx_dropped, c.rx_nombuf = 0, 0, 0, 0
	c.polls, c.idle_polls, c.tx_retries = 0, 0, 0
}

// Counters is a block of uint64 counters in C memory, each on its own
// writer's terms: one lcore writes with plain stores (Add, Inc), anyone
// reads with atomic loads (Load). Cache-line aligned.
type Counters struct {
	v []uint64
	p unsafe.Pointer
}

// NewCounters allocates n zeroed counters on socket.
func NewCounters(n int, socket int) *Counters {
	p := C.rte_zmalloc_socket(nil, C.size_t(n*8), C.RTE_CACHE_LINE_SIZE, C.int(socket))
	if p == nil {
		panic(fmt.Sprintf("pmd: rte_zmalloc of %d counters failed", n))
	}
	return &Counters{v: unsafe.Slice((*uint64)(p), n), p: p}
}

// Free releases the block.
func (c *Counters) Free() {
	if c.p != nil {
		C.rte_free(c.p)
		c.p, c.v = nil, nil
	}
}

// Add adds d to counter i. Owner only.
func (c *Counters) Add(i int, d uint64) { c.v[i] += d }

// Inc adds one to counter i. Owner only.
func (c *Counters) Inc(i int) { c.v[i]++ }

// Load reads counter i from any goroutine.
func (c *Counters) Load(i int) uint64 { return atomic.LoadUint64(&c.v[i]) }

// Len is the number of counters.
func (c *Counters) Len() int { return len(c.v) }

// Reset zeroes every counter; only while the owner is not running.
func (c *Counters) Reset() { clear(c.v) }
