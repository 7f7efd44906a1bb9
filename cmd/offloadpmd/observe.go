package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pipeline"
)

// Packet observation at the prompt: testpmd's `set verbose <n>` and
// offloadpmd's `trace <n>`. The lcores write records (pipeline.Record);
// the command goroutine drains and prints them (drainObserved). The
// settings live here, not in the forwarder, which each `start` rebuilds.

// observeState is the app's observation settings and printer.
type observeState struct {
	verbose int
	trace   int                // packets to trace once a forwarder exists
	obs     *pipeline.Observer // the current forwarder's
	rw      recordWriter
}

// setVerbose is testpmd's `set verbose <n>`: 0 off, 1 dump received
// packets, 2 sent packets, more both.
func (a *app) setVerbose(n int) error {
	st := &a.obsv
	if st.obs != nil {
		if err := st.obs.SetVerbose(n); err != nil {
			return err
		}
	} else if n < 0 || n > 255 {
		return fmt.Errorf("set verbose: level %d: want 0..255", n)
	}
	a.printf("Change verbose level from %d to %d\n", st.verbose, n)
	st.verbose = n
	return nil
}

// startTrace is `trace <n>`: follow the next n packets received (over
// every stream) through every stage; 0 cancels what has not started.
func (a *app) startTrace(n int) error {
	st := &a.obsv
	if n < 0 {
		return fmt.Errorf("trace: count %d: want 0 or more", n)
	}
	if st.obs != nil {
		if err := st.obs.Trace(n); err != nil {
			return err
		}
	}
	st.trace = n
	switch {
	case n == 0:
		a.printf("Trace cancelled\n")
	case a.fwd == nil || !a.fwd.Running():
		a.printf("Tracing the next %d packets received once forwarding starts\n", n)
	default:
		a.printf("Tracing the next %d packets received\n", n)
	}
	return nil
}

// drainObserved prints the records the lcores have written since the last
// call: verbose dumps and finished traces. Command goroutine only.
func (a *app) drainObserved() {
	st := &a.obsv
	if st.obs == nil {
		return
	}
	st.rw.w = a.out
	st.obs.Drain(st.rw.write)
}

// attachObserver hands the settings to a new forwarder's observer, after
// printing what the previous one still held; a trace not yet started
// carries over.
func (a *app) attachObserver() error {
	st := &a.obsv
	if st.obs != nil {
		a.drainObserved()
		st.trace = st.obs.TracePending()
	}
	st.obs = a.fwd.Observer()
	if err := st.obs.SetVerbose(st.verbose); err != nil {
		return err
	}
	if st.trace > 0 {
		return st.obs.Trace(st.trace)
	}
	return nil
}

// recordWriter prints records: verbose dumps as testpmd's dump_pkt_burst
// does (a "port P/queue Q: received N packets" line per burst, then two
// lines per packet), each followed by what offloadpmd adds (the other
// direction's flags, the tx_offload lengths, a decode by gopacket), and
// traces as a block per packet.
type recordWriter struct {
	w    io.Writer
	last burstKey
}

type burstKey struct {
	kind   pipeline.RecordKind
	stream int32
	seq    uint32
}

func (rw *recordWriter) write(r *pipeline.Record) {
	switch r.Kind {
	case pipeline.RecordReceived, pipeline.RecordSent:
		k := burstKey{r.Kind, r.Stream, r.BurstSeq}
		if k != rw.last {
			what := "received"
			if r.Kind == pipeline.RecordSent {
				what = "sent"
			}
			fmt.Fprintf(rw.w, "port %d/queue %d: %s %d packets\n", r.Port, r.Queue, what, r.Burst)
			rw.last = k
		}
		writePacket(rw.w, r, r.Kind == pipeline.RecordReceived)
	case pipeline.RecordTrace:
		rw.last = burstKey{}
		writeTrace(rw.w, r)
	}
}

// writeRecord prints one record on its own, with its burst line.
func writeRecord(w io.Writer, r *pipeline.Record) {
	rw := recordWriter{w: w}
	rw.write(r)
}

// writeTrace prints a traced packet as received, then each stage's
// decision.
func writeTrace(w io.Writer, r *pipeline.Record) {
	fmt.Fprintf(w, "trace %d: port %d/queue %d: received 1 packet\n", r.Trace, r.Port, r.Queue)
	writePacket(w, r, true)
	for _, e := range r.Events[:r.NEvents] {
		fmt.Fprintf(w, "  %-10s %s\n", e.Stage.String()+":", e)
	}
	if r.EventsLost {
		fmt.Fprintf(w, "  (more decisions than a record holds: some are missing)\n")
	}
}

