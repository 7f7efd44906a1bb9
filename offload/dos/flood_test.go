package dos

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Wire offsets of the test's untagged IPv4/IPv6 packets, to rewrite
// templates in place (RFC 791, RFC 8200, RFC 9293).
const (
	offV4Src    = 14 + 12
	offV6Src    = 14 + 8
	offV4Sport  = 14 + 20
	offV4TCPSeq = 14 + 20 + 4
)

// TestSYNFloodSimulation: one source sends 1M SYN/s for two seconds while
// another opens connections (handshake, data, close) through the same
// Filter. Every legitimate packet passes; the flood is held to its SYN
// rate and counted as rate-syn.
func TestSYNFloodSimulation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seed = 1
	_, f := newTestFilter(t, cfg)
	flood := pk{src: "192.0.2.66", dst: "198.51.100.1", sport: 1, dport: 80, flags: fSYN, seq: 1}.build(t)
	const (
		floodPPS = 1_000_000
		seconds  = 2
		connGap  = 10 * time.Millisecond // a new legitimate connection every 10 ms
	)
	var floodPassed, legit, legitPassed int
	var burst [][]byte
	verdicts := make([]Reason, 64)
	nextConn := int64(0)
	port := uint16(20000)
	for now := int64(0); now < seconds*int64(time.Second); now += int64(time.Second) / floodPPS * 32 {
		// 32 flood SYNs per burst, from ever-changing ports.
		burst = burst[:0]
		for i := range 32 {
			p := flood // one buffer, rewritten in place: the Filter keeps no reference
			binary.BigEndian.PutUint16(p[offV4Sport:], uint16(now/1000+int64(i)))
			burst = append(burst, p)
			floodPassed += boolInt(f.Judge(p, len(p), now) == ReasonNone)
		}
		// The legitimate client's connection: handshake, 10 segments of
		// data, FIN, the server's SYN-ACK seen on the way back.
		if now >= nextConn {
			nextConn += int64(connGap)
			port++
			k := conn{c: "203.0.113.7", s: "198.51.100.1", cport: port, sport: 80, isn: uint32(port) << 16, sisn: 42}
			pkts := [][]byte{k.syn(t), k.synAck(t), k.ack(t, 0, 0, 0)}
			for i := range uint32(10) {
				pkts = append(pkts, k.ack(t, i*1000, 0, 1000))
			}
			pkts = append(pkts, k.seg(t, fFIN|fACK))
			n := f.JudgeBurst(pkts, nil, now, verdicts)
			legit += len(pkts)
			legitPassed += n
			if n != len(pkts) {
				t.Fatalf("at %v: legitimate connection %d: verdicts %v", time.Duration(now), port, verdicts[:len(pkts)])
			}
		}
	}
	st := f.Stats()
	checkSum(t, st)
	floodSent := seconds * floodPPS
	maxPass := int(cfg.SYN.Burst) + seconds*int(cfg.SYN.Rate)
	t.Logf("flood: %d sent, %d passed (bound %d), rate-syn %d; legitimate: %d of %d passed, established %d",
		floodSent, floodPassed, maxPass, st.Dropped[ReasonRateSYN], legitPassed, legit, st.Established)
	if floodPassed > maxPass || floodPassed < maxPass-10 {
		t.Fatalf("flood passed %d, want about %d", floodPassed, maxPass)
	}
	if st.Dropped[ReasonRateSYN] != uint64(floodSent-floodPassed) {
		t.Fatalf("rate-syn %d, want %d", st.Dropped[ReasonRateSYN], floodSent-floodPassed)
	}
	if !f.Established(netip.MustParseAddr("203.0.113.7"), seconds*int64(time.Second)) {
		t.Fatal("the legitimate client is not established")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSpoofedSYNFlood: 1M SYN/s from random spoofed sources. The SYN
// budget holds what passes to its rate; a client established before the
// flood keeps connecting; the budget's drops make no table entries.
func TestSpoofedSYNFlood(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seed = 2
	cfg.RequireReturnPath = true
	_, f := newTestFilter(t, cfg)
	k := conn{c: "203.0.113.7", s: "198.51.100.1", cport: 1000, sport: 443, isn: 5, sisn: 6}
	judge(t, f, k.syn(t), 0, ReasonNone)
	judge(t, f, k.synAck(t), 0, ReasonNone)
	judge(t, f, k.ack(t, 0, 0, 0), 0, ReasonNone)

	r := rand.New(rand.NewPCG(3, 4))
	flood := pk{src: "192.0.2.66", dst: "198.51.100.1", sport: 1, dport: 80, flags: fSYN, seq: 1}.build(t)
	const floodPPS, seconds = 1_000_000, 1
	floodPassed := 0
	step := int64(time.Second) / floodPPS
	for i := range floodPPS * seconds {
		now := int64(time.Millisecond) + int64(i)*step
		binary.BigEndian.PutUint32(flood[offV4Src:], r.Uint32())
		binary.BigEndian.PutUint32(flood[offV4TCPSeq:], r.Uint32())
		floodPassed += boolInt(f.Judge(flood, len(flood), now) == ReasonNone)
		if i%10_000 == 0 { // the established client: 100 new connections a second
			k.cport++
			for _, p := range [][]byte{k.syn(t), k.synAck(t), k.ack(t, 0, 0, 100)} {
				judge(t, f, p, now, ReasonNone)
			}
		}
	}
	st := f.Stats()
	checkSum(t, st)
	maxPass := int(cfg.SYNBudget.Burst) + seconds*int(cfg.SYNBudget.Rate)
	u := f.Usage()
	t.Logf("spoofed flood: %d passed (bound %d), syn-budget %d; %d sources, %d flows in use",
		floodPassed, maxPass, st.Dropped[ReasonSYNBudget], u.Sources, u.Flows)
	if floodPassed > maxPass {
		t.Fatalf("flood passed %d, over the budget's %d", floodPassed, maxPass)
	}
	if st.Dropped[ReasonSYNBudget] < uint64(floodPPS*seconds-maxPass) {
		t.Fatalf("syn-budget %d", st.Dropped[ReasonSYNBudget])
	}
	// The spoofed sources never answer a SYN-ACK: none is established.
	if st.Established != 1+uint64(floodPPS*seconds/10_000) {
		t.Fatalf("established %d", st.Established)
	}
}

// TestSpoofedFloodMemory: a million packets from random sources (IPv4 and
// IPv6, SYN, ACK, UDP, fragments) allocate nothing: the tables stay at
// the size they were made with.
func TestSpoofedFloodMemory(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UDP = Rate{Rate: 100, Burst: 100}
	cfg.MaxConnections = 10
	var m0, m1, m2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	_, f := newTestFilter(t, cfg)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	tmpl := [][]byte{
		pk{src: "192.0.2.1", dst: "198.51.100.1", sport: 1, dport: 80, flags: fSYN}.build(t),
		pk{src: "192.0.2.1", dst: "198.51.100.1", sport: 1, dport: 80, flags: fACK, payload: 100}.build(t),
		pk{src: "192.0.2.1", dst: "198.51.100.1", proto: layers.IPProtocolUDP, sport: 1, dport: 53}.build(t),
		pk{src: "2001:db8::1", dst: "2001:db8:1::1", sport: 1, dport: 80, flags: fSYN}.build(t),
		pk{src: "2001:db8::1", dst: "2001:db8:1::1", proto: layers.IPProtocolUDP, sport: 1, dport: 53}.build(t),
		frag4(t, 1, 800, 800, true),
	}
	r := rand.New(rand.NewPCG(5, 6))
	const n = 1_000_000
	for i := range n {
		p := tmpl[i%len(tmpl)]
		if p[12] == 0x86 { // IPv6
			binary.BigEndian.PutUint64(p[offV6Src:], r.Uint64())
			binary.BigEndian.PutUint64(p[offV6Src+8:], r.Uint64())
		} else {
			binary.BigEndian.PutUint32(p[offV4Src:], r.Uint32())
		}
		f.Judge(p, len(p), int64(i)*1000)
	}
	runtime.GC()
	runtime.ReadMemStats(&m2)
	st, u := f.Stats(), f.Usage()
	checkSum(t, st)
	t.Logf("filter of %d sources, %d flows, %d fragments: %.1f MiB; after %d packets from random sources: heap %+d bytes, %d bytes allocated; usage %+v; evictions: %d sources, %d flows, %d fragments",
		u.SourcesCap, u.FlowsCap, u.FragmentsCap, float64(m1.HeapAlloc-m0.HeapAlloc)/(1<<20), n,
		int64(m2.HeapAlloc)-int64(m1.HeapAlloc), m2.TotalAlloc-m1.TotalAlloc, u,
		st.SourceEvictions, st.FlowEvictions, st.FragmentEvictions)
	if m2.TotalAlloc-m1.TotalAlloc > 64<<10 {
		t.Fatalf("%d bytes allocated judging", m2.TotalAlloc-m1.TotalAlloc)
	}
	if u.Sources > u.SourcesCap || u.Flows > u.FlowsCap || u.Fragments > u.FragmentsCap {
		t.Fatalf("usage %+v over capacity", u)
	}
	if st.SourceEvictions == 0 {
		t.Fatal("no source evicted: the flood did not fill the table")
	}
	runtime.KeepAlive(f)
}

// TestHeavyHittersSurviveSpray: with a small source table churned by a
// spray of one-packet sources, a rate-limited attacker keeps its empty
// bucket (the spray cannot refill it by evicting it) and an established
// heavy sender stays established.
func TestHeavyHittersSurviveSpray(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Seed = 9
	cfg.Sources = 256 // 32 sets of 8
	cfg.SYN = Rate{Rate: 100, Burst: 100}
	cfg.UDP = Rate{Rate: 1000, Burst: 1000} // so that each spray packet needs an entry
	_, f := newTestFilter(t, cfg)
	good := conn{c: "203.0.113.7", s: "198.51.100.1", cport: 1000, sport: 443, isn: 5, sisn: 6}
	judge(t, f, good.syn(t), 0, ReasonNone)
	judge(t, f, good.ack(t, 0, 0, 0), 0, ReasonNone)
	goodData := good.ack(t, 0, 0, 1000)
	attack := pk{src: "192.0.2.66", dst: "198.51.100.1", sport: 1, dport: 80, flags: fSYN, seq: 1}.build(t)
	spray := pk{src: "192.0.2.1", dst: "198.51.100.1", proto: layers.IPProtocolUDP, sport: 1, dport: 53}.build(t)
	r := rand.New(rand.NewPCG(7, 8))
	attackPassed := 0
	const seconds = 3
	for i := range seconds * 1_000_000 { // 1 µs steps
		now := int64(i) * 1000
		binary.BigEndian.PutUint32(spray[offV4Src:], r.Uint32())
		f.Judge(spray, len(spray), now)
		if i%100 == 0 { // the attacker: 10000 SYN/s
			attackPassed += boolInt(f.Judge(attack, len(attack), now) == ReasonNone)
		}
		if i%1000 == 0 { // the good sender: 1000 packets/s
			judge(t, f, goodData, now, ReasonNone)
		}
	}
	st := f.Stats()
	bound := int(cfg.SYN.Burst) + seconds*int(cfg.SYN.Rate)
	t.Logf("attacker: %d SYNs passed of %d (bound %d); source evictions %d", attackPassed, seconds*10_000, bound, st.SourceEvictions)
	if attackPassed > bound {
		t.Fatalf("attacker passed %d SYNs, over %d: its bucket was refilled by eviction", attackPassed, bound)
	}
	if st.SourceEvictions < seconds*900_000 {
		t.Fatalf("only %d evictions: the spray did not churn the table", st.SourceEvictions)
	}
	if !good.established(f, seconds*int64(time.Second)) {
		t.Fatal("the established heavy sender was evicted")
	}
}
