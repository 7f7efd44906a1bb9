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
	SpareMax    = C.OPMD_SPARE_MAX // spare mbufs a stream keeps
)

// RxMode says where a stream's packets come from.
type RxMode uint16

// RX modes.
const (
	RxEthdev RxMode = C.OPMD_RX_ETHDEV // rte_eth_rx_burst on the RX port/queue
	RxAlloc  RxMode = C.OPMD_RX_ALLOC  // fresh mbufs from a pool (txonly)
	RxNone   RxMode = C.OPMD_RX_NONE   // nothing: only flush TX and frees
	RxRing   RxMode = C.OPMD_RX_RING   // dequeue from RxRing (pipeline mode)
	RxFd     RxMode = C.OPMD_RX_FD     // readv from RxFd, a vnet-hdr TAP queue
)

// VnetHdrLen is the virtio_net_hdr a vnet-hdr TAP stream reads and writes
// before each frame, in the 12 bytes of headroom right before the data.
const VnetHdrLen = C.OPMD_VNET_HDR_LEN

// StreamConfig describes a forwarding stream.
type StreamConfig struct {
	RxPort, RxQueue uint16
	TxPort, TxQueue uint16
	Burst           uint16 // RX burst size, 1..BurstMax
	// Bursts is how many back-to-back full bursts one Poll may take
	// (default 1). rte_eth_rx_burst is still called with Burst; a poll
	// goes on only while the queue returns full bursts, so a quiet queue
	// sees no added latency and a busy one amortises the cgo crossing.
	Bursts    uint16
	RxMode    RxMode
	AllocPool *Mempool // RxAlloc and spares: the pool to allocate from
	// RxRing is the ring an RxRing stream dequeues from; TxRing, if set,
	// is where the stream sends instead of its TX port (pipeline mode:
	// the two halves of a stream on two lcores).
	RxRing, TxRing *Ring
	// RxFd is the file descriptor an RxFd stream reads (a TapPort
	// queue's); TxFd, if TxToFd, the one it writes instead of its TX
	// port. Their frames carry a virtio_net_hdr (VnetHdrLen).
	RxFd, TxFd     int
	TxToFd         bool
	TxRetry        uint32 // extra TX rounds when the TX queue takes nothing
	TxRetryDelayUs uint32
	Socket         int // NUMA socket for the stream's memory; -1 any
}

// Stream is one RX port/queue to TX port/queue pipe with its burst arrays
// in C memory. One lcore owns it: Poll, Send and Drop are not safe for
// concurrent use, and the counters have that lcore as their only writer.
//
// A burst's life: Poll receives into Rx(). The engine compacts the packets
// it keeps to the front of Rx() and calls SendRx, or FreeRx to free them
// all; packets it creates go to Send, packets it discards to Drop. The next
// Poll frees, transmits (freeing and counting what the TX queue refuses:
// in-place packets first, then Send's), and receives the next burst: one
// cgo call per burst for all of it, and no copy of the burst for engines
// that keep packets in place.
type Stream struct {
	c    *C.struct_opmd_stream
	rx   []*Mbuf
	tx   []*Mbuf
	free []*Mbuf
	// tx and free as words, for bulk moves without write barriers: they
	// live in C memory, which the garbage collector does not scan.
	txw, freew []uintptr
	cfg        StreamConfig
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
	if cfg.Bursts == 0 {
		cfg.Bursts = 1
	}
	c.rx_max = C.uint16_t(min(int(cfg.Burst)*int(cfg.Bursts), BurstMax))
	c.rx_mode = C.uint16_t(cfg.RxMode)
	c.tx_retry, c.tx_retry_us = C.uint32_t(cfg.TxRetry), C.uint32_t(cfg.TxRetryDelayUs)
	if cfg.AllocPool != nil {
		c.alloc_pool = cfg.AllocPool.c
	}
	if cfg.RxMode == RxRing {
		if cfg.RxRing == nil {
			C.rte_free(unsafe.Pointer(c))
			return nil, fmt.Errorf("stream: %w: ring mode needs a ring", ErrInvalid)
		}
		c.rx_ring = cfg.RxRing.c
	}
	if cfg.TxRing != nil {
		c.tx_ring, c.tx_mode = cfg.TxRing.c, C.OPMD_TX_RING
	}
	c.rx_fd, c.tx_fd = -1, -1
	if cfg.RxMode == RxFd {
		segs, err := fdSegs(cfg.AllocPool)
		if err != nil {
			C.rte_free(unsafe.Pointer(c))
			return nil, fmt.Errorf("stream: %w", err)
		}
		c.rx_fd, c.fd_segs = C.int32_t(cfg.RxFd), C.uint16_t(segs)
	}
	if cfg.TxToFd {
		c.tx_fd, c.tx_mode = C.int32_t(cfg.TxFd), C.OPMD_TX_FD
	}
	return &Stream{
		c:     c,
		rx:    unsafe.Slice((**Mbuf)(unsafe.Pointer(&c.rx[0])), BurstMax),
		tx:    unsafe.Slice((**Mbuf)(unsafe.Pointer(&c.tx[0])), StreamTxMax),
		free:  unsafe.Slice((**Mbuf)(unsafe.Pointer(&c.free[0])), StreamTxMax),
		txw:   unsafe.Slice((*uintptr)(unsafe.Pointer(&c.tx[0])), StreamTxMax),
		freew: unsafe.Slice((*uintptr)(unsafe.Pointer(&c.free[0])), StreamTxMax),
		cfg:   cfg,
	}, nil
}

