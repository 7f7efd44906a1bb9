package classify

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

func mustRule(t *testing.T, s string) *Rule {
	t.Helper()
	r, err := ParseRule(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func classifyOne(c *Classifier, k Key) RuleID {
	out := make([]RuleID, 1)
	c.Classify([]Key{k}, out)
	return out[0]
}

func TestSet(t *testing.T) {
	s := NewSet(nil)
	var k Key
	k.SetIPv4(0x0a000001, 0x0a000002, header.ProtoTCP, 1234, 80)
	if got := classifyOne(s.Classifier(), k); got != NoMatch {
		t.Fatalf("empty set matched %d", got)
	}
	add := func(line string) RuleID {
		t.Helper()
		id, c, err := s.Add(mustRule(t, line))
		if err != nil || c != s.Classifier() {
			t.Fatalf("%s: %v", line, err)
		}
		return id
	}
	// Precedence: lowest priority number, then first created.
	ids := []RuleID{
		add("priority 1 ingress pattern ipv4 / tcp / end actions drop / end"),
		add("priority 1 ingress pattern ipv4 dst is 10.0.0.2 / end actions queue index 1 / end"),
		add("priority 0 ingress pattern ipv4 src spec 10.0.0.0 src prefix 8 / tcp dst is 80 / end actions queue index 2 / end"),
	}
	if !slices.Equal(ids, []RuleID{0, 1, 2}) {
		t.Fatalf("IDs %v", ids)
	}
	if got := classifyOne(s.Classifier(), k); got != 2 {
		t.Fatalf("matched %d, want 2 (priority 0)", got)
	}
	old := s.Classifier()
	if gone, c := s.Remove(2, 7); !slices.Equal(gone, []RuleID{2}) || c == old {
		t.Fatalf("Remove: %v", gone)
	}
	if got := classifyOne(s.Classifier(), k); got != 0 {
		t.Fatalf("matched %d, want 0 (created before 1)", got)
	}
	if got := classifyOne(old, k); got != 2 {
		t.Fatalf("the old snapshot changed: %d", got)
	}
	// IDs follow testpmd: the newest rule's plus one.
	if id := add("ingress pattern eth / end actions end"); id != 2 {
		t.Fatalf("ID %d, want 2", id)
	}
	if id := add("group 0 ingress pattern eth / end actions end"); id != 3 {
		t.Fatalf("ID %d, want 3", id)
	}
	// Group 1 cannot be classified; a batch with a bad rule adds nothing.
	if _, _, err := s.Add(mustRule(t, "group 1 ingress pattern eth / end actions end")); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("group 1: %v", err)
	}
	if _, _, err := s.AddAll([]*Rule{mustRule(t, "ingress pattern eth / end actions end"), mustRule(t, "group 2 ingress pattern end actions end")}); err == nil || s.Len() != 4 {
		t.Fatalf("AddAll: %v, %d rules", err, s.Len())
	}
	var order []RuleID
	for _, r := range s.List() {
		order = append(order, r.ID)
	}
	if !slices.Equal(order, []RuleID{2, 3, 0, 1}) {
		t.Fatalf("List order %v, want priority 0 first, then by ID", order)
	}
	if r, ok := s.Rule(1); !ok || r.Actions[0].Value != 1 {
		t.Fatalf("Rule(1): %v %v", r, ok)
	}
	// The set owns copies: changing the parsed rule changes nothing.
	r := mustRule(t, "ingress pattern ipv4 / end actions rss queues 1 end / end")
	id, _, _ := s.Add(r)
	r.Actions[0].RSS.Queues[0] = 9
	if got, _ := s.Rule(id); got.Actions[0].RSS.Queues[0] != 1 {
		t.Fatal("the set shares the caller's rule")
	}
	s.Flush()
	if s.Len() != 0 || classifyOne(s.Classifier(), k) != NoMatch {
		t.Fatal("Flush left rules")
	}
	if id := add("ingress pattern end actions end"); id != 0 {
		t.Fatalf("ID after flush %d", id)
	}
}

// TestSwap: lcores classify with whatever snapshot the pointer holds while
// the control plane adds rules; every answer is one some snapshot gives.
func TestSwap(t *testing.T) {
	s := NewSet(nil)
	var cur atomic.Pointer[Classifier]
	cur.Store(s.Classifier())
	var k Key
	k.SetIPv4(0x0a000001, 0x0a000002, header.ProtoUDP, 1, 2)
	keys := []Key{k, k, k}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			out := make([]RuleID, len(keys))
			for {
				select {
				case <-stop:
					return
				default:
				}
				cur.Load().Classify(keys, out)
				for _, o := range out {
					if o != NoMatch && o > 50 {
						t.Errorf("matched %d", o)
						return
					}
				}
			}
		})
	}
	for i := range 50 {
		_, c, err := s.Add(mustRule(t, "ingress pattern ipv4 / udp dst spec 0 dst last "+strconv.Itoa(i)+" / end actions end"))
		if err != nil {
			t.Fatal(err)
		}
		cur.Store(c)
	}
	close(stop)
	wg.Wait()
	if got := classifyOne(cur.Load(), k); got != 2 {
		t.Fatalf("matched %d, want 2 (the first rule with dst 2)", got)
	}
}

