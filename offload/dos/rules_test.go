package dos

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	rs := Reasons()
	if len(rs) != NumReasons-1 {
		t.Fatalf("Reasons() has %d, want %d", len(rs), NumReasons-1)
	}
	for _, r := range rs {
		n := r.String()
		if n == "" || n == "unknown" || n == "none" || seen[n] || strings.ContainsAny(n, " _") {
			t.Errorf("reason %d: bad or repeated name %q", r, n)
		}
		seen[n] = true
	}
	if numReasons.String() != "unknown" {
		t.Error("out of range reason")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	for _, c := range []struct {
		field string
		set   func(*Config)
	}{
		{"ipv4_prefix_len", func(c *Config) { c.IPv4PrefixLen = 33 }},
		{"ipv4_prefix_len", func(c *Config) { c.IPv4PrefixLen = -1 }},
		{"ipv6_prefix_len", func(c *Config) { c.IPv6PrefixLen = 129 }},
		{"syn.rate", func(c *Config) { c.SYN.Rate = MaxRate + 1 }},
		{"syn.burst", func(c *Config) { c.SYN.Burst = 0 }},
		{"icmp.burst", func(c *Config) { c.ICMP.Burst = MaxBurst + 1 }},
		{"udp.burst", func(c *Config) { c.UDP = Rate{Rate: 5} }},
		{"total.rate", func(c *Config) { c.Total.Rate = 1 << 40 }},
		{"syn_budget.burst", func(c *Config) { c.SYNBudget.Burst = 0 }},
		{"max_connections", func(c *Config) { c.MaxConnections = 70000 }},
		{"max_half_open", func(c *Config) { c.MaxHalfOpen = -1 }},
		{"handshake_timeout", func(c *Config) { c.HandshakeTimeout = 0 }},
		{"flow_timeout", func(c *Config) { c.FlowTimeout = 48 * time.Hour }},
		{"established_ttl", func(c *Config) { c.EstablishedTTL = time.Millisecond }},
		{"fragment_timeout", func(c *Config) { c.FragmentTimeout = time.Hour }},
		{"sources", func(c *Config) { c.Sources = 7 }},
		{"flows", func(c *Config) { c.Flows = MaxTableSize + 1 }},
		{"fragments", func(c *Config) { c.Fragments = 0 }},
		{"allow[0]", func(c *Config) { c.Allow = []string{"10.0.0.1/8"} }},
		{"allow[1]", func(c *Config) { c.Allow = []string{"10.0.0.0/8", "bogus"} }},
		{"block[0]", func(c *Config) { c.Block = []string{"::ffff:10.0.0.0/104"} }},
		{"block[0]", func(c *Config) { c.Block = []string{"10.0.0.0/33"} }},
		{"block[1]", func(c *Config) { c.Allow = []string{"10.0.0.0/8"}; c.Block = []string{"1.0.0.0/8", "10.0.0.0/8"} }},
		{"block[1]", func(c *Config) { c.Block = []string{"2001:db8::/32", "2001:db8::/32"} }},
	} {
		cfg := DefaultConfig()
		c.set(&cfg)
		err := cfg.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) || ce.Field != c.field {
			t.Errorf("%s: error %v, want one naming %s", c.field, err, c.field)
			continue
		}
		if _, err := NewControl(cfg); err == nil {
			t.Errorf("%s: NewControl accepted it", c.field)
		}
		t.Logf("%v", err)
	}
	// A rate of 0 is no limit, whatever the burst.
	cfg := DefaultConfig()
	cfg.UDP = Rate{Rate: 0, Burst: 0}
	cfg.Allow = []string{"192.0.2.1", "2001:db8::1"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestHeaderRules: every stateless rule, on and off.
func TestHeaderRules(t *testing.T) {
	a, b := "192.0.2.1", "198.51.100.2"
	a6, b6 := "2001:db8::1", "2001:db8::2"
	tiny := make([]byte, 8) // eight bytes of a TCP header: ports and sequence number
	for _, c := range []struct {
		name string
		p    pk
		want Reason
		off  func(*Config)
	}{
		{"syn", pk{src: a, dst: b, sport: 1, dport: 80, flags: fSYN}, ReasonNone, nil},
		{"syn-ack", pk{src: a, dst: b, sport: 1, dport: 80, flags: fSYN | fACK}, ReasonNone, nil},
		{"ack", pk{src: a, dst: b, sport: 1, dport: 80, flags: fACK, payload: 10}, ReasonNone, nil},
		{"fin-ack", pk{src: a, dst: b, sport: 1, dport: 80, flags: fFIN | fACK}, ReasonNone, nil},
		{"rst", pk{src: a, dst: b, sport: 1, dport: 80, flags: fRST}, ReasonNone, nil},
		{"rst-ack", pk{src: a, dst: b, sport: 1, dport: 80, flags: fRST | fACK}, ReasonNone, nil},
		{"fin-psh-urg-ack", pk{src: a, dst: b, sport: 1, dport: 80, flags: fFIN | fPSH | fURG | fACK}, ReasonNone, nil},
		{"udp", pk{src: a, dst: b, proto: layers.IPProtocolUDP, sport: 53, dport: 53}, ReasonNone, nil},
		{"arp", pk{ether: layers.EthernetTypeARP}, ReasonNone, nil},
		{"null", pk{src: a, dst: b, sport: 1, dport: 80}, ReasonTCPNull, func(c *Config) { c.DropBadTCPFlags = false }},
		{"xmas", pk{src: a, dst: b, sport: 1, dport: 80, flags: fFIN | fPSH | fURG}, ReasonTCPXmas, func(c *Config) { c.DropBadTCPFlags = false }},
		{"xmas-all", pk{src: a, dst: b, sport: 1, dport: 80, flags: 0x3f &^ fACK}, ReasonTCPXmas, func(c *Config) { c.DropBadTCPFlags = false }},
		{"syn-fin", pk{src: a, dst: b, sport: 1, dport: 80, flags: fSYN | fFIN | fACK}, ReasonTCPSynFin, func(c *Config) { c.DropBadTCPFlags = false }},
		{"syn-rst", pk{src: a6, dst: b6, sport: 1, dport: 80, flags: fSYN | fRST}, ReasonTCPSynRst, func(c *Config) { c.DropBadTCPFlags = false }},
		{"fin", pk{src: a, dst: b, sport: 1, dport: 80, flags: fFIN}, ReasonTCPFinNoAck, func(c *Config) { c.DropBadTCPFlags = false }},
		{"land-tcp", pk{src: a, dst: a, sport: 139, dport: 139, flags: fSYN}, ReasonLand, func(c *Config) { c.DropLand = false }},
		{"land-udp6", pk{src: a6, dst: a6, proto: layers.IPProtocolUDP, sport: 7, dport: 7}, ReasonLand, func(c *Config) { c.DropLand = false }},
		{"same-addr-other-port", pk{src: a, dst: a, sport: 1, dport: 2, flags: fSYN}, ReasonNone, nil},
		{"tiny-tcp", pk{src: a, dst: b, frag: true, more: true, raw: tiny}, ReasonTinyFragment, nil},
		{"tiny-udp", pk{src: a, dst: b, proto: layers.IPProtocolUDP, frag: true, more: true, raw: tiny[:4]}, ReasonTinyFragment, nil},
		{"tiny-tcp6", pk{src: a6, dst: b6, frag: true, more: true, id: 9, raw: tiny}, ReasonTinyFragment, nil},
		{"frag-offset-one", pk{src: a, dst: b, frag: true, off: 8, more: true, raw: make([]byte, 16)}, ReasonFragOffsetOne, func(c *Config) { c.DropTinyFragments = false }},
		{"frag-offset-one-udp", pk{src: a, dst: b, proto: layers.IPProtocolUDP, frag: true, off: 8, raw: make([]byte, 16)}, ReasonNone, nil},
		{"frag-offset-one-v6", pk{src: a6, dst: b6, frag: true, off: 8, id: 3, raw: make([]byte, 16)}, ReasonFragOffsetOne, func(c *Config) { c.DropTinyFragments = false }},
		{"vlan-syn-fin", pk{src: a, dst: b, vlan: true, sport: 1, dport: 2, flags: fSYN | fFIN}, ReasonTCPSynFin, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, f := newTestFilter(t, testConfig())
			pkt := c.p.build(t)
			judge(t, f, pkt, 0, c.want)
			st := f.Stats()
			checkSum(t, st)
			if c.want != ReasonNone && st.Dropped[c.want] != 1 {
				t.Fatalf("counter %v = %d, want 1", c.want, st.Dropped[c.want])
			}
			if c.off != nil {
				cfg := testConfig()
				c.off(&cfg)
				_, f := newTestFilter(t, cfg)
				judge(t, f, pkt, 0, ReasonNone)
			}
		})
	}
	// A tiny first fragment with the rule off is malformed all the same:
	// its headers cannot be read.
	cfg := testConfig()
	cfg.DropTinyFragments = false
	_, f := newTestFilter(t, cfg)
	judge(t, f, pk{src: a, dst: b, frag: true, more: true, raw: tiny}.build(t), 0, ReasonMalformed)
}

