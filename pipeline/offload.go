package pipeline

import (
	"fmt"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/assembly"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/dos"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/offload/segment"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// Offload is a forwarder's offload configuration, shared by its streams.
// The tables change at run time (by atomic swap in Tables); the rest is
// set before the forwarder starts.
type Offload struct {
	// Tables holds each port's capability table.
	Tables *offload.Registry
	// Requests marks RX ports whose packets may arrive carrying TX requests
	// (ol_flags set by an OS or another DPDK application: net_vhost,
	// net_ring, vnet-hdr TAP ports). Packets from other ports are not
	// examined for requests unless an engine made them.
	Requests [offload.MaxPorts]bool
	// GRO and Reassembly configure the assembly engines, created per
	// stream when its RX port enables them.
	GRO        assembly.GROConfig
	Reassembly assembly.ReassemblyConfig
	// Dynamic mbuf flags for what ol_flags cannot say.
	UFO, FixedID, Partial pmd.Dynflag
	// LROAsRequest marks vhost-user ports, whose guests' GSO frames arrive
	// as RX_LRO packets: they become segmentation requests (see
	// Stream.lroAsRequest).
	LROAsRequest [offload.MaxPorts]bool
	// GuestTx marks vhost-user ports: an assembled packet leaving through
	// one goes to a guest that takes TCP super-frames as one (see
	// Stream.assembledToGuest).
	GuestTx [offload.MaxPorts]bool
	// GROTrustRx makes GRO merge segments whose checksums nobody
	// verified, IPv4 header and L4 (librte_gro's behaviour), instead of
	// verifying them first. A segment RX found bad is still never merged.
	GROTrustRx bool
	// SegPool, if set, provides the mbufs segmentation writes into (so
	// a pool of large RX buffers is not spent on 1.5 KB segments).
	SegPool *pmd.Mempool
	// SAs is the IPsec SA database; ESP the outbound policies by egress
	// port; ESPSA the dynamic field a packet's SA index travels in
	// (RegisterDynflags registers it).
	SAs   *esp.Registry
	ESP   *ESPPolicies
	ESPSA pmd.Dynfield
	// Crypto, if set, runs ESP's crypto on DPDK crypto devices.
	Crypto *ESPCrypto
	// Digests are the ports' digest configurations (digest.go); Digest
	// and DigestAppend the dynamic flags of a digest request,
	// DigestGood and DigestBad RX's verdicts, DigestField the dynamic
	// field a digest goes in (RegisterDynflags registers them).
	Digests                                     *DigestConfigs
	Digest, DigestAppend, DigestGood, DigestBad pmd.Dynflag
	DigestField                                 pmd.Dynfield
	// DoS, if set, holds the DoS filter's rules: every stream then has a
	// dos.Filter, used where its RX port enables dos_filter (dos.go).
	DoS *dos.Control
	// Flows, if set, holds the ports' flow rules: every stream then
	// classifies where its ports enable classify (classify.go).
	Flows *Classifiers

	csum csumPorts // the csum engine's per-port settings
}

// RegisterDynflags registers the dynamic mbuf flags a request may carry
// beyond DPDK's ol_flags: UDP fragmentation, a fixed IPv4 ID, an L4
// checksum field that holds a pseudo-header sum to complete, and a digest
// (with the digest's verdict flags and field, digest.go).
func (o *Offload) RegisterDynflags() error {
	for _, f := range []struct {
		name string
		dst  *pmd.Dynflag
	}{{"opmd_dynflag_tx_ufo", &o.UFO}, {"opmd_dynflag_tx_fixed_id", &o.FixedID}, {"opmd_dynflag_tx_partial_csum", &o.Partial}} {
		d, err := pmd.RegisterDynflag(f.name)
		if err != nil {
			return err
		}
		*f.dst = d
	}
	d, err := pmd.RegisterDynfield(ESPDynfieldName, 4, 4)
	if err != nil {
		return err
	}
	o.ESPSA = d
	return o.registerDigest()
}

// DefaultOffload is an Offload with the engines' default settings.
func DefaultOffload(tables *offload.Registry) *Offload {
	return &Offload{Tables: tables, GRO: assembly.DefaultGROConfig(), Reassembly: assembly.DefaultReassemblyConfig(),
		SAs: &esp.Registry{}, ESP: &ESPPolicies{}, Digests: &DigestConfigs{}}
}

// offloadState is one stream's offload working set: the assembly engines
// it owns and the scratch arrays its stages use, allocated once.
type offloadState struct {
	cfg   *Offload
	store *pmd.MbufStore
	gro   *assembly.GRO
	reass *assembly.Reassembler

	in      []assembly.Input
	verdict []assembly.Verdict
	out     []assembly.Output
	pkts    []*pmd.Mbuf // assembly's result: a burst's bypass, then outPkts
	outPkts []*pmd.Mbuf // pkts past BurstMax: what the engines let go
	segs    [][]byte
	bufs    [][]byte
	segOut  []segment.Seg
	mbufs   []*pmd.Mbuf
	batch   offload.Batch
	one     [1][]byte     // a single-segment packet's view
	layout  header.Layout // a packet's, parsed by a stage
	plan    csumPlan      // the csum engine's, for the current burst
	// finished: the engine performed every task of the burst it kept
	// (csumQuick), so the TX stage need not look at it.
	finished bool
	lastGRO  assembly.GROStats
	lastRe   assembly.ReassemblyStats
	dig      digestState
	esp      *espState
	dos      *dosState // with Offload.DoS
	// plainRx, plainTx: the tables the stream last judged plainOK on
	// (see plain).
	plainRx, plainTx *offload.Table
	plainOK          bool
	cls              *clsState // with Offload.Flows
}

func newOffloadState(cfg *Offload, s *pmd.Stream) *offloadState {
	o := &offloadState{
		cfg:     cfg,
		store:   pmd.NewMbufStore(s),
		in:      make([]assembly.Input, pmd.BurstMax),
		verdict: make([]assembly.Verdict, pmd.BurstMax),
		out:     make([]assembly.Output, 2*pmd.BurstMax),
		pkts:    make([]*pmd.Mbuf, 3*pmd.BurstMax),
		segs:    make([][]byte, 0, pmd.MaxChainSegs),
		bufs:    make([][]byte, segment.MaxSegments),
		segOut:  make([]segment.Seg, segment.MaxSegments),
		mbufs:   make([]*pmd.Mbuf, segment.MaxSegments),
		esp:     newESPState(),
	}
	o.outPkts = o.pkts[pmd.BurstMax:]
	if sc := s.Config(); cfg.DoS != nil && sc.RxMode != pmd.RxRing {
		// Not a pipeline's TX half (RX from a ring): the RX half judges.
		o.dos = newDoSState(cfg.DoS, dosEnabled(cfg.Tables.Load(sc.RxPort)))
	}
	if cfg.Flows != nil {
		o.cls = newClsState(cfg.Flows)
	}
	return o
}

// holding reports whether the stream's assembly engines hold packets (and
// so need timer flushes even when nothing arrives).
func (o *offloadState) holding() bool {
	return o.gro != nil && o.gro.Held() > 0 || o.reass != nil && o.reass.Datagrams() > 0
}

// burst carries one burst's view of the tables through the stages:
// loaded once per burst, so a change applies from the next one.
type burstView struct {
	rx, tx         *offload.Table
	rxVerifyIP     bool // verify in software
	rxVerifyL4     bool
	gro, reass     bool // assemble in software
	allowedOwn     offload.TxCaps
	allowedBrought offload.TxCaps
	hw             offload.TxCaps
	quirks         offload.Quirks // the TX device's
	guest          bool           // the TX port is a vhost-user port (Offload.GuestTx)
	mtu            int
	sas            *esp.Table  // the SA database, when ESP is on either side
	espIn          bool        // decrypt ESP packets (the RX port enables it)
	espOut         []ESPPolicy // the TX port's outbound policies, when it enables encryption
	// espAny: espOut's first policy matches every IP packet, so none
	// costs a policy walk; espAnySA is its SA (nil: none usable).
	espAny     bool
	espAnySA   *esp.SA
	dig        digestView
	dos        bool  // judge the burst (the RX port enables dos_filter)
	dosObserve bool  // show the TX port's stream the SYN-ACKs sent (it filters)
	now        int64 // the burst's time, with dos or dosObserve

	// The RX port's ingress and the TX port's egress rules, where their
	// tables enable classify; clsTx: the TX stage has tasks the ingress
	// rules attached or egress rules to apply.
	clsIn, clsOut *clsTable
	clsTx         bool
}

func (s *Stream) loadBurst(b *burstView) {
	t := s.off.cfg.Tables
	b.rx, b.tx = t.Load(s.RxPort), t.Load(s.TxPort)
	*b = burstView{rx: b.rx, tx: b.tx, mtu: 1500}
	if b.rx != nil {
		b.rxVerifyIP = b.rx.RxBy(offload.RxIPv4Cksum) == offload.PerformSoftware
		b.rxVerifyL4 = b.rx.RxBy(offload.RxTCPCksum) == offload.PerformSoftware || b.rx.RxBy(offload.RxUDPCksum) == offload.PerformSoftware
		b.gro = b.rx.RxBy(offload.RxTCPLRO) == offload.PerformSoftware || b.rx.RxBy(offload.RxUDPGRO) == offload.PerformSoftware
		b.reass = b.rx.RxBy(offload.RxIPv4Reassembly) == offload.PerformSoftware || b.rx.RxBy(offload.RxIPv6Reassembly) == offload.PerformSoftware
		b.allowedBrought = b.rx.EnabledTx()
	}
	if b.tx != nil {
		b.allowedOwn, b.hw, b.quirks = b.tx.EnabledTx(), b.tx.HardwareTxTasks(), b.tx.Quirks
		b.guest = s.off.cfg.GuestTx[s.TxPort]
		if b.tx.MTU > 0 {
			b.mtu = int(b.tx.MTU)
		}
	}
	if c := s.off.cfg; c.SAs != nil {
		b.espIn = b.rx != nil && b.rx.RxBy(offload.RxESPDecrypt) == offload.PerformSoftware
		if b.tx != nil && b.tx.TxBy(offload.TxESPEncrypt) == offload.PerformSoftware {
			b.espOut = c.ESP.Load(s.TxPort)
		}
		if b.espIn || len(b.espOut) > 0 || b.allowedBrought.Has(offload.TxESPEncrypt) {
			b.sas = c.SAs.Load()
		}
		if len(b.espOut) > 0 && !b.espOut[0].Dst.IsValid() {
			b.espAny = true
			if sa := b.sas.SA(b.espOut[0].SA); sa != nil && sa.Dir() == esp.Outbound {
				b.espAnySA = sa
			}
		}
	}
	s.loadDigest(b)
	s.loadClassify(b)
	if d := s.off.dos; d != nil {
		b.dos = dosEnabled(b.rx)
		b.dosObserve = d.peer != nil && dosEnabled(b.tx)
	}
}

// plain reports whether a burst of s needs no offload stage at all, so
// the engine's packets go straight out as without offloads: nothing in the
// stream's set-up asks for a stage (requests brought, a TAP's or vhost
// guest's headers, an engine making requests, assembly engines), and the
// ports' tables, the same ones as when the stream last looked, enable
// none (burstView.plain). A new table is then the only change to wait
// for: the stream builds its burst view once and judges again.
func (s *Stream) plain(e *Engine) bool {
	o := s.off
	t := o.cfg.Tables
	rx, tx := t.Load(s.RxPort), t.Load(s.TxPort)
	if rx != o.plainRx || tx != o.plainTx {
		o.plainRx, o.plainTx = rx, tx
		var b burstView
		s.loadBurst(&b)
		o.plainOK = !s.vnetRx && !o.cfg.LROAsRequest[s.RxPort] && !o.cfg.Requests[s.RxPort] && !e.OwnRequests && b.plain()
	}
	if !o.plainOK || o.gro != nil || o.reass != nil {
		return false
	}
	s.classifyAck()
	return true
}

// directOK reports whether a plain stream may go direct (pmd.Stream.Direct):
// C sends its bursts on as they came, so nothing of Go's may be owed to
// them: it is a whole stream (not a pipeline half), with no TAP headers
// to translate either way and no trace under way.
func (s *Stream) directOK() bool {
	return s.role == RoleWhole && !s.vnetRx && !s.vnetTx && !s.tracing
}

// plain reports whether the view enables no stage. Classification, ESP
// encryption and digest verification count as soon as a table enables
// them: their configuration (flow rules, ESP policies, digest settings)
// may be empty now and come later without a new table.
func (b *burstView) plain() bool {
	return !b.rxVerifyIP && !b.rxVerifyL4 && !b.gro && !b.reass && !b.espIn &&
		b.dig.brought == nil && b.dig.own == nil && !b.dos && !b.dosObserve &&
		!classifyEnabled(b.rx) && !classifyEnabled(b.tx) &&
		(b.rx == nil || b.rx.RxBy(offload.RxDigestVerify) != offload.PerformSoftware) &&
		(b.tx == nil || b.tx.TxBy(offload.TxESPEncrypt) != offload.PerformSoftware)
}

// requestOf reads a packet's TX request from its mbuf.
func (o *offloadState) requestOf(m *pmd.Mbuf) offload.Request {
	t := m.TxLengths()
	return offload.Request{
		OlFlags: m.OlFlags(), L2Len: t.L2, L3Len: t.L3, L4Len: t.L4, TSOSegsz: t.TSOSegsz,
		OuterL2Len: t.OuterL2, OuterL3Len: t.OuterL3,
		UFO: o.cfg.UFO.Mask() != 0 && o.cfg.UFO.Test(m), FixedID: o.cfg.FixedID.Mask() != 0 && o.cfg.FixedID.Test(m),
		Partial: o.cfg.Partial.Mask() != 0 && o.cfg.Partial.Test(m),
		Digest:  o.cfg.Digest.Test(m),
	}
}

// hasRequest reports whether m asks for any TX task.
func (o *offloadState) hasRequest(m *pmd.Mbuf) bool {
	f := m.OlFlags()
	return f&offload.OlTxOffloadMask != 0 || f&(o.cfg.UFO.Mask()|o.cfg.Digest.Mask()) != 0
}

// validate is stage 2: packets that brought TX requests are checked against
// the RX port's enabled table (what the sending side may ask for). A
// refused packet is dropped and counted; the rest stay in order.
func (s *Stream) validate(pkts []*pmd.Mbuf, b *burstView) []*pmd.Mbuf {
	o := s.off
	kept := 0
	for _, m := range pkts {
		if o.hasRequest(m) {
			r := o.requestOf(m)
			offload.Decode(&r, m.Data(), int(m.PktLen()), b.mtu, b.allowedBrought, b.hw, &o.batch)
			if s.tracing {
				s.traceBatch(m, StageValidate, false)
			}
			if s.refusedBatch(m) {
				continue
			}
		}
		pkts[kept] = m
		kept++
	}
	return pkts[:kept]
}

// refusedBatch drops m, counted under its reason and refused task, if the
// decoded batch refuses it.
func (s *Stream) refusedBatch(m *pmd.Mbuf) bool {
	why, st := s.off.batch.Refused()
	if why == offload.RefusalNone {
		return false
	}
	if st != nil {
		s.cnt.Inc(int(RefusedTask(st.Task)))
	}
	s.refuse(m, why, s.off.batch.Malformed)
	return true
}

func (s *Stream) refuse(m *pmd.Mbuf, why offload.Refusal, mal header.Malformed) {
	if why == offload.RefMalformed {
		s.dropCounted(m, Malformed(mal))
		return
	}
	s.dropCounted(m, Refused(why))
}

// verifyRx is stage 3: RX checksum verification in software, setting
// DPDK's RX_IP_CKSUM_* and RX_L4_CKSUM_* flags. Packets carrying TX
// requests are outgoing and not verified.
func (s *Stream) verifyRx(pkts []*pmd.Mbuf, b *burstView) {
	o := s.off
	for _, m := range pkts {
		if o.hasRequest(m) {
			continue
		}
		s.verifyOne(m, b.rxVerifyIP, b.rxVerifyL4, &o.layout)
	}
}

// verifyOne verifies m's checksums (the IPv4 header's if ip, the TCP or
// UDP one if l4), sets its RX flags and returns the L4 verdict. It parses
// the headers into l; l is left zero (no Layout) if they do not parse.
func (s *Stream) verifyOne(m *pmd.Mbuf, ip, l4 bool, l *header.Layout) checksum.Status {
	o := s.off
	bad := header.ParseHeadInto(m.Data(), int(m.PktLen()), l)
	if bad != header.OK {
		*l = header.Layout{}
	}
	f := m.OlFlags() &^ (offload.OlRxIPCksumMask | offload.OlRxL4CksumMask)
	st := checksum.Unknown
	if bad == header.OK && l.L3 == header.L3IPv4 && ip {
		if checksum.VerifyIPv4(header.IPv4(m.Data()[l.L3Off():])) == checksum.Good {
			f |= offload.OlRxIPCksumGood
			s.cnt.Inc(int(RxIPCksumGood))
		} else {
			f |= offload.OlRxIPCksumBad
			s.cnt.Inc(int(RxIPCksumBad))
		}
	}
	if bad == header.OK && l4 && l.L4Len > 0 {
		o.segs = m.SegViews(o.segs)
		switch st = checksum.VerifyL4(o.segs, l); st {
		case checksum.Good:
			f |= offload.OlRxL4CksumGood
			s.cnt.Inc(int(RxL4CksumGood))
		case checksum.Bad:
			f |= offload.OlRxL4CksumBad
			s.cnt.Inc(int(RxL4CksumBad))
		}
	}
	m.SetOlFlags(f)
	return st
}

// trusted is a checksum status taken on trust: Good unless RX found it
// bad.
func trusted(st checksum.Status) checksum.Status {
	if st == checksum.Unknown {
		return checksum.Good
	}
	return st
}

// l4Status is what the RX flags say of a packet's L4 checksum.
func l4Status(m *pmd.Mbuf) checksum.Status {
	switch m.OlFlags() & offload.OlRxL4CksumMask {
	case offload.OlRxL4CksumGood:
		return checksum.Good
	case offload.OlRxL4CksumBad:
		return checksum.Bad
	}
	return checksum.Unknown
}

// assemble is stage 4: reassembly and GRO. It may hold packets (they leave
// in a later burst or by timeout) and may return more packets than it was
// given (a flow's held packet flushed ahead of the new one); the result is
// written over the stream's RX array.
func (s *Stream) assemble(pkts []*pmd.Mbuf, b *burstView, now int64) []*pmd.Mbuf {
	o := s.off
	if err := s.ensureAssembly(b); err != nil {
		return pkts
	}
	if b.reass && o.reass != nil {
		pkts = s.runAssembly(pkts, now, false)
	}
	if b.gro && o.gro != nil {
		pkts = s.runAssembly(pkts, now, true)
	}
	return pkts
}

// groWanted is the GRO configuration the RX port's table asks for.
func (s *Stream) groWanted(b *burstView) assembly.GROConfig {
	cfg := s.off.cfg.GRO
	cfg.TCP = b.rx.RxBy(offload.RxTCPLRO) == offload.PerformSoftware
	cfg.UDP = b.rx.RxBy(offload.RxUDPGRO) == offload.PerformSoftware
	return cfg
}

// reassWanted is the reassembly configuration the RX port's table asks
// for.
func (s *Stream) reassWanted(b *burstView) assembly.ReassemblyConfig {
	cfg := s.off.cfg.Reassembly
	cfg.IPv4 = b.rx.RxBy(offload.RxIPv4Reassembly) == offload.PerformSoftware
	cfg.IPv6 = b.rx.RxBy(offload.RxIPv6Reassembly) == offload.PerformSoftware
	return cfg
}

// ensureAssembly creates the engines a port enables, the first time, and
// again when the port's table changes what they assemble (after
// retire let go of what the old ones held).
func (s *Stream) ensureAssembly(b *burstView) error {
	o := s.off
	var err error
	if b.gro && o.gro == nil {
		if o.gro, err = assembly.NewGRO(o.store, s.groWanted(b)); err != nil {
			return fmt.Errorf("stream %d: %w", s.ID, err)
		}
	}
	if b.reass && o.reass == nil {
		if o.reass, err = assembly.NewReassembler(o.store, s.reassWanted(b)); err != nil {
			return fmt.Errorf("stream %d: %w", s.ID, err)
		}
	}
	return nil
}

// retire lets go of the engines the RX port's table no longer asks for
// (or asks for differently) before the burst: GRO's held packets are
// sent on ahead of it, reassembly's fragments dropped as stopped. The
// next burst that wants them creates new ones.
func (s *Stream) retire(e *Engine, b *burstView) {
	o := s.off
	if o.reass != nil && (!b.reass || o.reass.Config() != s.reassWanted(b)) {
		o.reass.FlushAll()
		s.syncAssemblyStats()
		o.reass, o.lastRe = nil, assembly.ReassemblyStats{}
	}
	if o.gro != nil && (!b.gro || o.gro.Config() != s.groWanted(b)) {
		for {
			k := o.gro.FlushAll(o.out)
			s.syncAssemblyStats()
			if k == 0 {
				break
			}
			s.forward(e, s.assembled(o.out[:k]), b, false, false)
		}
		o.gro, o.lastGRO = nil, assembly.GROStats{}
	}
}

// runAssembly passes one burst through GRO (gro) or reassembly, then lets
// go of what has been held past the engine's timeout, so that a quiet flow
// leaves in time under steady traffic. Packets carrying TX requests go
// round the engine, ahead of its output. The result is in the stream's
// scratch array, not the RX array.
func (s *Stream) runAssembly(pkts []*pmd.Mbuf, now int64, gro bool) []*pmd.Mbuf {
	o := s.off
	dst := o.pkts
	n, bypass := 0, 0
	// GRO takes what RX did not verify on trust (--gro-no-verify, as
	// librte_gro), or verifies it first.
	trust := gro && o.cfg.GROTrustRx
	verify := gro && !o.cfg.GROTrustRx
	for _, m := range pkts {
		if o.hasRequest(m) {
			dst[bypass] = m // bypass <= index of m when pkts is dst: safe in place
			bypass++
			continue
		}
		// GRO need not check again an IPv4 header checksum RX found good.
		st, ip := l4Status(m), rxStatus(m.OlFlags()&offload.OlRxIPCksumMask, offload.OlRxIPCksumGood, offload.OlRxIPCksumBad)
		if trust {
			st, ip = trusted(st), trusted(ip)
		} else if verify && st == checksum.Unknown {
			// The Layout goes to GRO with the packet.
			o.in[n] = assembly.Input{Pkt: pmd.Handle(m), IPCsum: ip, Parsed: true}
			st = s.verifyOne(m, false, true, &o.in[n].Layout)
			o.in[n].L4Csum = st
			n++
			continue
		}
		o.in[n] = assembly.Input{Pkt: pmd.Handle(m), L4Csum: st, IPCsum: ip}
		n++
	}
	var k int
	if gro {
		k = o.gro.Receive(now, o.in[:n], o.verdict[:n], o.out)
		k += o.gro.Flush(now, o.out[k:])
	} else {
		k = o.reass.Receive(now, o.in[:n], o.verdict[:n], o.out)
		o.reass.Flush(now)
	}
	s.syncAssemblyStats()
	if s.tracing {
		s.traceAssembly(gro, n)
	}
	copy(dst[bypass:], s.assembled(o.out[:k]))
	return dst[:bypass+k]
}

// assembled marks the packets that left an assembly engine as DPDK would
// (a merged packet gets RX_LRO and its segment size in tso_segsz, and its
// L4 checksum is good) and returns them, in the stream's scratch array
// past its first BurstMax entries.
func (s *Stream) assembled(outs []assembly.Output) []*pmd.Mbuf {
	if s.tracing {
		s.traceAssembled(outs)
	}
	pkts := s.off.outPkts[:len(outs)]
	for i, out := range outs {
		m := pmd.HandleMbuf(out.Pkt)
		switch out.Kind {
		case assembly.KindTCPv4, assembly.KindTCPv6, assembly.KindUDPL4:
			f := m.OlFlags()&^offload.OlRxL4CksumMask | offload.OlRxLRO | offload.OlRxL4CksumGood
			m.SetOlFlags(f)
			m.SetTSOSegsz(out.SegSize)
		}
		pkts[i] = m
	}
	return pkts
}

// flushAssembly lets out what the engines hold past their timeouts (all of
// it when all is set); it returns at most len(o.out) packets, the rest
// leave at the next call.
func (s *Stream) flushAssembly(now int64, all bool) []*pmd.Mbuf {
	o := s.off
	k := 0
	if o.reass != nil {
		if all {
			o.reass.FlushAll()
		} else {
			o.reass.Flush(now)
		}
	}
	if o.gro != nil {
		if all {
			k = o.gro.FlushAll(o.out)
		} else {
			k = o.gro.Flush(now, o.out)
		}
	}
	s.syncAssemblyStats()
	return s.assembled(o.out[:k])
}

// syncAssemblyStats copies the engines' statistics (plain fields, this
// lcore their only writer) into the stream's counters, which the control
// plane may read at any time.
func (s *Stream) syncAssemblyStats() {
	o := s.off
	if o.gro != nil {
		st := o.gro.Stats()
		if st != o.lastGRO {
			s.cnt.Set(int(GROIn), st.In)
			s.cnt.Set(int(GROHeld), st.Held)
			s.cnt.Set(int(GROMerged), st.Merged)
			s.cnt.Set(int(GROOut), st.Out)
			for _, r := range assembly.Reasons() {
				s.cnt.Set(int(GROPassed(r)), st.Passed[r])
			}
			for _, f := range assembly.FlushReasons() {
				s.cnt.Set(int(GROFlushed(f)), st.Flushed[f])
			}
			o.lastGRO = st
		}
	}
	if o.reass != nil {
		st := o.reass.Stats()
		if st != o.lastRe {
			s.cnt.Set(int(ReassIn), st.In)
			s.cnt.Set(int(ReassHeld), st.Held)
			s.cnt.Set(int(ReassDone), st.Reassembled)
			s.cnt.Set(int(ReassJoined), st.Joined)
			for _, r := range assembly.Reasons() {
				s.cnt.Set(int(ReassPassed(r)), st.Passed[r])
				s.cnt.Set(int(ReassDropped(r)), st.Dropped[r])
				s.cnt.Set(int(ReassAborted(r)), st.Aborted[r])
			}
			o.lastRe = st
		}
	}
}

// txTasks is stage 6: each packet's TX request is decoded against the
// egress port (ownRequests: the engine made them, so the TX port's table
// says what is enabled; otherwise the RX port's, as in validate), tasks the
// device does are left to it, the rest done here: segmentation first, then
// checksums. The packets are then queued for TX in order: in place when
// none grew, through the TX array from the first that did.
func (s *Stream) txTasks(pkts []*pmd.Mbuf, b *burstView, ownRequests bool) {
	o := s.off
	allowed := b.allowedBrought
	if ownRequests {
		allowed = b.allowedOwn
	}
	// grown: packets go through the TX array, after what is there.
	grown, kept, toHW := !s.inPlace, 0, false
	tracing := s.tracing
	pkts, egress := s.classifyTx(pkts, b)
	for i, m := range pkts {
		allow, own := allowed, ownRequests
		if egress != nil && egress[i] {
			// An egress rule's tasks: the egress port's table allows them.
			allow, own = b.allowedOwn, true
		}
		sa, refused := s.espFor(m, b)
		if refused {
			continue
		}
		if b.guest && sa == nil && m.OlFlags()&offload.OlRxLRO != 0 && !o.hasRequest(m) {
			if made, gso := s.assembledToGuest(m, b); made {
				allow, own = b.allowedOwn, true
				if gso {
					s.cnt.Inc(int(GuestSuperFrames))
				}
			}
		}
		if !o.hasRequest(m) {
			switch {
			case sa != nil:
				// A policy's: the egress port enables encryption (or
				// loadBurst would have left espOut empty).
				s.espHold(m, sa)
			case grown:
				s.io.Send(m)
			default:
				pkts[kept] = m
				kept++
			}
			continue
		}
		r := o.requestOf(m)
		hw := b.hw
		if sa != nil {
			// Encryption last: the device may do nothing after it.
			hw = 0
		}
		offload.Decode(&r, m.Data(), int(m.PktLen()), b.mtu, allow, hw, &o.batch)
		quirk := false
		if sa == nil && b.quirks != 0 && o.batch.Refusal == offload.RefusalNone {
			if back := b.quirks.Spoils(&o.batch, int(r.TSOSegsz), b.mtu, s.oddPiece(m)); b.hw&back != 0 {
				offload.Decode(&r, m.Data(), int(m.PktLen()), b.mtu, allow, b.hw&^back, &o.batch)
				s.cnt.Inc(int(TasksQuirk))
				quirk = true
			}
		}
		if tracing {
			s.traceBatch(m, StageTx, quirk)
		}
		if s.refusedBatch(m) {
			continue
		}
		if r.Digest && !s.digestTx(m, b, own) {
			continue
		}
		if st := o.batch.Steps[0]; o.batch.N > 0 && isSeg(st.Task) && st.Verdict == offload.Software {
			if !grown {
				s.io.SendBurst(pkts[:kept])
				grown = true
			}
			o.esp.sa = sa
			s.segmentSW(m, &r, b)
			o.esp.sa = nil
			continue
		}
		if s.checksumSW(m, &r) {
			toHW = true
		}
		if sa != nil {
			s.espHold(m, sa)
			continue
		}
		if grown {
			s.io.Send(m)
		} else {
			pkts[kept] = m
			kept++
		}
	}
	s.io.SetTxPrepare(toHW)
	if !grown {
		s.io.SendRx(kept)
	}
	s.espFlush()
}

// oddPiece reports whether a piece of m's chain before the last holds an
// odd number of bytes past the first's L4 header start (as decoded).
func (s *Stream) oddPiece(m *pmd.Mbuf) bool {
	if m.NbSegs() < 2 {
		return false
	}
	o := s.off
	o.segs = m.SegViews(o.segs)
	skip := o.batch.Layout.L4Off()
	for _, p := range o.segs[:len(o.segs)-1] {
		n := len(p) - skip
		skip = max(skip-len(p), 0)
		if n > 0 && n%2 != 0 {
			return true
		}
	}
	return false
}

func isSeg(t offload.Task) bool {
	return t == offload.TaskTSO || t == offload.TaskUSO || t == offload.TaskUFO
}

// checksumSW performs the batch's software checksum steps on m (no
// segmentation), clears the flags of what it did, and reports whether
// tasks remain for the device.
func (s *Stream) checksumSW(m *pmd.Mbuf, r *offload.Request) (toHW bool) {
	o := s.off
	l := &o.batch.Layout
	f := m.OlFlags()
	for _, st := range o.batch.Tasks() {
		switch {
		case st.Verdict == offload.Hardware:
			toHW = true
			s.cnt.Inc(int(HardwareTask(st.Task)))
		case st.Task == offload.TaskIPv4Cksum:
			checksum.SetIPv4(header.IPv4(m.Data()[l.L3Off():]))
			f &^= offload.OlTxIPCksum
			s.cnt.Inc(int(SoftwareTask(st.Task)))
		case st.Task == offload.TaskL4Cksum:
			o.segs = m.SegViews(o.segs)
			if r.Partial {
				field := header.TCPChecksumOff
				if l.L4Proto == header.ProtoUDP {
					field = header.UDPChecksumOff
				}
				checksum.Complete(o.segs, l.L4Off(), field, l.PktLen)
			} else {
				checksum.SetL4(o.segs, l)
			}
			f &^= offload.OlTxL4Mask
			s.cnt.Inc(int(SoftwareTask(st.Task)))
		}
	}
	if !toHW {
		// Nothing left for the device: no flag may make it act again.
		f &^= offload.OlTxOffloadMask
	}
	m.SetOlFlags(f)
	if o.cfg.Partial.Mask() != 0 {
		o.cfg.Partial.Clear(m)
	}
	return toHW
}

// segmentSW cuts m into new packets (copied into spare mbufs), queues them
// for TX in order and frees m. Checksums the device does are left as
// pseudo-header sums with their flags set on every segment; the others are
// computed.
func (s *Stream) segmentSW(m *pmd.Mbuf, r *offload.Request, b *burstView) {
	o := s.off
	l := o.batch.Layout
	req := segment.Request{SegSize: int(r.TSOSegsz), MTU: b.mtu, FixedID: r.FixedID, IPv4Csum: segment.Software, L4Csum: segment.Software}
	var outFlags uint64
	for _, st := range o.batch.Tasks() {
		switch st.Task {
		case offload.TaskTSO:
			req.Kind = segment.TSO
		case offload.TaskUSO:
			req.Kind = segment.USO
		case offload.TaskUFO:
			req.Kind = segment.UFO
			req.L4Csum = segment.Keep
		case offload.TaskIPv4Cksum:
			if st.Verdict == offload.Hardware {
				req.IPv4Csum = segment.Offload
				outFlags |= offload.OlTxIPCksum
			}
		case offload.TaskL4Cksum:
			if st.Verdict == offload.Hardware && req.Kind != segment.UFO {
				req.L4Csum = segment.Offload
				outFlags |= r.OlFlags & offload.OlTxL4Mask
				if outFlags&offload.OlTxL4Mask == 0 { // segmentation implied it
					outFlags |= offload.OlTxTCPCksum
					if l.L4Proto == header.ProtoUDP {
						outFlags |= offload.OlTxUDPCksum
					}
				}
			}
		}
	}
	if req.Kind == segment.UFO && r.Partial {
		// The UDP checksum is over the whole datagram: complete it before
		// cutting, the fragments keep it.
		o.segs = m.SegViews(o.segs)
		checksum.Complete(o.segs, l.L4Off(), header.UDPChecksumOff, l.PktLen)
	}
	o.segs = m.SegViews(o.segs)
	job, why := segment.Prepare(o.segs, &l, &req)
	if why != segment.OK {
		s.dropCounted(m, DropSegRefused)
		return
	}
	n := job.Count()
	if s.io.Spares() < n && !s.io.RefillSpares(max(n, s.io.Spares())) {
		s.dropCounted(m, DropNoSpare)
		return
	}
	room := job.Seg(0).Len()
	for i := range n {
		mb := s.io.Spare()
		o.mbufs[i], o.bufs[i] = mb, mb.Room()
		if len(o.bufs[i]) < room {
			// The pool's mbufs cannot hold a segment: give them back.
			for _, x := range o.mbufs[:i+1] {
				s.io.Drop(x)
			}
			s.dropCounted(m, DropSegRefused)
			return
		}
	}
	if why := job.Frames(o.bufs[:n], o.segOut[:n]); why != segment.OK {
		for _, x := range o.mbufs[:n] {
			s.io.Drop(x)
		}
		s.dropCounted(m, DropSegRefused)
		return
	}
	ipFlag := offload.OlTxIPv4
	if l.L3 == header.L3IPv6 {
		ipFlag = offload.OlTxIPv6
	}
	for i, mb := range o.mbufs[:n] {
		sg := o.segOut[i]
		mb.SetFrame(sg.Len())
		mb.SetPort(m.Port())
		if outFlags != 0 {
			mb.SetOlFlags(outFlags | ipFlag)
			l4 := uint16(l.L4Len)
			if req.Kind == segment.UFO && i > 0 {
				l4 = 0
			}
			mb.SetL2L3L4(uint16(l.L2Len), uint16(sg.HdrLen-l.L2Len-int(l4)), l4)
		}
		if o.esp.sa != nil {
			s.espHold(mb, o.esp.sa)
			continue
		}
		s.io.Send(mb)
	}
	if s.tracing {
		s.traceSegmented(m, n)
	}
	s.io.Drop(m)
	s.cnt.Inc(int(SegInputs))
	s.cnt.Add(int(SegOutputs), uint64(n))
	for _, st := range o.batch.Tasks() {
		if st.Task == offload.TaskESPEncrypt {
			continue // counted per segment, as each is encrypted
		}
		if st.Verdict == offload.Software {
			s.cnt.Inc(int(SoftwareTask(st.Task)))
		} else {
			s.cnt.Inc(int(HardwareTask(st.Task)))
		}
	}
	if outFlags != 0 {
		s.io.SetTxPrepare(true)
	}
}
