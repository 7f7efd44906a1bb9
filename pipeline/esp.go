package pipeline

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// ESP in the data path (offload/esp does the framing and, in Go, the
// crypto):
//
//   - RX: on a port with esp_decrypt enabled, ESP packets are looked up by
//     SPI (and destination), checked against the replay window, verified
//     and decrypted in place, right after request validation: what the
//     later stages (checksum verification, assembly, the engine) see is
//     the inner packet, flagged RX_SEC_OFFLOAD.
//   - TX: a packet is encrypted when it asks for it (TX_SEC_OFFLOAD with
//     the SA index in the opmd_dynfield_esp_sa dynamic field, checked
//     against what its RX port enabled) or when its egress port has an
//     outbound policy covering its destination (checked against what the
//     egress port enabled). Encryption is the TX stage's last task: the
//     packet's other tasks (segmentation, checksums) are all done in
//     software first, so nothing the device would do afterwards can touch
//     the ciphertext. ESP packets wait in the stream's ESP queue until the
//     end of the burst, where one engine call encrypts them all, and are
//     sent after the burst's other packets.
//
// A drop has the counter esp-<reason> (esp.Reason), and esp-multi-segment
// for a chained mbuf, which ESP here does not take.

// ESPDynfieldName is the dynamic mbuf field holding a packet's SA index
// (uint32) when it asks for encryption with TX_SEC_OFFLOAD.
const ESPDynfieldName = "opmd_dynfield_esp_sa"

// ESPPolicy is an outbound IPsec policy: packets leaving Port whose (inner)
// IP destination is in Dst are encrypted with the SA at index SA. An
// invalid (zero) Dst matches every IP packet.
type ESPPolicy struct {
	Port uint16       `json:"port"`
	Dst  netip.Prefix `json:"dst"`
	SA   uint16       `json:"sa"`
}

// Matches reports whether the policy covers destination addr.
func (p ESPPolicy) Matches(addr netip.Addr) bool { return !p.Dst.IsValid() || p.Dst.Contains(addr) }

// ESPPolicies holds each egress port's outbound policies, published by
// atomic swap: lcores load a port's list once per burst.
type ESPPolicies struct {
	mu sync.Mutex
	by [offload.MaxPorts]atomic.Pointer[[]ESPPolicy]
}

// Set replaces port's policies (first match wins, in order).
func (e *ESPPolicies) Set(port uint16, ps []ESPPolicy) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(ps) == 0 {
		e.by[port].Store(nil)
		return
	}
	cp := append([]ESPPolicy(nil), ps...)
	e.by[port].Store(&cp)
}

// Load is port's policies (nil: none).
func (e *ESPPolicies) Load(port uint16) []ESPPolicy {
	if e == nil || int(port) >= len(e.by) {
		return nil
	}
	if p := e.by[port].Load(); p != nil {
		return *p
	}
	return nil
}

// All lists every port's policies, by port.
func (e *ESPPolicies) All() []ESPPolicy {
	var out []ESPPolicy
	for i := range e.by {
		out = append(out, e.Load(uint16(i))...)
	}
	return out
}

// espQueueMax bounds the packets a stream holds for one engine call: what
// one device run takes (a whole RX burst's worth, for decryption).
const espQueueMax = pmd.CryptoBurstMax

var _ = [1]struct{}{}[min(pmd.CryptoBurstMax-pmd.BurstMax, 0)] // CryptoBurstMax >= BurstMax

// espState is a stream's ESP working set, allocated with the stream.
//
// On TX the queue is mbufs: the packets encapsulated so far in the burst.
// A packet whose SA a device takes has its crypto job written straight
// into the device burst's job array (see espDev.place), from a scratch
// Job that stays in cache; only the others (Go's) keep a Job in jobs, with
// their frame in views. where says which is which, per queued packet.
type espState struct {
	engine esp.GoEngine
	dev    *espDev // crypto devices, when the forwarder has them (Offload.Crypto)
	jobs   []esp.Job
	mbufs  []*pmd.Mbuf
	views  [][]byte
	slot   [pmd.BurstMax]int16 // RX: a burst packet's job, -1 for none
	sa     *esp.SA             // TX: the SA of the packet being segmented
	pkt    esp.Packet          // TX: the packet being encapsulated
	seqs   esp.SeqBlock        // TX: sequence numbers taken for the burst
	// A queued packet's job (TX) or a job's (RX): an index in jobs (>= 0,
	// done in Go), or a device job (< 0, see espDev.place).
	where [espQueueMax]int16
	tj    esp.Job // TX: the job of a packet a device encrypts, before place
}

func newESPState() *espState {
	return &espState{
		jobs:  make([]esp.Job, 0, espQueueMax),
		mbufs: make([]*pmd.Mbuf, 0, espQueueMax),
		views: make([][]byte, 0, espQueueMax),
	}
}

