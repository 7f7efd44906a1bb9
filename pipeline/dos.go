package pipeline

import (
	"sync/atomic"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/dos"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// The DoS filter in the data path (offload/dos does the judging):
//
//   - RX: on a port whose table enables dos_filter, every received packet
//     is judged right after request validation and before anything else
//     looks at it: before ESP decryption (the filter must see the outer
//     packet, whose source is the one that sent it, and must not spend
//     crypto on a flood), checksum verification, digests and assembly.
//     Packets that brought TX requests are judged too: an OS's packets
//     enter by the same port as anyone's. A dropped packet is freed and
//     counted dos-<reason> (dos.Reason); the rest keep their order.
//   - One dos.Filter per stream (its single writer), applying the
//     forwarder's shared dos.Control (Offload.DoS), whose rules the
//     control plane swaps at run time. The Filter's tables are allocated
//     when the stream is made if its RX port enables dos_filter then, or
//     at the first burst that needs them if the port enables it later;
//     never per packet. With RSS, each queue's stream has its own tables
//     and budget (see dos.Config.SYNBudget).
//   - Return path: packets a stream sends toward a port whose table
//     enables dos_filter are the protected side's answers to that port's
//     clients. When the stream receiving from that port runs on the same
//     lcore (the usual io/paired layout on one lcore), its Filter is shown
//     the answers that are TCP SYN-ACKs (a few byte compares per packet
//     pick them), so a client's ACK can prove it received the SYN-ACK
//     (dos.Config.RequireReturnPath). Across lcores the Filters are not
//     shown them: a Filter has one writer.
//   - Time: the Filter's clock is the lcore clock read once per burst,
//     offset to a process-wide epoch so that a forwarder restarted on the
//     same streams never goes back in time.
//   - Counters: drops per reason; dos-allowed, dos-established and the
//     tables' evictions and expiries copied from the Filter's statistics.
//     The tables' occupancy is published per stream for `dos show`
//     (Stream.DoSUsage).

// dosEpoch is the origin of the DoS filters' clocks.
var dosEpoch = time.Now()

// dosNow is the burst's time for the DoS filter: the lcore clock from
// dosEpoch.
func dosNow(clk *clock) int64 { return int64(clk.start.Sub(dosEpoch)) + clk.now() }

// dosState is a stream's DoS filter and the arrays it judges a burst in,
// allocated with the stream.
type dosState struct {
	ctl     *dos.Control
	f       *dos.Filter // nil until the RX port enables dos_filter
	views   [][]byte    // the burst's first segments
	lens    []int       // their packet lengths
	verdict []dos.Reason
	last    dos.Stats // the statistics last copied into the counters
	// peer is the state of the stream on this lcore that receives from
	// this stream's TX port, whose Filter is shown what this one sends
	// (see above); nil if none.
	peer *dosState
	// usage is the Filter's occupancy for readers on other goroutines.
	usage [6]atomic.Int64
	made  atomic.Bool
}

func newDoSState(ctl *dos.Control, enabled bool) *dosState {
	d := &dosState{
		ctl:     ctl,
		views:   make([][]byte, pmd.BurstMax),
		lens:    make([]int, pmd.BurstMax),
		verdict: make([]dos.Reason, pmd.BurstMax),
	}
	if enabled {
		d.make()
	}
	return d
}

// make allocates the Filter.
func (d *dosState) make() {
	d.f = dos.NewFilter(d.ctl)
	d.publish()
	d.made.Store(true)
}

// publish copies the Filter's occupancy for readers.
func (d *dosState) publish() {
	u := d.f.Usage()
	for i, v := range [6]int{u.Sources, u.SourcesCap, u.Flows, u.FlowsCap, u.Fragments, u.FragmentsCap} {
		if d.usage[i].Load() != int64(v) {
			d.usage[i].Store(int64(v))
		}
	}
}

// DoSUsage is the occupancy of the stream's DoS filter tables; ok is
// false while it has none (its RX port has not enabled dos_filter since
// the stream was made). It may be called from any goroutine.
func (s *Stream) DoSUsage() (u dos.Usage, ok bool) {
	if s.off == nil || s.off.dos == nil || !s.off.dos.made.Load() {
		return u, false
	}
	d := s.off.dos
	u = dos.Usage{
		Sources: int(d.usage[0].Load()), SourcesCap: int(d.usage[1].Load()),
		Flows: int(d.usage[2].Load()), FlowsCap: int(d.usage[3].Load()),
		Fragments: int(d.usage[4].Load()), FragmentsCap: int(d.usage[5].Load()),
	}
	return u, true
}

// dosFilter is the DoS stage: it judges the burst and returns the packets
// that pass, in order, the others dropped and counted.
func (s *Stream) dosFilter(pkts []*pmd.Mbuf, now int64) []*pmd.Mbuf {
	d := s.off.dos
	if d.f == nil {
		d.make() // once: the port enabled dos_filter after the stream was made
	}
	for i, m := range pkts {
		d.views[i], d.lens[i] = m.Data(), int(m.PktLen())
	}
	n := len(pkts)
	passed := d.f.JudgeBurst(d.views[:n], d.lens[:n], now, d.verdict[:n])
	clear(d.views[:n]) // hold no views of freed mbufs
	if passed < n {
		kept := 0
		for i, m := range pkts {
			if r := d.verdict[i]; r != dos.ReasonNone {
				s.dropCounted(m, DoSDropped(r))
				continue
			}
			pkts[kept] = m
			kept++
		}
		pkts = pkts[:kept]
	}
	s.syncDoS()
	return pkts
}

// syncDoS copies what the Filter counts besides drops into the stream's
// counters, and publishes its occupancy.
func (s *Stream) syncDoS() {
	d := s.off.dos
	st := d.f.Stats()
	l := &d.last
	if st.Allowed != l.Allowed || st.Established != l.Established || st.SourceEvictions != l.SourceEvictions ||
		st.FlowEvictions != l.FlowEvictions || st.FlowsExpired != l.FlowsExpired || st.FragmentEvictions != l.FragmentEvictions {
		s.cnt.Add(int(DoSAllowed), st.Allowed-l.Allowed)
		s.cnt.Add(int(DoSEstablished), st.Established-l.Established)
		s.cnt.Add(int(DoSSourceEvictions), st.SourceEvictions-l.SourceEvictions)
		s.cnt.Add(int(DoSFlowEvictions), st.FlowEvictions-l.FlowEvictions)
		s.cnt.Add(int(DoSFlowsExpired), st.FlowsExpired-l.FlowsExpired)
		s.cnt.Add(int(DoSFragmentEvictions), st.FragmentEvictions-l.FragmentEvictions)
	}
	*l = st
	d.publish()
}

// dosObserve shows the peer's Filter the TCP SYN-ACKs among the packets
// this stream sends.
func (s *Stream) dosObserve(pkts []*pmd.Mbuf, now int64) {
	f := s.off.dos.peer.f
	if f == nil {
		return
	}
	for _, m := range pkts {
		if b := m.Data(); isSynAck(b) {
			f.Observe(b, int(m.PktLen()), now)
		}
	}
}

// isSynAck is a quick look at a frame: IPv4 or IPv6 (without extension
// headers) carrying a TCP segment with SYN and ACK and without RST. The
// Filter parses the ones it is shown.
func isSynAck(f []byte) bool {
	l2 := l2Len(f)
	if len(f) < l2+20 {
		return false
	}
	var l4 int
	switch f[l2] >> 4 {
	case 4:
		if f[l2+9] != 6 {
			return false
		}
		l4 = l2 + int(f[l2]&0xf)*4
	case 6:
		if f[l2+6] != 6 {
			return false
		}
		l4 = l2 + 40
	default:
		return false
	}
	const syn, rst, ack = 0x02, 0x04, 0x10
	return len(f) > l4+13 && f[l4+13]&(syn|rst|ack) == syn|ack
}

// linkDoSPeers gives each stream with a DoS state the state of the stream
// on the same lcore that receives from its TX port (the same queue if
// there is one), whose Filter it shows its SYN-ACKs.
func linkDoSPeers(lcores []*Lcore) {
	for _, l := range lcores {
		for _, s := range l.Streams {
			if s.off == nil || s.off.dos == nil || s.role == RoleTx {
				continue
			}
			var peer *Stream
			for _, r := range l.Streams {
				if r.off == nil || r.off.dos == nil || r.role == RoleTx || r.RxPort != s.TxPort {
					continue
				}
				if peer == nil || r.RxQueue == s.TxQueue && peer.RxQueue != s.TxQueue {
					peer = r
				}
			}
			if peer != nil {
				s.off.dos.peer = peer.off.dos
			}
		}
	}
}

// dosEnabled reports whether table t has the DoS filter on its RX.
func dosEnabled(t *offload.Table) bool {
	return t != nil && t.RxBy(offload.RxDoSFilter) == offload.PerformSoftware
}