func TestMalformed(t *testing.T) {
	_, f := newTestFilter(t, testConfig())
	p := pk{src: "192.0.2.1", dst: "192.0.2.2", sport: 1, dport: 2, flags: fACK, payload: 100}.build(t)
	judge(t, f, p[:20], 0, ReasonMalformed)                 // IPv4 header cut
	judge(t, f, p[:14+20+10], 0, ReasonMalformed)           // TCP header cut (not a fragment)
	judge(t, f, p[:10], 0, ReasonMalformed)                 // not even Ethernet
	if r := f.Judge(p, len(p)-1, 0); r != ReasonMalformed { // IP length past the packet
		t.Fatalf("short packet: %v", r)
	}
	checkSum(t, f.Stats())
}

// frag4 is fragment [off, off+n) of IPv4 datagram id from a to b.
func frag4(t testing.TB, id uint32, off, n int, more bool) []byte {
	return pk{src: "192.0.2.1", dst: "198.51.100.2", proto: layers.IPProtocolUDP, frag: true,
		id: id, off: off, more: more, raw: make([]byte, n)}.build(t)
}

func frag6(t testing.TB, id uint32, off, n int, more bool) []byte {
	return pk{src: "2001:db8::1", dst: "2001:db8::2", proto: layers.IPProtocolUDP, frag: true,
		id: id, off: off, more: more, raw: make([]byte, n)}.build(t)
}

