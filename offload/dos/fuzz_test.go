package dos

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// seedPackets are the fuzz target's seeds: one packet of every kind the
// rules look at.
func seedPackets(t testing.TB) [][]byte {
	k := conn{c: "192.0.2.1", s: "198.51.100.1", cport: 1000, sport: 80, isn: 1, sisn: 2}
	k6 := conn{c: "2001:db8::1", s: "2001:db8::2", cport: 1000, sport: 80, isn: 1, sisn: 2}
	return [][]byte{
		k.syn(t), k.synAck(t), k.ack(t, 0, 0, 0), k.seg(t, fFIN|fACK), k.seg(t, fRST),
		k6.syn(t), k6.synAck(t), k6.ack(t, 0, 0, 20),
		pk{src: "192.0.2.1", dst: "192.0.2.1", sport: 7, dport: 7, flags: fSYN}.build(t),
		pk{src: "192.0.2.1", dst: "198.51.100.1", sport: 7, dport: 8, flags: fFIN | fPSH | fURG}.build(t),
		pk{src: "192.0.2.1", dst: "198.51.100.1", proto: layers.IPProtocolUDP, sport: 7, dport: 53, payload: 30}.build(t),
		pk{src: "192.0.2.1", dst: "198.51.100.1", proto: layers.IPProtocolICMPv4}.build(t),
		pk{src: "2001:db8::1", dst: "2001:db8::2", proto: layers.IPProtocolICMPv6}.build(t),
		pk{src: "192.0.2.1", dst: "198.51.100.1", frag: true, more: true, raw: make([]byte, 8)}.build(t),
		pk{src: "192.0.2.1", dst: "198.51.100.1", frag: true, off: 8, raw: make([]byte, 16)}.build(t),
		frag4(t, 3, 0, 64, true), frag4(t, 3, 32, 64, false),
		frag6(t, 4, 0, 64, true), frag6(t, 4, 64, 64, false),
		pk{src: "192.0.2.1", dst: "198.51.100.1", vlan: true, sport: 1, dport: 2, flags: fSYN}.build(t),
		pk{ether: layers.EthernetTypeARP}.build(t),
	}
}

// FuzzJudge feeds arbitrary bytes to a Filter of every feature, as one
// packet judged several times (so that a SYN meets its own ACK-less
// retransmission and stateful paths run), as a packet whose length says
// it goes on in more segments, as a burst of its halves and as an observed
// packet. Nothing may panic, the counters must add up and the tables stay
// within their sizes.
func FuzzJudge(f *testing.F) {
	for i, p := range seedPackets(f) {
		f.Add(uint8(i), p)
	}
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		cfg := testConfig()
		cfg.Sources, cfg.Flows, cfg.Fragments = 16, 16, 4
		cfg.IPv4PrefixLen = []int{32, 24, 0, 31}[mode&3]
		cfg.IPv6PrefixLen = []int{64, 48, 128, 0}[mode>>2&3]
		cfg.RequireReturnPath = mode&16 != 0
		if mode&32 != 0 {
			cfg.MaxConnections, cfg.MaxHalfOpen = 2, 1
		}
		if mode&64 != 0 {
			cfg.UDP = Rate{Rate: 10, Burst: 2}
			cfg.Total = Rate{Rate: 100, Burst: 3}
			cfg.SYNBudget = Rate{Rate: 1, Burst: 1}
		}
		cfg.Block = []string{"192.0.2.128/25", "2001:db8:bad::/48", "10.0.0.0/8"}
		cfg.Allow = []string{"192.0.2.200", "10.1.0.0/16"}
		ctl, flt := newTestFilter(t, cfg)
		now := int64(mode) * 1000
		for range 3 {
			flt.Judge(data, len(data), now)
			now += 1e6
		}
		flt.Judge(data, len(data)+int(mode), now)
		flt.Judge(data, len(data)/2, now)
		flt.Observe(data, len(data), now)
		v := make([]Reason, 2)
		flt.JudgeBurst([][]byte{data[:len(data)/2], data}, nil, now, v)
		if mode&128 != 0 {
			ctl.ResetState()
		}
		flt.Maintain(now + int64(DefaultFlowTimeout))
		flt.Judge(data, len(data), now+int64(DefaultFlowTimeout))
		st, u := flt.Stats(), flt.Usage()
		checkSum(t, st)
		if st.In != 8 {
			t.Fatalf("in %d, want 8", st.In)
		}
		if u.Sources > u.SourcesCap || u.Flows > u.FlowsCap || u.Fragments > u.FragmentsCap ||
			u.Sources < 0 || u.Flows < 0 || u.Fragments < 0 {
			t.Fatalf("usage %+v", u)
		}
	})
}