// writePacket prints a packet's lines: testpmd's two, then ours.
func writePacket(w io.Writer, r *pipeline.Record, rx bool) {
	frame := r.Frame()
	var b strings.Builder
	if len(frame) >= 14 {
		fmt.Fprintf(&b, "  src=%s - dst=%s", etherAddr(frame[6:12]), etherAddr(frame[0:6]))
		fmt.Fprintf(&b, " - type=0x%04x", binary.BigEndian.Uint16(frame[12:14]))
	}
	fmt.Fprintf(&b, " - length=%d - nb_segs=%d", r.PktLen, r.NbSegs)
	if r.OlFlags&offload.OlRxRSSHash != 0 {
		fmt.Fprintf(&b, " - RSS hash=0x%x - RSS queue=0x%x", r.RSSHash, r.Queue)
	}
	if r.OlFlags&offload.OlRxVLAN != 0 {
		fmt.Fprintf(&b, " - VLAN tci=0x%x", r.VlanTCI)
	}
	for _, d := range []struct {
		bit  uint8
		name string
	}{{pipeline.DynUFO, "opmd_dynflag_tx_ufo"}, {pipeline.DynFixedID, "opmd_dynflag_tx_fixed_id"}, {pipeline.DynPartial, "opmd_dynflag_tx_partial_csum"}} {
		if r.Dyn&d.bit != 0 {
			fmt.Fprintf(&b, " - dynf %s: 1", d.name)
		}
	}
	if r.PacketType != 0 {
		fmt.Fprintf(&b, " - hw ptype: %s", ptypeName(r.PacketType))
	}
	pk := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.DecodeOptions{NoCopy: true})
	sw := softwarePtype(pk)
	fmt.Fprintf(&b, " - sw ptype: %s", ptypeName(sw.ptype))
	if sw.ptype&ptypeL2Mask != 0 {
		fmt.Fprintf(&b, " - l2_len=%d", sw.l2)
	}
	if sw.ptype&ptypeL3Mask != 0 {
		fmt.Fprintf(&b, " - l3_len=%d", sw.l3)
	}
	if sw.ptype&ptypeL4Mask != 0 && sw.ptype&ptypeL4Mask != ptypeL4Frag {
		fmt.Fprintf(&b, " - l4_len=%d", sw.l4)
	}
	dir := "Send"
	if rx {
		dir = "Receive"
	}
	fmt.Fprintf(&b, " - %s queue=0x%x\n", dir, r.Queue)
	// testpmd lists the RX flags of what it received, the TX flags of
	// what it sends; a received packet's TX requests and a sent packet's
	// RX flags are offloadpmd's business too.
	tx := offload.TxFlagList(r.OlFlags)
	if rx {
		fmt.Fprintf(&b, "  ol_flags: %s\n", offload.RxFlagList(r.OlFlags))
		if r.OlFlags&offload.OlTxOffloadMask != 0 {
			fmt.Fprintf(&b, "  tx request: %s\n", strings.TrimSpace(tx))
		}
	} else {
		fmt.Fprintf(&b, "  ol_flags: %s\n", tx)
		if f := r.OlFlags & (offload.OlRxIPCksumMask | offload.OlRxL4CksumMask | offload.OlRxLRO); f != 0 {
			fmt.Fprintf(&b, "  rx flags: %s\n", strings.TrimSpace(offload.RxFlagList(f)))
		}
	}
	if r.L2Len|r.L3Len|r.L4Len|r.TSOSegsz|r.OuterL2Len|r.OuterL3Len != 0 {
		fmt.Fprintf(&b, "  tx_offload: l2_len=%d l3_len=%d l4_len=%d tso_segsz=%d", r.L2Len, r.L3Len, r.L4Len, r.TSOSegsz)
		if r.OuterL2Len|r.OuterL3Len != 0 {
			fmt.Fprintf(&b, " outer_l2_len=%d outer_l3_len=%d", r.OuterL2Len, r.OuterL3Len)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "  decode: %s", decodeSummary(pk))
	if int(r.Captured) < int(r.PktLen) {
		fmt.Fprintf(&b, " (first %d of %d bytes kept)", r.Captured, r.PktLen)
	}
	b.WriteByte('\n')
	io.WriteString(w, b.String())
}

// etherAddr is rte_ether_format_addr's form: upper-case hex.
func etherAddr(b []byte) string {
	return strings.ToUpper(net.HardwareAddr(b).String())
}

