package pmd

import (
	"unsafe"

	"github.com/offloadpmd/offloadpmd/offload/pkt"
)

// Handle is the pkt.Handle of an mbuf.
func Handle(m *Mbuf) pkt.Handle { return pkt.Handle(uintptr(unsafe.Pointer(m))) }

// HandleMbuf is the mbuf behind a pkt.Handle made by Handle. Mbufs live in
// C memory, which the garbage collector neither moves nor frees, so the
// round trip through an integer is sound.
func HandleMbuf(h pkt.Handle) *Mbuf { return *(**Mbuf)(unsafe.Pointer(&h)) }

// MaxChainSegs bounds the segments Append builds into one packet (what
// multi-segment TX on most devices takes).
const MaxChainSegs = 64

// MbufStore is a pkt.Store over mbufs for engines that belong to one
// stream's lcore (assembly, reassembly): Append chains segments, Free
// queues the packet on the stream's drop list, freed at the next poll.
type MbufStore struct {
	s *Stream
}

// NewMbufStore is a Store whose frees go through s.
func NewMbufStore(s *Stream) *MbufStore { return &MbufStore{s: s} }

// Segs implements pkt.Store.
func (st *MbufStore) Segs(h pkt.Handle, dst [][]byte) [][]byte {
	for m := HandleMbuf(h); m != nil; m = m.next {
		dst = append(dst, m.Data())
	}
	return dst
}

// Len implements pkt.Store.
func (st *MbufStore) Len(h pkt.Handle) int { return int(HandleMbuf(h).pktLen) }

// Append implements pkt.Store: the first off bytes of src go (they must
// lie in its first segment, where headers are), the rest is chained onto
// dst. A first segment left empty is freed rather than chained.
func (st *MbufStore) Append(dst, src pkt.Handle, off int) bool {
	_, ok := st.AppendTail(dst, pkt.Nil, src, off)
	return ok
}

// AppendTail implements pkt.TailStore: Append without walking dst's chain
// when tail, its last segment, is known.
func (st *MbufStore) AppendTail(dst, tail, src pkt.Handle, off int) (pkt.Handle, bool) {
	d, s := HandleMbuf(dst), HandleMbuf(src)
	if off < 0 || off > int(s.dataLen) || uint64(d.pktLen)+uint64(s.pktLen)-uint64(off) > 1<<32-1 {
		return pkt.Nil, false
	}
	empty := off == int(s.dataLen) && s.next != nil
	segs := int(s.nbSegs)
	if empty {
		segs--
	}
	if int(d.nbSegs)+segs > MaxChainSegs {
		return pkt.Nil, false
	}
	if empty {
		rest := s.next
		rest.pktLen = s.pktLen - uint32(s.dataLen)
		rest.nbSegs = s.nbSegs - 1
		rest.olFlags, rest.port = s.olFlags, s.port
		s.next, s.nbSegs, s.pktLen = nil, 1, uint32(s.dataLen)
		st.s.Drop(s)
		s = rest
	} else {
		s.Adj(uint16(off))
	}
	last := d
	if tail != pkt.Nil {
		last = HandleMbuf(tail)
	}
	last = last.Last()
	if !d.chainAt(last, s) {
		return pkt.Nil, false
	}
	return Handle(s.Last()), true
}

// Trim implements pkt.Store: n bytes come off the end, and segments left
// empty are freed.
func (st *MbufStore) Trim(h pkt.Handle, n int) {
	head := HandleMbuf(h)
	keep := int(head.pktLen) - n
	if keep < 0 {
		keep = 0
	}
	head.pktLen = uint32(keep)
	segs := uint16(0)
	for m := head; m != nil; m = m.next {
		segs++
		if int(m.dataLen) >= keep {
			m.dataLen = uint16(keep)
			if tail := m.next; tail != nil {
				m.next = nil
				// The cut-off segments form a chain of their own.
				tail.nbSegs = 1
				for x := tail.next; x != nil; x = x.next {
					tail.nbSegs++
				}
				st.s.Drop(tail)
			}
			break
		}
		keep -= int(m.dataLen)
	}
	head.nbSegs = segs
}

// Free implements pkt.Store.
func (st *MbufStore) Free(h pkt.Handle) { st.s.Drop(HandleMbuf(h)) }

// SegViews fills dst with views of m's segments (no allocation when dst
// has the capacity) and returns it.
func (m *Mbuf) SegViews(dst [][]byte) [][]byte {
	dst = dst[:0]
	for x := m; x != nil; x = x.next {
		dst = append(dst, x.Data())
	}
	return dst
}
