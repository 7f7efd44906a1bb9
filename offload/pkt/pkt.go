// Package pkt is how offload engines see packet memory they do not own.
//
// Engines work on byte views. An engine that holds packets across bursts
// (assembly) or joins them (reassembly) refers to each by a Handle and
// changes packet memory only through a Store: in the data path a Store is
// backed by mbufs (a Handle is an mbuf, Append chains segments), in tests,
// fuzzing and benchmarks by SliceStore. The Store is set once, so calling
// through the interface allocates nothing.
package pkt

// Handle names a packet held in a Store.
type Handle uintptr

// Nil is no packet.
const Nil Handle = 0

// Store is the packet memory an engine works through.
type Store interface {
	// Segs appends views of h's segments to dst and returns it. The
	// headers are entirely in the first segment.
	Segs(h Handle, dst [][]byte) [][]byte
	// Len is h's length in bytes, all segments.
	Len(h Handle) int
	// Append moves src's bytes from off to its end onto the end of dst and
	// consumes src. It reports false, changing nothing, if dst cannot
	// take them (segment count or size limits).
	Append(dst, src Handle, off int) bool
	// Trim cuts n bytes off the end of h.
	Trim(h Handle, n int)
	// Free releases h. The engine counts why.
	Free(h Handle)
}

// TailStore is a Store that appends in constant time when the caller
// remembers where dst ends: engines that grow a packet segment by segment
// (GRO, reassembly) use it when their Store has it, so that merging n
// segments costs O(n), not O(n²) walks of a chain.
type TailStore interface {
	Store
	// AppendTail is Append given tail, dst's last segment as the previous
	// AppendTail returned it (Nil: unknown, found by walking dst). It
	// returns the new last segment. Like Trim, it leaves dst's first
	// segment where it is: a view of it from Segs stays valid while dst
	// grows (engines keep it to write the headers when they are done).
	AppendTail(dst, tail, src Handle, off int) (Handle, bool)
}

// Span is a run of bytes [Off, Off+Len) of a packet, counted across its
// segments.
type Span struct {
	Off, Len int
}

// Copy copies span sp of the packet segs into dst and returns the number
// of bytes copied.
func Copy(dst []byte, segs [][]byte, sp Span) int {
	n, pos := 0, 0
	for _, s := range segs {
		if n == sp.Len || n == len(dst) {
			break
		}
		if pos+len(s) > sp.Off+n {
			a := sp.Off + n - pos
			n += copy(dst[n:min(len(dst), sp.Len)], s[a:])
		}
		pos += len(s)
	}
	return n
}

// SliceStore is a Store of Go byte slices: one segment per packet. For
// tests and benchmarks; Append allocates when a packet outgrows its
// capacity.
type SliceStore struct {
	pkts  [][]byte
	free  []Handle
	live  int
	Limit int // largest packet Append builds; 0: 65535 + 128
}

// Put adds a copy-free packet and returns its handle.
func (s *SliceStore) Put(b []byte) Handle {
	s.live++
	if n := len(s.free); n > 0 {
		h := s.free[n-1]
		s.free = s.free[:n-1]
		s.pkts[h-1] = b
		return h
	}
	s.pkts = append(s.pkts, b)
	return Handle(len(s.pkts))
}

// Bytes is h's packet.
func (s *SliceStore) Bytes(h Handle) []byte { return s.pkts[h-1] }

// Live is the number of packets held (Put and not yet freed or consumed):
// a leak check for tests.
func (s *SliceStore) Live() int { return s.live }

// Segs implements Store.
func (s *SliceStore) Segs(h Handle, dst [][]byte) [][]byte { return append(dst, s.pkts[h-1]) }

// Len implements Store.
func (s *SliceStore) Len(h Handle) int { return len(s.pkts[h-1]) }

// Append implements Store.
func (s *SliceStore) Append(dst, src Handle, off int) bool {
	limit := s.Limit
	if limit == 0 {
		limit = 65535 + 128
	}
	d, b := s.pkts[dst-1], s.pkts[src-1]
	if off > len(b) || len(d)+len(b)-off > limit {
		return false
	}
	s.pkts[dst-1] = append(d, b[off:]...)
	s.Free(src)
	return true
}

// Trim implements Store.
func (s *SliceStore) Trim(h Handle, n int) { s.pkts[h-1] = s.pkts[h-1][:len(s.pkts[h-1])-n] }

// Free implements Store.
func (s *SliceStore) Free(h Handle) {
	s.pkts[h-1] = nil
	s.free = append(s.free, h)
	s.live--
}