// DPDK packet types (rte_mbuf_ptype.h): the L2, L3 and L4 fields.
const (
	ptypeL2Mask   uint32 = 0x0000000f
	ptypeL3Mask   uint32 = 0x000000f0
	ptypeL4Mask   uint32 = 0x00000f00
	ptypeTunMask  uint32 = 0x0000f000
	ptypeInL2Mask uint32 = 0x000f0000
	ptypeInL3Mask uint32 = 0x00f00000
	ptypeInL4Mask uint32 = 0x0f000000
	ptypeAllMask  uint32 = 0x0fffffff

	ptypeL2Ether     uint32 = 0x1
	ptypeL2EtherVLAN uint32 = 0x6
	ptypeL2EtherQinQ uint32 = 0x7
	ptypeL3IPv4      uint32 = 0x10
	ptypeL3IPv4Ext   uint32 = 0x30
	ptypeL3IPv6      uint32 = 0x40
	ptypeL3IPv6Ext   uint32 = 0xc0
	ptypeL4TCP       uint32 = 0x100
	ptypeL4UDP       uint32 = 0x200
	ptypeL4Frag      uint32 = 0x300
	ptypeL4SCTP      uint32 = 0x400
)

var (
	ptypeL2Names = map[uint32]string{0x1: "L2_ETHER", 0x2: "L2_ETHER_TIMESYNC", 0x3: "L2_ETHER_ARP", 0x4: "L2_ETHER_LLDP",
		0x5: "L2_ETHER_NSH", 0x6: "L2_ETHER_VLAN", 0x7: "L2_ETHER_QINQ", 0x8: "L2_ETHER_PPPOE", 0x9: "L2_ETHER_FCOE", 0xa: "L2_ETHER_MPLS"}
	ptypeL3Names = map[uint32]string{0x10: "L3_IPV4", 0x30: "L3_IPV4_EXT", 0x40: "L3_IPV6", 0x90: "L3_IPV4_EXT_UNKNOWN",
		0xc0: "L3_IPV6_EXT", 0xe0: "L3_IPV6_EXT_UNKNOWN"}
	ptypeL4Names = map[uint32]string{0x100: "L4_TCP", 0x200: "L4_UDP", 0x300: "L4_FRAG", 0x400: "L4_SCTP", 0x500: "L4_ICMP",
		0x600: "L4_NONFRAG", 0x700: "L4_IGMP"}
)

// ptypeName is rte_get_ptype_name's text (tunnel and inner types by
// field only).
func ptypeName(p uint32) string {
	if p&ptypeAllMask == 0 {
		return "UNKNOWN"
	}
	var b strings.Builder
	part := func(mask uint32, names map[uint32]string, unknown string) {
		if p&mask == 0 {
			return
		}
		n, ok := names[p&mask]
		if !ok {
			n = unknown
		}
		b.WriteString(n + " ")
	}
	part(ptypeL2Mask, ptypeL2Names, "L2_UNKNOWN")
	part(ptypeL3Mask, ptypeL3Names, "L3_UNKNOWN")
	part(ptypeL4Mask, ptypeL4Names, "L4_UNKNOWN")
	part(ptypeTunMask, nil, "TUNNEL")
	part(ptypeInL2Mask, nil, "INNER_L2")
	part(ptypeInL3Mask, nil, "INNER_L3")
	part(ptypeInL4Mask, nil, "INNER_L4")
	return b.String()
}

// swPtype is what rte_net_get_ptype finds in a frame: its packet type
// and header lengths.
type swPtype struct {
	ptype      uint32
	l2, l3, l4 int
}

