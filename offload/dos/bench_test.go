package dos

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// The per-packet cost, as ns/pkt: go test -run '^$' -bench . ./offload/dos/

// benchBurst judges bursts of pkts (one burst per iteration, time moving
// on 100 ns a packet) and reports ns per packet.
func benchBurst(b *testing.B, cfg Config, pkts [][]byte, rewrite func(p []byte)) {
	_, f := newTestFilter(b, cfg)
	v := make([]Reason, len(pkts))
	now := int64(1)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if rewrite != nil {
			for _, p := range pkts {
				rewrite(p)
			}
		}
		f.JudgeBurst(pkts, nil, now, v)
		now += int64(len(pkts)) * 100
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pkts)), "ns/pkt")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkJudge: the realistic mix (mixedPackets: TCP data and ACKs of
// established clients, a handshake, IPv6, UDP, ICMP, fragments, a
// blocked and an allowed source, a bad flag combination) with the default
// rules, and with every feature on; established TCP only; and the two
// flood paths: spoofed SYNs over the budget, and a spray of new sources
// through a full table.
func BenchmarkJudge(b *testing.B) {
	all := DefaultConfig()
	all.Seed = 1
	all.MaxConnections, all.MaxHalfOpen = 100, 50
	all.UDP = Rate{Rate: 100000, Burst: 1000}
	all.Total = Rate{Rate: 1000000, Burst: 10000}
	all.Block = []string{"203.0.113.0/24", "2001:db8:dead::/48", "198.18.0.0/15"}
	all.Allow = []string{"203.0.113.128/25", "2001:db8:beef::/48"}
	def := DefaultConfig()
	def.Seed = 1

	b.Run("mix-defaults", func(b *testing.B) { benchBurst(b, def, mixedPackets(b), nil) })
	b.Run("mix-all-rules", func(b *testing.B) { benchBurst(b, all, mixedPackets(b), nil) })
	b.Run("tcp-established", func(b *testing.B) {
		var pkts [][]byte
		_, f := newTestFilter(b, all)
		for i := range 32 {
			k := conn{c: "192.0.2." + itoa(1+i%16), s: "198.51.100.1", cport: uint16(1000 + i), sport: 443, isn: 1, sisn: 2}
			f.Judge(k.syn(b), 60, 0)
			pkts = append(pkts, k.ack(b, uint32(i)*1400, 0, 1400))
		}
		benchBurst(b, all, pkts, nil)
	})
	r := rand.New(rand.NewPCG(1, 2))
	b.Run("spoofed-syn-flood", func(b *testing.B) {
		var pkts [][]byte
		for range 32 {
			pkts = append(pkts, pk{src: "192.0.2.1", dst: "198.51.100.1", sport: 1, dport: 80, flags: fSYN}.build(b))
		}
		benchBurst(b, all, pkts, func(p []byte) { binary.BigEndian.PutUint32(p[offV4Src:], r.Uint32()) })
	})
	b.Run("new-source-spray", func(b *testing.B) {
		var pkts [][]byte
		for range 32 {
			pkts = append(pkts, pk{src: "192.0.2.1", dst: "198.51.100.1", proto: layers.IPProtocolUDP, sport: 1, dport: 53}.build(b))
		}
		benchBurst(b, all, pkts, func(p []byte) { binary.BigEndian.PutUint32(p[offV4Src:], r.Uint32()) })
	})
}

// BenchmarkLPM: lookups in lists of 10000 random prefixes of every
// length, and (ipv6-5-lengths) of the five lengths IPv6 lists use.
func BenchmarkLPM(b *testing.B) {
	for _, name := range []string{"ipv4", "ipv6", "ipv6-5-lengths"} {
		v6 := name != "ipv4"
		b.Run(name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 4))
			allow, block, _ := randLists(r, 10000, v6)
			if name == "ipv6-5-lengths" {
				allow, block = nil, nil
				seen := map[string]bool{}
				for i := 0; len(seen) < 10000; i++ {
					p := netip.PrefixFrom(randAddr(r, true), []int{32, 48, 56, 64, 128}[i%5]).Masked().String()
					if seen[p] {
						continue
					}
					seen[p] = true
					if i%3 == 0 {
						allow = append(allow, p)
					} else {
						block = append(block, p)
					}
				}
			}
			es, err := parseLists(&Config{Allow: allow, Block: block})
			if err != nil {
				b.Fatal(err)
			}
			ls, err := buildLists(es)
			if err != nil {
				b.Fatal(err)
			}
			addrs := make([]netip.Addr, 1024)
			for i := range addrs {
				addrs[i] = randAddr(r, v6)
			}
			var k [1024][2]uint64
			for i, a := range addrs {
				s := a.AsSlice()
				if v6 {
					k[i] = [2]uint64{binary.BigEndian.Uint64(s), binary.BigEndian.Uint64(s[8:])}
				} else {
					k[i][1] = uint64(binary.BigEndian.Uint32(s))
				}
			}
			b.ResetTimer()
			var sink uint32
			for i := range b.N {
				a := &k[i&1023]
				if v6 {
					sink += ls.v6.lookup(a[0], a[1])
				} else {
					sink += ls.v4.lookup(uint32(a[1]))
				}
			}
			_ = sink
		})
	}
}