// TestFromFrame: keys from frames built by gopacket, and rules matching
// them.
func TestFromFrame(t *testing.T) {
	mac1, _ := net.ParseMAC("02:00:00:00:00:01")
	mac2, _ := net.ParseMAC("02:00:00:00:00:02")
	eth := func(et layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: mac1, DstMAC: mac2, EthernetType: et}
	}
	ip4 := func(p layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, TOS: 0x10, Protocol: p, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{192, 168, 1, 2}}
	}
	tests := []struct {
		name   string
		layers func() []gopacket.SerializableLayer
		want   func(k *Key) bool
		rule   string
	}{
		{"vlan ipv4 tcp", func() []gopacket.SerializableLayer {
			ip := ip4(layers.IPProtocolTCP)
			tcp := &layers.TCP{SrcPort: 1234, DstPort: 80, SYN: true, Window: 1000}
			tcp.SetNetworkLayerForChecksum(ip)
			return []gopacket.SerializableLayer{eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{Priority: 3, VLANIdentifier: 5, Type: layers.EthernetTypeIPv4}, ip, tcp, gopacket.Payload("x")}
		}, func(k *Key) bool {
			return k.Tagged() && k.TCI() == 3<<13|5 && k.InnerType() == 0x0800 && k.Tuple[DimEtherType] == 0x8100 &&
				k.Tuple[DimSrc] == 0x0a000001 && k.Tuple[DimDst] == 0xc0a80102 && k.Proto() == 6 && k.HasL4() &&
				k.Tuple[DimSrcPort] == 1234 && k.Tuple[DimDstPort] == 80 && k.Tuple[DimTCPFlags] == header.TCPFlagSYN &&
				k.TOS() == 0x10 && k.TTL() == 64 && k.EthSrc == 0x020000000001 && k.EthDst == 0x020000000002
		}, "ingress pattern eth src is 02:00:00:00:00:01 / vlan vid is 5 pcp is 3 inner_type is 0x0800 / ipv4 src is 10.0.0.1 tos is 0x10 ttl is 64 / tcp dst is 80 flags spec 0x02 flags mask 0x02 / end actions end"},
		{"ipv6 udp", func() []gopacket.SerializableLayer {
			ip := &layers.IPv6{Version: 6, HopLimit: 9, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8:1::2")}
			udp := &layers.UDP{SrcPort: 53, DstPort: 5353}
			udp.SetNetworkLayerForChecksum(ip)
			return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv6), ip, udp, gopacket.Payload("xy")}
		}, func(k *Key) bool {
			return k.L3() == L3IPv6 && k.Src6() == [2]uint64{0x20010db800000000, 1} && k.Tuple[DimSrc] == 0x20010db8 &&
				k.Dst6() == [2]uint64{0x20010db800010000, 2} && k.Proto() == 17 && k.HasL4() && k.Tuple[DimDstPort] == 5353
		}, "ingress pattern ipv6 src is 2001:db8::1 dst spec 2001:db8:1:: dst prefix 48 / udp src is 53 / end actions end"},
		{"ipv4 icmp", func() []gopacket.SerializableLayer {
			return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, gopacket.Payload("ping")}
		}, func(k *Key) bool {
			return k.Proto() == 1 && k.HasL4() && k.Tuple[DimSrcPort] == 8 && k.Tuple[DimDstPort] == 0 && !k.Tagged()
		}, "ingress pattern ipv4 / icmp type is 8 code is 0 / end actions end"},
		{"ipv4 udp later fragment", func() []gopacket.SerializableLayer {
			ip := ip4(layers.IPProtocolUDP)
			ip.FragOffset = 100
			return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), ip, gopacket.Payload("12345678")}
		}, func(k *Key) bool {
			return k.Proto() == 17 && !k.HasL4() && k.Tuple[DimSrcPort] == 0
		}, "ingress pattern ipv4 proto is 17 / end actions end"},
		{"arp", func() []gopacket.SerializableLayer {
			return []gopacket.SerializableLayer{eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
				HwAddressSize: 6, ProtAddressSize: 4, Operation: 1, SourceHwAddress: mac1, SourceProtAddress: []byte{1, 2, 3, 4}, DstHwAddress: mac2, DstProtAddress: []byte{1, 2, 3, 5}}}
		}, func(k *Key) bool {
			return k.L3() == L3None && k.Tuple[DimEtherType] == 0x0806 && k.Tuple[DimProto] == 0
		}, "ingress pattern eth type is 0x0806 / end actions end"},
	}
	for _, tt := range tests {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, tt.layers()...); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		l, m := header.Parse(b)
		if m != header.OK {
			t.Fatalf("%s: %v", tt.name, m)
		}
		var k Key
		k.FromFrame(b, &l)
		if !tt.want(&k) {
			t.Errorf("%s: key %+v", tt.name, k)
		}
		// The rule matches the frame; an ipv4 rule does not match the
		// others.
		c := Compile([]*Rule{mustRule(t, tt.rule), mustRule(t, "ingress pattern ipv4 src is 10.9.9.9 / end actions end")}, nil)
		if got := classifyOne(c, k); got != 0 {
			t.Errorf("%s: %s matched %d", tt.name, tt.rule, got)
		}
		if a := testing.AllocsPerRun(100, func() { k.FromFrame(b, &l) }); a != 0 {
			t.Errorf("FromFrame: %v allocations", a)
		}
	}
}