// fdSegs is how many of pool's mbufs one read from a TAP fills at most.
func fdSegs(pool *Mempool) (int, error) {
	if pool == nil {
		return 0, fmt.Errorf("%w: a TAP stream needs a pool", ErrInvalid)
	}
	buf := int(pool.DataRoom()) // buf_len: headroom and data room
	head := buf - DefaultHeadroom
	if head <= 0 {
		return 0, fmt.Errorf("%w: mbufs of %d bytes hold no frame", ErrInvalid, buf)
	}
	segs := 1 + (max(C.OPMD_FD_FRAME_MAX-head, 0)+buf-1)/buf
	if segs > C.OPMD_FD_SEGS {
		return 0, fmt.Errorf("%w: a 64 KiB frame takes %d mbufs of %d bytes, at most %d", ErrInvalid, segs, buf, C.OPMD_FD_SEGS)
	}
	return segs, nil
}

// Config is the stream's configuration.
func (s *Stream) Config() StreamConfig { return s.cfg }

// Close frees the stream's memory. Pending TX and frees are flushed first,
// and spare mbufs go back to their pool.
func (s *Stream) Close() {
	if s.c == nil {
		return
	}
	s.c.spare_want = 0
	s.Flush()
	C.opmd_stream_release(s.c)
	if s.c.nb_spare > 0 {
		C.rte_pktmbuf_free_bulk(&s.c.spare[0], C.uint(s.c.nb_spare))
		s.c.nb_spare = 0
	}
	C.rte_free(unsafe.Pointer(s.c))
	s.c = nil
}

// WantSpares asks the next polls to keep n spare mbufs (at most SpareMax)
// from the stream's pool, for packets an engine creates. Owner only.
func (s *Stream) WantSpares(n int) { s.c.spare_want = C.uint16_t(min(n, SpareMax)) }

// Spares is the number of spare mbufs on hand.
func (s *Stream) Spares() int { return int(s.c.nb_spare) }

// Spare takes a spare mbuf (reset, as fresh from the pool), or nil if none
// is left until the next poll.
func (s *Stream) Spare() *Mbuf {
	if s.c.nb_spare == 0 {
		return nil
	}
	s.c.nb_spare--
	return (*Mbuf)(unsafe.Pointer(s.c.spare[s.c.nb_spare]))
}

// RefillSpares tops the spare mbufs up to n now: a cgo call, for a stage
// that needs more than the polls keep (a burst of large segmentations).
// It reports whether there are n.
//
// The work is in C: passing &s.c.spare[i] from Go would make cgo's pointer
// check box the argument, a heap allocation per call.
func (s *Stream) RefillSpares(n int) bool {
	if int(s.c.nb_spare) >= n {
		return true
	}
	return C.opmd_stream_refill_spares(s.c, C.uint(max(n, 0))) == 0
}

// SetTxPrepare says whether polls run rte_eth_tx_prepare before sending:
// needed when the egress device performs tasks in hardware. Owner only.
func (s *Stream) SetTxPrepare(on bool) {
	if on {
		s.c.tx_prepare = 1
	} else {
		s.c.tx_prepare = 0
	}
}

// Poll frees the dropped packets, sends the queued ones, then receives the
// next burst and returns its size. One cgo call; forwarding lcores poll all
// their streams at once with a Group instead.
func (s *Stream) Poll() int { return int(C.opmd_stream_poll(s.c)) }