func TestFragmentOverlap(t *testing.T) {
	for _, fr := range []func(testing.TB, uint32, int, int, bool) []byte{frag4, frag6} {
		_, f := newTestFilter(t, testConfig())
		// A datagram in order, then the same ID again: a new datagram.
		for round := range 2 {
			judge(t, f, fr(t, 1, 0, 800, true), ms(round), ReasonNone)
			judge(t, f, fr(t, 1, 800, 800, true), ms(round), ReasonNone)
			judge(t, f, fr(t, 1, 1600, 100, false), ms(round), ReasonNone)
		}
		// Out of order, with an overlap and a duplicate.
		judge(t, f, fr(t, 2, 1600, 100, false), 0, ReasonNone)
		judge(t, f, fr(t, 2, 0, 800, true), 0, ReasonNone)
		judge(t, f, fr(t, 2, 792, 16, true), 0, ReasonFragOverlap)  // teardrop: inside the first
		judge(t, f, fr(t, 2, 0, 800, true), 0, ReasonFragOverlap)   // a duplicate
		judge(t, f, fr(t, 2, 1592, 16, true), 0, ReasonFragOverlap) // into the last
		judge(t, f, fr(t, 2, 800, 800, true), 0, ReasonNone)        // the gap, exactly
		// Overlapping the first fragment's L4 header.
		judge(t, f, fr(t, 3, 0, 24, true), 0, ReasonNone)
		judge(t, f, fr(t, 3, 16, 64, true), 0, ReasonFragOverlap)
		// Another datagram with the same addresses: not confused.
		judge(t, f, fr(t, 4, 16, 64, true), 0, ReasonNone)
		// After the timeout a datagram starts over.
		judge(t, f, fr(t, 3, 16, 64, true), int64(DefaultFragmentTimeout)+1, ReasonNone)
		st := f.Stats()
		checkSum(t, st)
		if st.Dropped[ReasonFragOverlap] != 4 {
			t.Fatalf("overlaps %d, want 4", st.Dropped[ReasonFragOverlap])
		}
		cfg := testConfig()
		cfg.DropOverlappingFragments = false
		_, f = newTestFilter(t, cfg)
		judge(t, f, fr(t, 2, 0, 800, true), 0, ReasonNone)
		judge(t, f, fr(t, 2, 0, 800, true), 0, ReasonNone)
	}
}

