package dos

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// conn is one TCP connection's packets, client c to server s.
type conn struct {
	c, s         string
	cport, sport uint16
	isn, sisn    uint32
}

func (k conn) syn(t testing.TB) []byte {
	return pk{src: k.c, dst: k.s, sport: k.cport, dport: k.sport, flags: fSYN, seq: k.isn}.build(t)
}

func (k conn) synAck(t testing.TB) []byte {
	return pk{src: k.s, dst: k.c, sport: k.sport, dport: k.cport, flags: fSYN | fACK, seq: k.sisn, ack: k.isn + 1}.build(t)
}

// ack is a client segment after the handshake: data bytes sent before it
// and acked of the server's.
func (k conn) ack(t testing.TB, sent, acked uint32, payload int) []byte {
	return pk{src: k.c, dst: k.s, sport: k.cport, dport: k.sport, flags: fACK,
		seq: k.isn + 1 + sent, ack: k.sisn + 1 + acked, payload: payload}.build(t)
}

func (k conn) seg(t testing.TB, flags uint8) []byte {
	return pk{src: k.c, dst: k.s, sport: k.cport, dport: k.sport, flags: flags, seq: k.isn + 1, ack: k.sisn + 1}.build(t)
}

func (k conn) established(f *Filter, now int64) bool {
	return f.Established(netip.MustParseAddr(k.c), now)
}

func TestSYNBudget(t *testing.T) {
	cfg := testConfig()
	cfg.SYNBudget = Rate{Rate: 10, Burst: 5}
	_, f := newTestFilter(t, cfg)
	client := func(i int) conn {
		return conn{c: "192.0.2." + itoa(i), s: "198.51.100.1", cport: 40000, sport: 80, isn: 1000, sisn: 5000}
	}
	for i := range 5 {
		judge(t, f, client(i+1).syn(t), 0, ReasonNone)
	}
	judge(t, f, client(6).syn(t), 0, ReasonSYNBudget)
	judge(t, f, client(7).syn(t), 0, ReasonSYNBudget)
	if u := f.Usage(); u.Sources != 5 || u.Flows != 5 {
		t.Fatalf("usage %+v: the budget's drops must make no entries", u)
	}
	// Client 1 completes its handshake: its next SYNs do not need the
	// budget.
	judge(t, f, client(1).ack(t, 0, 0, 0), ms(1), ReasonNone)
	if !client(1).established(f, ms(1)) || f.Stats().Established != 1 {
		t.Fatal("client 1 not established")
	}
	for p := range uint16(20) {
		k := client(1)
		k.cport = 50000 + p
		judge(t, f, k.syn(t), ms(1), ReasonNone)
	}
	judge(t, f, client(2).syn(t), ms(1), ReasonSYNBudget) // a retransmission needs the budget too
	judge(t, f, client(6).syn(t), ms(100), ReasonNone)    // a token per 100 ms
	judge(t, f, client(7).syn(t), ms(100), ReasonSYNBudget)
	// The established history ends after EstablishedTTL.
	late := ms(1) + int64(DefaultEstablishedTTL) + 1
	if client(1).established(f, late) {
		t.Fatal("still established after the TTL")
	}
	st := f.Stats()
	checkSum(t, st)
	if st.Dropped[ReasonSYNBudget] != 4 {
		t.Fatalf("syn-budget %d, want 4", st.Dropped[ReasonSYNBudget])
	}
}

