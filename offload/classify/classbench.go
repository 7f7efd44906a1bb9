package classify

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// ParseClassBench reads IPv4 5-tuple rules in the ClassBench format
// dpdk-test-acl reads (its --rulesf):
//
//	@10.1.0.0/16 192.168.1.0/24 0 : 65535 80 : 80 0x06/0xff
//
// source and destination prefixes, source and destination port ranges,
// and protocol/mask. Rule i (from 0) gets ID i and precedence over every
// later rule, as dpdk-test-acl gives rule n priority MAX-n. A protocol of
// 6 or 17 becomes a tcp or udp item; with any other protocol the port
// ranges still apply (to the port fields of whatever protocol, as in
// DPDK's ACL), which the flow syntax cannot write, so String shows such
// a rule without its ports.
func ParseClassBench(r io.Reader) ([]*Rule, error) {
	var rules []*Rule
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		rule, err := parseClassBenchRule(s)
		if err != nil {
			return nil, fmt.Errorf("classbench rules line %d: %w", line, err)
		}
		rule.ID = RuleID(len(rules))
		rules = append(rules, rule)
	}
	return rules, sc.Err()
}

func parseClassBenchRule(s string) (*Rule, error) {
	f := strings.Fields(strings.TrimPrefix(s, "@"))
	if len(f) < 9 || f[3] != ":" || f[6] != ":" {
		return nil, fmt.Errorf("%q: want \"@src/len dst/len sport : sport dport : dport proto/mask\"", s)
	}
	r := &Rule{Ingress: true}
	p := &r.Pattern
	p.Items, p.L3 = []ItemType{ItemIPv4}, L3IPv4
	for i, fld := range []Field{IPv4Src, IPv4Dst} {
		pfx, err := netip.ParsePrefix(f[i])
		if err != nil || !pfx.Addr().Is4() {
			return nil, fmt.Errorf("bad prefix %q", f[i])
		}
		m := uint64(maskOf(32, pfx.Bits()).lo)
		a := uint64(be.Uint32(pfx.Addr().AsSlice())) & m
		p.Conds[fld] = Cond{Lo: a, Hi: a, Mask: m}
	}
	var ports [4]uint64
	for i, j := range []int{2, 4, 5, 7} {
		n, err := strconv.ParseUint(f[j], 10, 16)
		if err != nil {
			return nil, fmt.Errorf("bad port %q", f[j])
		}
		ports[i] = n
	}
	pv, pm, ok := strings.Cut(f[8], "/")
	v, err1 := strconv.ParseUint(pv, 0, 8)
	m, err2 := strconv.ParseUint(pm, 0, 8)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bad protocol %q", f[8])
	}
	switch {
	case m == 0xff && (v == header.ProtoTCP || v == header.ProtoUDP):
		it := ItemTCP
		if v == header.ProtoUDP {
			it = ItemUDP
		}
		p.Items = append(p.Items, it)
		p.L4 = uint8(v)
	case m != 0:
		p.Conds[IPv4Proto] = Cond{Lo: v & m, Hi: v & m, Mask: m}
	}
	for i, fld := range []Field{TCPSrc, TCPDst} {
		lo, hi := ports[2*i], ports[2*i+1]
		if lo > hi {
			return nil, fmt.Errorf("bad port range %d : %d", lo, hi)
		}
		if p.L4 == header.ProtoUDP {
			fld += UDPSrc - TCPSrc
		}
		if lo != 0 || hi != 0xffff {
			p.Conds[fld] = Cond{Lo: lo, Hi: hi, Mask: 0xffff}
		}
	}
	return r, nil
}

// ParseClassBenchTrace reads a trace of IPv4 5-tuples as dpdk-test-acl
// reads it (its --tracef): "0x0a010203 0xc0a80101 1234 80 6" (source,
// destination, ports, protocol) per line.
func ParseClassBenchTrace(r io.Reader) ([]Key, error) {
	var keys []Key
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 5 {
			return nil, fmt.Errorf("classbench trace line %d: want 5 fields, have %d", line, len(f))
		}
		var v [5]uint64
		for i, bits := range []int{32, 32, 16, 16, 8} {
			n, err := strconv.ParseUint(f[i], 0, bits)
			if err != nil {
				return nil, fmt.Errorf("classbench trace line %d: field %d %q: %w", line, i+1, f[i], err)
			}
			v[i] = n
		}
		var k Key
		k.SetIPv4(uint32(v[0]), uint32(v[1]), uint8(v[4]), uint16(v[2]), uint16(v[3]))
		keys = append(keys, k)
	}
	return keys, sc.Err()
}