// l2Len is the length of an Ethernet header, with one VLAN tag if any.
func l2Len(f []byte) int {
	if len(f) >= 14 && binary.BigEndian.Uint16(f[12:]) == 0x8100 {
		return 18
	}
	return 14
}

// isESP is a quick look at a frame: an IPv4 or IPv6 packet whose protocol
// (first next header) is ESP.
func isESP(f []byte) bool {
	l2 := l2Len(f)
	if len(f) < l2+40 {
		return len(f) >= l2+20 && f[l2]>>4 == 4 && f[l2+9] == 50
	}
	switch f[l2] >> 4 {
	case 4:
		return f[l2+9] == 50
	case 6:
		return f[l2+6] == 50
	}
	return false
}

// isIP reports whether a frame holds an IP packet with a whole fixed
// header (as dstAddr finds its destination).
func isIP(f []byte) bool {
	l2 := l2Len(f)
	switch {
	case len(f) >= l2+20 && f[l2]>>4 == 4:
		return true
	case len(f) >= l2+40 && f[l2]>>4 == 6:
		return true
	}
	return false
}

// dstAddr is a frame's IP destination (invalid if it has none).
func dstAddr(f []byte) netip.Addr {
	l2 := l2Len(f)
	switch {
	case len(f) >= l2+20 && f[l2]>>4 == 4:
		return netip.AddrFrom4([4]byte(f[l2+16 : l2+20]))
	case len(f) >= l2+40 && f[l2]>>4 == 6:
		return netip.AddrFrom16([16]byte(f[l2+24 : l2+40]))
	}
	return netip.Addr{}
}

// decrypt is the RX ESP stage: it decrypts the burst's ESP packets in
// place and keeps every packet but those it drops, in order.
func (s *Stream) decrypt(pkts []*pmd.Mbuf, b *burstView) []*pmd.Mbuf {
	e := s.off.esp
	e.jobs, e.mbufs, e.views = e.jobs[:0], e.mbufs[:0], e.views[:0]
	for i, m := range pkts {
		e.slot[i] = -1
		if !isESP(m.Data()) {
			continue
		}
		if m.NbSegs() > 1 {
			e.slot[i] = -2
			continue
		}
		// As in espHold: the Packet filled in place, the job slot reused.
		p := &e.pkt
		p.Buf, p.Off, p.Len = m.Buf(), int(m.DataOff()), int(m.DataLen())
		n := len(e.jobs)
		e.jobs = e.jobs[:n+1]
		if why := b.sas.PrepareDecrypt(p, l2Len(p.Buf[p.Off:p.Off+p.Len]), &e.jobs[n]); why != esp.OK {
			e.jobs = e.jobs[:n]
			e.slot[i] = -3 - int16(why)
			continue
		}
		e.slot[i] = int16(len(e.jobs) - 1)
		e.mbufs = append(e.mbufs, m)
		e.views = append(e.views, p.Bytes())
	}
	if len(e.jobs) > 0 {
		s.espProcess()
	}
	kept := 0
	for i, m := range pkts {
		switch k := e.slot[i]; {
		case k == -1:
		case k == -2:
			s.dropCounted(m, ESPMultiSegment)
			continue
		case k < -2:
			s.dropCounted(m, ESPDropped(esp.Reason(-3-k)))
			continue
		default:
			p := &e.pkt
			p.Buf, p.Off, p.Len = m.Buf(), int(m.DataOff()), int(m.DataLen())
			if why := esp.FinishDecrypt(p, &e.jobs[k]); why != esp.OK {
				s.dropCounted(m, ESPDropped(why))
				continue
			}
			m.SetSpan(p.Off, p.Len)
			m.SetOlFlags(m.OlFlags()&^(offload.OlRxIPCksumMask|offload.OlRxL4CksumMask) | offload.OlRxSecOffload)
			m.SetPacketType(0)
			s.cnt.Inc(int(ESPDecrypted))
		}
		pkts[kept] = m
		kept++
	}
	// The queue is the TX stage's too: leave it empty, or espFlush would
	// run these jobs again and send (and free) the packets a second time.
	e.jobs, e.mbufs, e.views = e.jobs[:0], e.mbufs[:0], e.views[:0]
	return pkts[:kept]
}