// softwarePtype classifies a decoded frame as rte_net_get_ptype does:
// Ethernet with up to two VLAN tags, IPv4 (options: _EXT) or IPv6
// (extension headers: _EXT), then TCP, UDP, SCTP or a fragment.
func softwarePtype(pk gopacket.Packet) swPtype {
	var sw swPtype
	eth, _ := pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth == nil {
		return sw
	}
	sw.ptype, sw.l2 = ptypeL2Ether, 14
	vlans := 0
	for _, l := range pk.Layers() {
		if l.LayerType() == layers.LayerTypeDot1Q {
			vlans++
			sw.l2 += 4
		}
	}
	switch {
	case vlans == 1:
		sw.ptype = ptypeL2EtherVLAN
	case vlans >= 2:
		sw.ptype = ptypeL2EtherQinQ
	}
	frag := false
	var proto layers.IPProtocol
	switch {
	case pk.Layer(layers.LayerTypeIPv4) != nil:
		ip := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		sw.l3 = int(ip.IHL) * 4
		sw.ptype |= ptypeL3IPv4
		if ip.IHL > 5 {
			sw.ptype = sw.ptype&^ptypeL3Mask | ptypeL3IPv4Ext
		}
		frag = ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0
		proto = ip.Protocol
	case pk.Layer(layers.LayerTypeIPv6) != nil:
		sw.ptype |= ptypeL3IPv6
		sw.l3 = 40
		for _, l := range pk.Layers() {
			switch l.LayerType() {
			case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Destination:
				sw.ptype = sw.ptype&^ptypeL3Mask | ptypeL3IPv6Ext
				sw.l3 += len(l.LayerContents())
			case layers.LayerTypeIPv6Fragment:
				sw.ptype = sw.ptype&^ptypeL3Mask | ptypeL3IPv6Ext
				sw.l3 += len(l.LayerContents())
				frag = true
			}
		}
		proto = pk.Layer(layers.LayerTypeIPv6).(*layers.IPv6).NextHeader
	default:
		return sw
	}
	switch {
	case frag:
		sw.ptype |= ptypeL4Frag
	case proto == layers.IPProtocolTCP:
		sw.ptype |= ptypeL4TCP
		if t, ok := pk.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			sw.l4 = int(t.DataOffset) * 4
		} else {
			sw.l4 = 20
		}
	case proto == layers.IPProtocolUDP:
		sw.ptype, sw.l4 = sw.ptype|ptypeL4UDP, 8
	case proto == layers.IPProtocolSCTP:
		sw.ptype, sw.l4 = sw.ptype|ptypeL4SCTP, 12
	}
	return sw
}

// decodeSummary is one line of what gopacket decodes past Ethernet.
func decodeSummary(pk gopacket.Packet) string {
	var parts []string
	for _, l := range pk.Layers() {
		switch x := l.(type) {
		case *layers.Ethernet:
		case *layers.Dot1Q:
			parts = append(parts, fmt.Sprintf("VLAN %d prio %d", x.VLANIdentifier, x.Priority))
		case *layers.IPv4:
			s := fmt.Sprintf("IPv4 %s > %s len %d id %d ttl %d", x.SrcIP, x.DstIP, x.Length, x.Id, x.TTL)
			if x.Flags&layers.IPv4DontFragment != 0 {
				s += " DF"
			}
			if x.Flags&layers.IPv4MoreFragments != 0 || x.FragOffset != 0 {
				s += fmt.Sprintf(" frag %d", int(x.FragOffset)*8)
				if x.Flags&layers.IPv4MoreFragments != 0 {
					s += "+"
				}
			}
			parts = append(parts, s+fmt.Sprintf(" cksum 0x%04x", x.Checksum))
		case *layers.IPv6:
			parts = append(parts, fmt.Sprintf("IPv6 %s > %s len %d hlim %d next %s", x.SrcIP, x.DstIP, x.Length, x.HopLimit, x.NextHeader))
		case *layers.IPv6Fragment:
			s := fmt.Sprintf("IPv6-frag id %d off %d", x.Identification, int(x.FragmentOffset)*8)
			if x.MoreFragments {
				s += "+"
			}
			parts = append(parts, s)
		case *layers.TCP:
			parts = append(parts, fmt.Sprintf("TCP %d > %d seq %d ack %d [%s] win %d cksum 0x%04x",
				x.SrcPort, x.DstPort, x.Seq, x.Ack, tcpFlags(x), x.Window, x.Checksum))
		case *layers.UDP:
			parts = append(parts, fmt.Sprintf("UDP %d > %d len %d cksum 0x%04x", x.SrcPort, x.DstPort, x.Length, x.Checksum))
		case *layers.ICMPv4:
			parts = append(parts, "ICMPv4 "+x.TypeCode.String())
		case *layers.ICMPv6:
			parts = append(parts, "ICMPv6 "+x.TypeCode.String())
		case *gopacket.Payload:
			parts = append(parts, fmt.Sprintf("payload %d bytes", len(x.Payload())))
		case *gopacket.DecodeFailure:
			parts = append(parts, "undecoded: "+firstLine(x.Error().Error()))
		default:
			parts = append(parts, l.LayerType().String())
		}
	}
	if len(parts) == 0 {
		return "nothing past Ethernet"
	}
	return strings.Join(parts, " | ")
}

func tcpFlags(t *layers.TCP) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{t.SYN, "SYN"}, {t.FIN, "FIN"}, {t.RST, "RST"}, {t.PSH, "PSH"}, {t.ACK, "ACK"}, {t.URG, "URG"}, {t.ECE, "ECE"}, {t.CWR, "CWR"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, " ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