// TestFragmentSpansFull: a datagram with more gaps than the tracker keeps
// spans still passes; the spans it kept still catch overlaps.
func TestFragmentSpansFull(t *testing.T) {
	_, f := newTestFilter(t, testConfig())
	for i := range 10 {
		judge(t, f, frag4(t, 5, 16*i*2, 16, true), 0, ReasonNone) // every other 16 bytes
	}
	judge(t, f, frag4(t, 5, 8, 16, true), 0, ReasonFragOverlap) // over the first span
	for i := range 10 {
		judge(t, f, frag4(t, 5, 16*(2*i+1), 16, i < 9), 0, ReasonNone) // the gaps, exactly
	}
}

func TestLists(t *testing.T) {
	cfg := testConfig()
	cfg.Block = []string{"192.0.2.0/24", "2001:db8::/32"}
	cfg.Allow = []string{"192.0.2.128/25", "2001:db8:aa::/48", "203.0.113.7"}
	cfg.SYN = Rate{Rate: 1, Burst: 1}
	_, f := newTestFilter(t, cfg)
	syn := func(src string, sport uint16) []byte {
		dst := "198.51.100.1"
		if strings.Contains(src, ":") {
			dst = "2001:db9::1"
		}
		return pk{src: src, dst: dst, sport: sport, dport: 80, flags: fSYN, seq: 1}.build(t)
	}
	judge(t, f, syn("192.0.2.1", 1), 0, ReasonBlocked)
	judge(t, f, syn("2001:db8::1", 1), 0, ReasonBlocked)
	for i := range 5 { // allowed: no SYN limit
		judge(t, f, syn("192.0.2.200", uint16(i+1)), 0, ReasonNone)
		judge(t, f, syn("2001:db8:aa::5", uint16(i+1)), 0, ReasonNone)
		judge(t, f, syn("203.0.113.7", uint16(i+1)), 0, ReasonNone)
	}
	judge(t, f, syn("203.0.113.8", 1), 0, ReasonNone)
	judge(t, f, syn("203.0.113.8", 2), 0, ReasonRateSYN)
	// Allowed sources still meet the header rules.
	judge(t, f, pk{src: "203.0.113.7", dst: "198.51.100.1", sport: 1, dport: 2, flags: fSYN | fFIN}.build(t), 0, ReasonTCPSynFin)
	st := f.Stats()
	checkSum(t, st)
	if st.Allowed != 15 || st.Dropped[ReasonBlocked] != 2 {
		t.Fatalf("allowed %d blocked %d", st.Allowed, st.Dropped[ReasonBlocked])
	}
	if u := f.Usage(); u.Sources != 1 {
		t.Fatalf("%d source entries; allowed sources take none", u.Sources)
	}
}