func itoa(i int) string {
	var b [8]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

func TestEstablish(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		k := conn{c: "192.0.2.1", s: "198.51.100.1", cport: 40000, sport: 443, isn: 0xfffffff0, sisn: 77}
		if v6 {
			k.c, k.s = "2001:db8:1::1", "2001:db8:2::1"
		}
		// Without the return path: the ACK after the SYN.
		cfg := testConfig()
		_, f := newTestFilter(t, cfg)
		judge(t, f, k.syn(t), 0, ReasonNone)
		judge(t, f, k.ack(t, 70000, 0, 0), ms(1), ReasonNone) // sequence number too far on
		if k.established(f, ms(1)) {
			t.Fatal("established by a segment outside the window")
		}
		judge(t, f, k.ack(t, 100, 0, 10), ms(2), ReasonNone) // the ISN wraps; data already sent
		if !k.established(f, ms(2)) {
			t.Fatal("not established by the ACK after the SYN")
		}
		if u := f.Usage(); u.Flows != 0 {
			t.Fatalf("%d flows left; without connection limits an established flow is not kept", u.Flows)
		}

		// Too late, or after RST: no.
		_, f = newTestFilter(t, cfg)
		judge(t, f, k.syn(t), 0, ReasonNone)
		judge(t, f, k.ack(t, 0, 0, 0), int64(DefaultHandshakeTimeout)+1, ReasonNone)
		if k.established(f, int64(DefaultHandshakeTimeout)+1) {
			t.Fatal("established after the handshake timeout")
		}
		_, f = newTestFilter(t, cfg)
		judge(t, f, k.syn(t), 0, ReasonNone)
		judge(t, f, k.seg(t, fRST|fACK), 0, ReasonNone)
		judge(t, f, k.ack(t, 0, 0, 0), 0, ReasonNone)
		if k.established(f, 0) {
			t.Fatal("established after RST")
		}

		// With the return path required.
		cfg.RequireReturnPath = true
		_, f = newTestFilter(t, cfg)
		judge(t, f, k.syn(t), 0, ReasonNone)
		judge(t, f, k.ack(t, 0, 0, 0), ms(1), ReasonNone)
		if k.established(f, ms(1)) {
			t.Fatal("established without the SYN-ACK")
		}
		// A SYN-ACK that does not answer the SYN is ignored.
		bad := k
		bad.isn++
		judge(t, f, bad.synAck(t), ms(1), ReasonNone)
		judge(t, f, k.ack(t, 0, 0, 0), ms(1), ReasonNone)
		if k.established(f, ms(1)) {
			t.Fatal("established by a SYN-ACK for another ISN")
		}
		judge(t, f, k.synAck(t), ms(2), ReasonNone) // the other direction, same Filter
		judge(t, f, k.ack(t, 0, 70000, 0), ms(3), ReasonNone)
		if k.established(f, ms(3)) {
			t.Fatal("established by an ACK outside the server's window")
		}
		judge(t, f, k.ack(t, 0, 0, 0), ms(3), ReasonNone)
		if !k.established(f, ms(3)) {
			t.Fatal("not established with the return path")
		}
		// Observe shows the SYN-ACK to a Filter that does not judge it.
		_, f = newTestFilter(t, cfg)
		k.cport++
		judge(t, f, k.syn(t), 0, ReasonNone)
		f.Observe(k.synAck(t), len(k.synAck(t)), ms(1))
		judge(t, f, k.ack(t, 0, 0, 0), ms(2), ReasonNone)
		if !k.established(f, ms(2)) {
			t.Fatal("not established with the SYN-ACK observed")
		}
		if st := f.Stats(); st.Established != 1 || st.In != 2 {
			t.Fatalf("stats %+v", st)
		}
	}
}

func TestConnLimits(t *testing.T) {
	cfg := testConfig()
	cfg.SYNBudget = Rate{}
	cfg.MaxConnections, cfg.MaxHalfOpen = 3, 2
	_, f := newTestFilter(t, cfg)
	k := func(port uint16) conn {
		return conn{c: "192.0.2.1", s: "198.51.100.1", cport: port, sport: 80, isn: uint32(port) * 1000, sisn: 9}
	}
	judge(t, f, k(1).syn(t), 0, ReasonNone)
	judge(t, f, k(2).syn(t), 0, ReasonNone)
	judge(t, f, k(3).syn(t), 0, ReasonHalfOpenLimit)
	judge(t, f, k(2).syn(t), 0, ReasonNone) // a retransmission is no new connection
	judge(t, f, k(1).ack(t, 0, 0, 0), ms(1), ReasonNone)
	judge(t, f, k(3).syn(t), ms(1), ReasonNone)
	judge(t, f, k(4).syn(t), ms(1), ReasonConnLimit)
	judge(t, f, k(1).seg(t, fFIN|fACK), ms(2), ReasonNone) // the client closes
	judge(t, f, k(4).syn(t), ms(2), ReasonHalfOpenLimit)   // 2 and 3 half-open
	for _, p := range []uint16{2, 3} {
		judge(t, f, k(p).ack(t, 0, 0, 0), ms(3), ReasonNone)
	}
	judge(t, f, k(4).syn(t), ms(3), ReasonNone)
	judge(t, f, k(5).syn(t), ms(3), ReasonConnLimit) // 2, 3 established, 4 half-open
	// Half-open flows expire; Maintain uncounts them without a newcomer.
	now := ms(3) + int64(DefaultHandshakeTimeout) + 1
	f.Maintain(now)
	judge(t, f, k(5).syn(t), now, ReasonNone)
	judge(t, f, k(6).syn(t), now, ReasonConnLimit)
	// Established flows expire when idle; traffic keeps them.
	for now2 := now; now2 < now+int64(DefaultFlowTimeout)+int64(time.Minute); now2 += int64(time.Minute) {
		judge(t, f, k(2).ack(t, 0, 0, 10), now2, ReasonNone)
		f.Maintain(now2)
	}
	now += int64(DefaultFlowTimeout) + int64(time.Minute)
	f.Maintain(now)
	// 3 idle: expired; 5 half-open: expired; 2 kept alive.
	judge(t, f, k(6).syn(t), now, ReasonNone)
	judge(t, f, k(7).syn(t), now, ReasonNone)
	judge(t, f, k(8).syn(t), now, ReasonConnLimit)
	st := f.Stats()
	checkSum(t, st)
	if st.FlowsExpired != 3 {
		t.Fatalf("expired %d, want 3", st.FlowsExpired)
	}
}