// espFor says which SA encrypts m, if any: the one its request names, or
// the egress port's policy's. refused is set (and m dropped and counted)
// when it may not be.
func (s *Stream) espFor(m *pmd.Mbuf, b *burstView) (sa *esp.SA, refused bool) {
	if m.OlFlags()&offload.OlTxSecOffload != 0 {
		// The request itself is judged by Decode (enabled or not); here
		// only its SA.
		if sa = b.sas.SA(uint16(s.off.cfg.ESPSA.U32(m))); sa == nil || sa.Dir() != esp.Outbound {
			s.dropCounted(m, ESPDropped(esp.NoSA))
			return nil, true
		}
		return sa, false
	}
	out := b.espOut
	if len(out) == 0 {
		return nil, false
	}
	f := m.Data()
	if !isIP(f) {
		return nil, false
	}
	if b.espAny {
		if b.espAnySA == nil {
			s.dropCounted(m, ESPDropped(esp.NoSA))
			return nil, true
		}
		return b.espAnySA, false
	}
	// The destination is parsed only for a policy with a prefix ("any"
	// matches every IP packet).
	var dst netip.Addr
	for i := range out {
		p := &out[i]
		if p.Dst.IsValid() && !dst.IsValid() {
			if dst = dstAddr(f); !dst.IsValid() {
				return nil, false
			}
		}
		if p.Matches(dst) {
			if sa = b.sas.SA(p.SA); sa == nil || sa.Dir() != esp.Outbound {
				s.dropCounted(m, ESPDropped(esp.NoSA))
				return nil, true
			}
			return sa, false
		}
	}
	return nil, false
}

// espHold encapsulates m under sa and queues it for the burst's engine
// call; m is dropped and counted if it cannot be.
func (s *Stream) espHold(m *pmd.Mbuf, sa *esp.SA) {
	e := s.off.esp
	if m.NbSegs() > 1 {
		s.dropCounted(m, ESPMultiSegment)
		return
	}
	if len(e.mbufs) == cap(e.mbufs) {
		s.espFlush()
	}
	// Field by field into the state's Packet, and the job reused as it
	// is (PrepareEncrypt fills it): a Packet or Job composed on the
	// stack and copied costs a store-forwarding stall, a zeroed Job a
	// few hundred bytes of stores, per packet.
	p := &e.pkt
	p.Buf, p.Off, p.Len = m.Buf(), int(m.DataOff()), int(m.DataLen())
	l2 := l2Len(p.Buf[p.Off : p.Off+p.Len])
	q := len(e.mbufs)
	if r := s.espRoute(sa); r != nil && r.b != nil {
		if why := sa.PrepareEncryptSeq(p, l2, &e.tj, &e.seqs); why != esp.OK {
			s.dropCounted(m, ESPDropped(why))
			return
		}
		e.where[q] = e.dev.place(r, &e.tj, m, p.Bytes())
	} else {
		n := len(e.jobs)
		e.jobs = e.jobs[:n+1]
		if why := sa.PrepareEncryptSeq(p, l2, &e.jobs[n], &e.seqs); why != esp.OK {
			e.jobs = e.jobs[:n]
			s.dropCounted(m, ESPDropped(why))
			return
		}
		e.views = append(e.views, p.Bytes())
		e.where[q] = int16(n)
	}
	m.SetSpan(p.Off, p.Len)
	// Nothing is left for the device: every other task was done first.
	m.SetOlFlags(m.OlFlags() &^ offload.OlTxOffloadMask)
	m.SetTxOffload(0)
	e.mbufs = append(e.mbufs, m)
}

// espFlush encrypts the queued packets and sends them, in order.
func (s *Stream) espFlush() {
	e := s.off.esp
	// What the burst did not use goes back to the SA (see esp.SeqBlock).
	e.seqs.Release()
	if len(e.mbufs) == 0 {
		return
	}
	if len(e.jobs) > 0 {
		e.engine.Process(e.jobs, e.views)
		s.cnt.Add(int(ESPGoJobs), uint64(len(e.jobs)))
	}
	var gcm, cbc []pmd.CryptoJob
	if d := e.dev; d != nil && d.nGCM+d.nCBC > 0 {
		gcm, cbc = d.runPlaced()
		s.cnt.Add(int(ESPCryptodevJobs), uint64(len(gcm)+len(cbc)))
	}
	kept := 0
	for i, m := range e.mbufs {
		var why esp.Reason
		if w := e.where[i]; w >= 0 {
			why = esp.FinishEncrypt(&e.jobs[w])
		} else {
			why = placedReason(w, gcm, cbc)
		}
		if why != esp.OK {
			s.dropCounted(m, ESPDropped(why))
			continue
		}
		e.mbufs[kept] = m
		kept++
	}
	s.io.SendBurst(e.mbufs[:kept])
	s.cnt.Add(int(ESPEncrypted), uint64(kept))
	s.cnt.Add(int(SoftwareTask(offload.TaskESPEncrypt)), uint64(kept))
	e.jobs, e.mbufs, e.views = e.jobs[:0], e.mbufs[:0], e.views[:0]
}