// TestRates: each class's bucket, the total bucket, refill, and prefix
// aggregation.
func TestRates(t *testing.T) {
	cfg := testConfig()
	cfg.SYN = Rate{Rate: 10, Burst: 3}
	cfg.SYNBudget = Rate{}
	cfg.IPv4PrefixLen = 24
	_, f := newTestFilter(t, cfg)
	syn := func(src string) []byte {
		return pk{src: src, dst: "198.51.100.1", sport: 1, dport: 80, flags: fSYN}.build(t)
	}
	// Three SYNs from three hosts of one /24, then the bucket is empty.
	judge(t, f, syn("192.0.2.1"), 0, ReasonNone)
	judge(t, f, syn("192.0.2.2"), 0, ReasonNone)
	judge(t, f, syn("192.0.2.3"), 0, ReasonNone)
	judge(t, f, syn("192.0.2.4"), 0, ReasonRateSYN)
	judge(t, f, syn("192.0.2.4"), ms(99), ReasonRateSYN)
	judge(t, f, syn("192.0.2.4"), ms(100), ReasonNone) // a token per 100 ms
	judge(t, f, syn("192.0.2.4"), ms(100), ReasonRateSYN)
	judge(t, f, syn("192.0.3.1"), 0, ReasonNone) // another /24 has its own
	if n := f.Stats().Dropped[ReasonRateSYN]; n != 3 {
		t.Fatalf("rate-syn %d, want 3", n)
	}

	cfg = testConfig()
	cfg.ICMP = Rate{Rate: 100, Burst: 2}
	cfg.UDP = Rate{Rate: 1000, Burst: 5}
	cfg.Total = Rate{Rate: 1000, Burst: 8}
	_, f = newTestFilter(t, cfg)
	src, dst := "192.0.2.9", "198.51.100.1"
	icmp := pk{src: src, dst: dst, proto: layers.IPProtocolICMPv4}.build(t)
	udp := pk{src: src, dst: dst, proto: layers.IPProtocolUDP, sport: 5, dport: 53}.build(t)
	ack := pk{src: src, dst: dst, sport: 5, dport: 80, flags: fACK}.build(t)
	udpFrag := pk{src: src, dst: dst, proto: layers.IPProtocolUDP, frag: true, off: 1480, raw: make([]byte, 8)}.build(t)
	judge(t, f, icmp, 0, ReasonNone)
	judge(t, f, icmp, 0, ReasonNone)
	judge(t, f, icmp, 0, ReasonRateICMP)
	for range 4 {
		judge(t, f, udp, 0, ReasonNone)
	}
	judge(t, f, udpFrag, 0, ReasonNone) // a later fragment counts as UDP
	judge(t, f, udp, 0, ReasonRateUDP)  // the class is checked first
	judge(t, f, ack, 0, ReasonNone)     // the eighth packet
	judge(t, f, ack, 0, ReasonRateTotal)
	judge(t, f, ack, ms(1), ReasonNone) // a token a millisecond
	judge(t, f, ack, ms(1), ReasonRateTotal)
	// A long idle refills to the burst, not beyond.
	for range 5 {
		judge(t, f, udp, ms(10_000), ReasonNone)
	}
	judge(t, f, udp, ms(10_000), ReasonRateUDP)
	st := f.Stats()
	checkSum(t, st)
	want := map[Reason]uint64{ReasonRateICMP: 1, ReasonRateTotal: 2, ReasonRateUDP: 2}
	for r, n := range want {
		if st.Dropped[r] != n {
			t.Errorf("%v: %d, want %d", r, st.Dropped[r], n)
		}
	}

	// IPv6 per /64: two addresses of one /64 share, another /64 does not.
	cfg.ICMP = Rate{Rate: 1, Burst: 1}
	_, f = newTestFilter(t, cfg)
	ping6 := func(src string) []byte {
		return pk{src: src, dst: "2001:db8:ffff::1", proto: layers.IPProtocolICMPv6}.build(t)
	}
	judge(t, f, ping6("2001:db8:0:1::1"), 0, ReasonNone)
	judge(t, f, ping6("2001:db8:0:1::2"), 0, ReasonRateICMP)
	judge(t, f, ping6("2001:db8:0:2::1"), 0, ReasonNone)
}

func TestNoStateWithoutLimits(t *testing.T) {
	cfg := testConfig()
	cfg.SYN, cfg.ICMP, cfg.SYNBudget = Rate{}, Rate{}, Rate{}
	_, f := newTestFilter(t, cfg)
	for i := range 100 {
		judge(t, f, pk{src: "192.0.2.1", dst: "198.51.100.1", sport: uint16(i), dport: 80, flags: fSYN}.build(t), 0, ReasonNone)
	}
	if u := f.Usage(); u.Sources != 0 || u.Flows != 0 {
		t.Fatalf("usage %+v without limits", u)
	}
}