// Flush frees and sends what is queued without receiving.
func (s *Stream) Flush() {
	if s.c.nb_tx == 0 && s.c.nb_free == 0 && s.c.rx_tx == 0 && s.c.rx_free == 0 {
		return
	}
	mode := s.c.rx_mode
	s.c.rx_mode = C.OPMD_RX_NONE
	C.opmd_stream_poll(s.c)
	s.c.rx_mode = mode
}

// Rx is the burst the last Poll received.
func (s *Stream) Rx() []*Mbuf { return s.rx[:s.c.nb_rx] }

// RxArray is the whole RX array (BurstMax entries): a stage that returns
// more packets than came in (flushed assembly) writes them here.
func (s *Stream) RxArray() []*Mbuf { return s.rx }

// NbRx is the size of the burst the last Poll received.
func (s *Stream) NbRx() int { return int(s.c.nb_rx) }

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
		n := copy(s.txw[s.c.nb_tx:], words(pkts))
		s.c.nb_tx += C.uint16_t(n)
		pkts = pkts[n:]
	}
}

// TxQueued is the number of packets queued with Send since the last Poll.
func (s *Stream) TxQueued() int { return int(s.c.nb_tx) }

// Direct marks the stream direct as of epoch (read with Epoch before
// judging): until the epoch moves, a group Poll sends each burst the
// stream receives straight back out in place, as SendRx of all of it, and
// reports it to Go as no burst (NbRx 0). Owner lcore, between polls.
func (s *Stream) Direct(epoch uint64) {
	s.c.direct_at = C.uint64_t(epoch)
	s.c.direct = 1
}

// Undirect hands every burst to Go again. Owner lcore, between polls.
func (s *Stream) Undirect() { s.c.direct = 0 }

// IsDirect reports whether the stream is direct. Owner lcore.
func (s *Stream) IsDirect() bool { return s.c.direct != 0 }

// SendRx sends Rx()[:k] in place at the next Poll, before anything queued
// with Send: the engine has compacted the packets it keeps to the front of
// the burst. Call it at most once per burst. Rx()[k:] are the caller's to
// drop.
func (s *Stream) SendRx(k int) { s.c.rx_tx = C.uint16_t(k) }

// FreeRx frees RxArray()[:n] in place at the next Poll, sending nothing
// from it: an engine that consumes every packet (rxonly).
func (s *Stream) FreeRx(n int) {
	s.c.rx_tx = 0
	s.c.rx_free = C.uint16_t(n)
}

// words views a slice of mbuf pointers as machine words, so that moving
// them between C-memory arrays is a plain memmove.
func words(p []*Mbuf) []uintptr {
	if len(p) == 0 {
		return nil
	}
	return unsafe.Slice((*uintptr)(unsafe.Pointer(&p[0])), len(p))
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
		n := copy(s.freew[s.c.nb_free:], words(pkts))
		s.c.nb_free += C.uint16_t(n)
		pkts = pkts[n:]
	}
}

// Queued is what the next poll sends: the RX array's packets sent in
// place, then the TX array's. Owner only; for a last pass over a burst
// (writing per-packet headers a TAP port sends).
func (s *Stream) Queued() (inPlace, tx []*Mbuf) {
	return s.rx[:s.c.rx_tx], s.tx[:s.c.nb_tx]
}

// Pending is the number of packets queued for TX.
func (s *Stream) Pending() int { return int(s.c.nb_tx) + int(s.c.rx_tx) }

// StreamCounters are a stream's counters.
type StreamCounters struct {
	RxPackets       uint64 // received from the RX queue
	TxPackets       uint64 // accepted by the TX queue
	TxDropped       uint64 // refused by the TX queue, freed (testpmd's TX-dropped)
	RxNoMbuf        uint64 // alloc mode: failed bulk allocations
	TxRetries       uint64
	TxPrepareFailed uint64 // refused by rte_eth_tx_prepare, freed
	SpareNoMbuf     uint64 // spare refills that failed
	RxErrors        uint64 // TAP reads that failed or were too short
	TxErrors        uint64 // TAP writes the kernel refused
	DirectPackets   uint64 // forwarded in C as a direct stream (see Direct)
}

func load(p *C.uint64_t) uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(p))) }