func TestUpdate(t *testing.T) {
	cfg := testConfig()
	cfg.SYN = Rate{Rate: 1, Burst: 1}
	ctl, f := newTestFilter(t, cfg)
	k := conn{c: "192.0.2.1", s: "198.51.100.1", cport: 1, sport: 80}
	judge(t, f, k.syn(t), 0, ReasonNone)
	k.cport++
	judge(t, f, k.syn(t), 0, ReasonRateSYN)

	// A bad configuration changes nothing.
	bad := cfg
	bad.SYN.Burst = 0
	if err := ctl.Update(bad); err == nil || !strings.Contains(err.Error(), "syn.burst") {
		t.Fatalf("bad update: %v", err)
	}
	judge(t, f, k.syn(t), 0, ReasonRateSYN)

	// New rates apply to the state there is.
	cfg.SYN = Rate{Rate: 1, Burst: 2}
	cfg.Block = []string{"203.0.113.0/24"}
	cfg.Sources = 64
	if err := ctl.Update(cfg); err != nil {
		t.Fatal(err)
	}
	judge(t, f, k.syn(t), 0, ReasonNone)
	k.cport++
	judge(t, f, k.syn(t), 0, ReasonRateSYN)
	judge(t, f, pk{src: "203.0.113.5", dst: "198.51.100.1", sport: 1, dport: 2, flags: fACK}.build(t), 0, ReasonBlocked)
	if a, p, ok := ctl.Match(netip.MustParseAddr("203.0.113.5")); !ok || a != Block || p.String() != "203.0.113.0/24" {
		t.Fatalf("Match: %v %v %v", a, p, ok)
	}
	if got := ctl.Config(); got.SYN != cfg.SYN || len(got.Block) != 1 {
		t.Fatalf("Config: %+v", got)
	}
	// Sizes apply to new Filters.
	if u := f.Usage(); u.SourcesCap != 1024 {
		t.Fatalf("running filter resized to %d", u.SourcesCap)
	}
	if u := NewFilter(ctl).Usage(); u.SourcesCap != 64 {
		t.Fatalf("new filter has %d sources", u.SourcesCap)
	}

	// A new prefix length resets the state.
	cfg.IPv4PrefixLen = 24
	if err := ctl.Update(cfg); err != nil {
		t.Fatal(err)
	}
	judge(t, f, k.syn(t), 0, ReasonNone)
	if u := f.Usage(); u.Sources != 1 {
		t.Fatalf("%d sources after the reset", u.Sources)
	}
	// So does ResetState; the counters stay.
	k.cport++
	judge(t, f, k.syn(t), 0, ReasonNone)
	judge(t, f, k.syn(t), 0, ReasonRateSYN)
	ctl.ResetState()
	judge(t, f, k.syn(t), 0, ReasonNone)
	if st := f.Stats(); st.Dropped[ReasonRateSYN] != 4 {
		t.Fatalf("counters reset: %+v", st.Dropped)
	}
}

// TestNoAllocs: judging, a burst, Observe and Maintain allocate nothing.
func TestNoAllocs(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnections = 100
	cfg.UDP = Rate{Rate: 1000, Burst: 100}
	cfg.Total = Rate{Rate: 100000, Burst: 1000}
	cfg.Block = []string{"203.0.113.0/24", "2001:db8:dead::/48"}
	cfg.Allow = []string{"203.0.113.128/25"}
	_, f := newTestFilter(t, cfg)
	pkts := mixedPackets(t)
	var now int64
	if n := testing.AllocsPerRun(100, func() {
		now += 1000
		for _, p := range pkts {
			f.Judge(p, len(p), now)
		}
	}); n != 0 {
		t.Fatalf("Judge: %v allocations per run", n)
	}
	v := make([]Reason, len(pkts))
	if n := testing.AllocsPerRun(100, func() {
		now += 1000
		f.JudgeBurst(pkts, nil, now, v)
		f.Observe(pkts[1], len(pkts[1]), now)
		f.Maintain(now)
	}); n != 0 {
		t.Fatalf("JudgeBurst: %v allocations per run", n)
	}
}

// mixedPackets is a realistic mix: mostly TCP data and ACKs, some UDP,
// handshakes, ICMP, IPv6, fragments, a bad one.
func mixedPackets(t testing.TB) [][]byte {
	var ps [][]byte
	for i := range 8 {
		k := conn{c: "192.0.2." + itoa(1+i), s: "198.51.100.1", cport: uint16(30000 + i), sport: 443, isn: 1, sisn: 2}
		ps = append(ps, k.ack(t, 0, 0, 1400), k.ack(t, 1400, 0, 1400), k.ack(t, 2800, 0, 0))
	}
	k := conn{c: "192.0.2.50", s: "198.51.100.1", cport: 1234, sport: 80, isn: 7, sisn: 8}
	k6 := conn{c: "2001:db8:1::5", s: "2001:db8:2::1", cport: 999, sport: 443, isn: 3, sisn: 4}
	ps = append(ps,
		k.syn(t), k.synAck(t), k.ack(t, 0, 0, 0),
		k6.syn(t), k6.ack(t, 0, 0, 1200),
		pk{src: "192.0.2.60", dst: "198.51.100.1", proto: 17, sport: 5353, dport: 53, payload: 60}.build(t),
		pk{src: "2001:db8:1::9", dst: "2001:db8:2::1", proto: 17, sport: 443, dport: 443, payload: 1200}.build(t),
		pk{src: "192.0.2.61", dst: "198.51.100.1", proto: 1}.build(t),
		pk{src: "203.0.113.9", dst: "198.51.100.1", flags: fACK, sport: 1, dport: 2}.build(t),
		pk{src: "203.0.113.200", dst: "198.51.100.1", flags: fACK, sport: 1, dport: 2}.build(t),
		frag4(t, 1, 0, 800, true), frag4(t, 1, 800, 100, false),
		pk{src: "192.0.2.62", dst: "198.51.100.1", flags: fSYN | fFIN, sport: 1, dport: 2}.build(t),
	)
	return ps
}

// TestEstablishAfterEviction: the client's source entry is evicted
// between its SYN and its ACK; the ACK still establishes it, and its
// connection is counted in the new entry.
func TestEstablishAfterEviction(t *testing.T) {
	cfg := testConfig()
	cfg.Sources = 8 // one set
	cfg.MaxConnections = 1
	_, f := newTestFilter(t, cfg)
	k := conn{c: "192.0.2.1", s: "198.51.100.1", cport: 1000, sport: 80, isn: 10, sisn: 20}
	judge(t, f, k.syn(t), 0, ReasonNone)
	for i := range 8 { // eight sources heavier than the client
		other := conn{c: "198.18.0." + itoa(i+1), s: "198.51.100.1", cport: 1, sport: 80}
		judge(t, f, other.syn(t), ms(1), ReasonNone)
		judge(t, f, other.syn(t), ms(1), ReasonNone) // a retransmission
	}
	if f.Stats().SourceEvictions != 1 {
		t.Fatalf("evictions %d, want 1", f.Stats().SourceEvictions)
	}
	judge(t, f, k.ack(t, 0, 0, 0), ms(2), ReasonNone)
	if !k.established(f, ms(2)) {
		t.Fatal("not established after its entry was evicted")
	}
	k2 := k
	k2.cport++
	judge(t, f, k2.syn(t), ms(3), ReasonConnLimit)
}

// TestConcurrentUpdate: the control plane updates the rules while a
// Filter judges (run with -race).
func TestConcurrentUpdate(t *testing.T) {
	cfg := testConfig()
	ctl, f := newTestFilter(t, cfg)
	pkts := mixedPackets(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			c := cfg
			c.SYN.Rate = uint64(1 + i)
			c.IPv4PrefixLen = 24 + i%2
			if i%10 == 0 {
				c.Block = []string{"192.0.2.0/24"}
			}
			if err := ctl.Update(c); err != nil {
				t.Error(err)
				return
			}
			if i%50 == 0 {
				ctl.ResetState()
			}
			_ = ctl.Config()
		}
	}()
	v := make([]Reason, len(pkts))
	for now := int64(0); ; now += 1000 {
		f.JudgeBurst(pkts, nil, now, v)
		select {
		case <-done:
			checkSum(t, f.Stats())
			return
		default:
		}
	}
}