// Counters reads the counters; safe from any goroutine while the owner runs.
func (s *Stream) Counters() StreamCounters {
	c := s.c
	return StreamCounters{
		RxPackets: load(&c.rx_packets), TxPackets: load(&c.tx_packets),
		TxDropped: load(&c.tx_dropped), RxNoMbuf: load(&c.rx_nombuf),
		TxRetries: load(&c.tx_retries), TxPrepareFailed: load(&c.tx_prepare_failed),
		SpareNoMbuf: load(&c.spare_nombuf), RxErrors: load(&c.rx_errors), TxErrors: load(&c.tx_errors),
		DirectPackets: load(&c.direct_packets),
	}
}

// ResetCounters zeroes the counters; only while no lcore runs the stream.
func (s *Stream) ResetCounters() {
	c := s.c
	c.rx_packets, c.tx_packets, c.tx_dropped, c.rx_nombuf = 0, 0, 0, 0
	c.tx_retries, c.tx_prepare_failed, c.spare_nombuf = 0, 0, 0
	c.rx_errors, c.tx_errors, c.direct_packets = 0, 0, 0
}

// GroupMax is the most streams one Group holds.
const GroupMax = C.OPMD_GROUP_MAX

// Group is the streams one lcore owns, polled with one cgo call per
// iteration: every stream's frees, sends and receives in one crossing.
type Group struct {
	c       *C.struct_opmd_group
	cu      C.uintptr_t // c as an integer, so cgo has no pointer to check per call
	streams []*Stream
}

// NewGroup groups streams for one lcore. Close frees it (not the streams).
func NewGroup(streams []*Stream, socket int) (*Group, error) {
	if len(streams) > GroupMax {
		return nil, fmt.Errorf("stream group: %w: %d streams, at most %d per lcore", ErrInvalid, len(streams), GroupMax)
	}
	c := (*C.struct_opmd_group)(C.rte_zmalloc_socket(nil, C.sizeof_struct_opmd_group, C.RTE_CACHE_LINE_SIZE, C.int(socket)))
	if c == nil {
		return nil, fmt.Errorf("stream group: %w", ErrNoMemory)
	}
	for i, s := range streams {
		c.s[i] = s.c
	}
	c.n = C.uint32_t(len(streams))
	return &Group{c: c, cu: C.uintptr_t(uintptr(unsafe.Pointer(c))), streams: streams}, nil
}

// Poll polls every stream (see Stream.Poll) in one cgo call and returns
// the packets received in all; each stream's NbRx tells its share of what
// Go is to handle. With direct streams (Stream.Direct) one call may poll
// several rounds: see SetRounds.
func (g *Group) Poll() int { return int(C.opmd_group_poll(g.cu)) }

// SetRounds sets how many rounds one Poll may take (default 1): while
// every burst received belongs to a direct stream, C forwards it and
// polls again, up to n times, so Go is crossed into once per n bursts of
// plain forwarding instead of once per burst. Before the lcore starts.
func (g *Group) SetRounds(n int) {
	g.c.rounds = C.uint32_t(max(n, 1))
}

// Polls and IdlePolls count rounds polled and those that received
// nothing; Calls counts Polls. Readable from any goroutine.
func (g *Group) Polls() (polls, idle, calls uint64) {
	return load(&g.c.polls), load(&g.c.idle_polls), load(&g.c.calls)
}

// Epoch is the control plane's change count (opmd_epoch): a stream made
// direct at one epoch stops being direct when it moves. Any goroutine.
func Epoch() uint64 { return atomic.LoadUint64((*uint64)(unsafe.Pointer(&C.opmd_epoch))) }

// BumpEpoch tells direct streams that something they were judged on has
// changed: each hands its next burst to Go. Call it after the change is
// visible (a table published, an observer armed). Any goroutine.
func BumpEpoch() { atomic.AddUint64((*uint64)(unsafe.Pointer(&C.opmd_epoch)), 1) }

// Close frees the group.
func (g *Group) Close() {
	if g.c != nil {
		C.rte_free(unsafe.Pointer(g.c))
		g.c = nil
	}
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

// Set sets counter i (for copying a count kept elsewhere). Owner only.
func (c *Counters) Set(i int, v uint64) { c.v[i] = v }

// Inc adds one to counter i. Owner only.
func (c *Counters) Inc(i int) { c.v[i]++ }

// Load reads counter i from any goroutine.
func (c *Counters) Load(i int) uint64 { return atomic.LoadUint64(&c.v[i]) }

// Len is the number of counters.
func (c *Counters) Len() int { return len(c.v) }

// Reset zeroes every counter; only while the owner is not running.
func (c *Counters) Reset() { clear(c.v) }
