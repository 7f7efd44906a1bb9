package classify

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	pfx4 = "flow create 0 ingress pattern "
	acts = " / end actions drop / end"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line  string
		check func(t *testing.T, c *Command)
	}{
		{"flow create 0 ingress pattern eth / ipv4 src is 10.0.0.1 dst spec 10.1.0.0 dst prefix 16 / tcp dst spec 1000 dst last 2000 / end actions queue index 3 / count / end",
			func(t *testing.T, c *Command) {
				r := c.Rule
				want := Pattern{Items: []ItemType{ItemEth, ItemIPv4, ItemTCP}, L3: L3IPv4, L4: 6}
				want.Conds[IPv4Src] = Cond{0x0a000001, 0x0a000001, 0xffffffff}
				want.Conds[IPv4Dst] = Cond{0x0a010000, 0x0a010000, 0xffff0000}
				want.Conds[TCPDst] = Cond{1000, 2000, 0xffff}
				if c.Op != OpCreate || c.Port != 0 || !r.Ingress || r.Egress || !reflect.DeepEqual(r.Pattern, want) {
					t.Errorf("got %+v %+v", c, r.Pattern)
				}
				if !reflect.DeepEqual(r.Actions, []Action{{Type: ActionQueue, Value: 3}, {Type: ActionCount}}) {
					t.Errorf("actions %+v", r.Actions)
				}
			}},
		{"flow validate 1 group 0 priority 7 egress pattern eth dst is 02:00:00:00:00:01 type is 0x86dd / ipv6 src spec 2001:db8:: src prefix 48 / udp src is 53 / end actions rss func toeplitz level 1 types ipv6-udp end queues 0 1 3 end / mark id 9 / end",
			func(t *testing.T, c *Command) {
				r := c.Rule
				if c.Op != OpValidate || c.Port != 1 || r.Priority != 7 || !r.Egress || r.Ingress {
					t.Errorf("got %+v", c)
				}
				p := r.Pattern
				if p.Conds[EthDst] != (Cond{0x020000000001, 0x020000000001, 0xffffffffffff}) || p.Conds[EthType].Lo != 0x86dd {
					t.Errorf("eth %+v %+v", p.Conds[EthDst], p.Conds[EthType])
				}
				if p.Conds[IPv6SrcHi] != (Cond{0x20010db800000000, 0x20010db800000000, 0xffffffffffff0000}) || !p.Conds[IPv6SrcLo].IsAny() {
					t.Errorf("ipv6 src %+v %+v", p.Conds[IPv6SrcHi], p.Conds[IPv6SrcLo])
				}
				rss := r.Actions[0].RSS
				if rss.Func != "toeplitz" || rss.Level != 1 || !slices.Equal(rss.Types, []string{"ipv6-udp"}) || !slices.Equal(rss.Queues, []uint16{0, 1, 3}) {
					t.Errorf("rss %+v", rss)
				}
			}},
		{"flow create 0 ingress pattern eth / vlan vid is 5 pcp spec 3 / ipv4 / icmp type is 8 / end actions esp sa 7 / digest alg crc32c / tso segsz 1448 / csum / end",
			func(t *testing.T, c *Command) {
				p := c.Rule.Pattern
				if !p.VLAN || p.Conds[VLANTCI] != (Cond{3<<13 | 5, 3<<13 | 5, 0xefff}) || p.Conds[ICMPType].Lo != 8 || p.L4 != 1 {
					t.Errorf("got %+v", p)
				}
				want := []Action{{Type: ActionESP, Value: 7}, {Type: ActionDigest, Alg: "crc32c"}, {Type: ActionTSO, Value: 1448}, {Type: ActionCsum}}
				if !reflect.DeepEqual(c.Rule.Actions, want) {
					t.Errorf("actions %+v", c.Rule.Actions)
				}
			}},
		// A value given with spec alone takes rte_flow's default mask of
		// the item (VLAN: the VID), or the whole field where rte_flow's
		// default would ignore it.
		{"flow create 0 ingress pattern vlan tci spec 0x2005 / ipv4 tos spec 4 / tcp flags spec 0x12 / end actions end",
			func(t *testing.T, c *Command) {
				p := c.Rule.Pattern
				if p.Conds[VLANTCI] != (Cond{5, 5, 0x0fff}) || p.Conds[IPv4TOS] != (Cond{4, 4, 0xff}) || p.Conds[TCPFlags] != (Cond{0x12, 0x12, 0xff}) {
					t.Errorf("got %+v %+v %+v", p.Conds[VLANTCI], p.Conds[IPv4TOS], p.Conds[TCPFlags])
				}
				if len(c.Rule.Actions) != 0 {
					t.Errorf("actions %+v", c.Rule.Actions)
				}
			}},
		// spec, last and mask: Lo and Hi are masked.
		{"flow create 0 ingress pattern udp dst spec 0x1234 dst last 0x2345 dst mask 0xff00 / end actions passthru / end",
			func(t *testing.T, c *Command) {
				if got := c.Rule.Pattern.Conds[UDPDst]; got != (Cond{0x1200, 0x2300, 0xff00}) {
					t.Errorf("got %+v", got)
				}
			}},
		{"flow create 0 ingress pattern end actions end", func(t *testing.T, c *Command) {
			if len(c.Rule.Pattern.Items) != 0 {
				t.Errorf("got %+v", c.Rule)
			}
		}},
		{"flow destroy 0 rule 1 rule 0x10", func(t *testing.T, c *Command) {
			if c.Op != OpDestroy || !slices.Equal(c.IDs, []RuleID{1, 16}) {
				t.Errorf("got %+v", c)
			}
		}},
		{"flow flush 3", func(t *testing.T, c *Command) {
			if c.Op != OpFlush || c.Port != 3 {
				t.Errorf("got %+v", c)
			}
		}},
		{"flow list 0", func(t *testing.T, c *Command) {
			if c.Op != OpList || c.Groups != nil {
				t.Errorf("got %+v", c)
			}
		}},
		{"  flow\tlist 2 group 1 group 4 ", func(t *testing.T, c *Command) {
			if c.Op != OpList || c.Port != 2 || !slices.Equal(c.Groups, []uint32{1, 4}) {
				t.Errorf("got %+v", c)
			}
		}},
		{"flow query 0 5 count", func(t *testing.T, c *Command) {
			if c.Op != OpQuery || !slices.Equal(c.IDs, []RuleID{5}) || c.Query != ActionCount {
				t.Errorf("got %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		c, err := ParseCommand(tt.line)
		if err != nil {
			t.Errorf("%s: %v", tt.line, err)
			continue
		}
		tt.check(t, &c)
		if c.Rule != nil {
			roundTrip(t, c.Rule)
		}
	}
}

// roundTrip checks that a rule's String parses back to the same rule.
func roundTrip(t *testing.T, r *Rule) {
	t.Helper()
	s := r.String()
	back, err := ParseRule(s)
	if err != nil {
		t.Fatalf("%q does not parse back: %v", s, err)
	}
	back.ID = r.ID
	if !reflect.DeepEqual(r, back) {
		t.Fatalf("%q parses back to\n%+v, not\n%+v", s, back, r)
	}
}

// TestParseErrors: every kind of mistake names its token and says what
// is wrong and what is allowed.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		line string
		pos  int
		msg  string // in the message
	}{
		// Command, port, attributes.
		{"", 1, "(end of line): missing flow; allowed: flow"},
		{"flwo create 0", 1, `"flwo": unknown command (did you mean "flow"?)`},
		{"flow", 2, "missing command; allowed: create, validate, destroy, flush, list, query"},
		{"flow crate 0", 2, `unknown command (did you mean "create"?)`},
		{"flow create", 3, "missing port; allowed: <port>"},
		{"flow create x ingress", 3, `"x": bad port: not an unsigned integer`},
		{"flow create 65536 ingress", 3, "bad port: does not fit in 16 bits"},
		{"flow create 0 ingres pattern", 4, `unknown attribute (did you mean "ingress"?)`},
		{"flow create 0 ingress ingress pattern", 5, "duplicate attribute ingress"},
		{"flow create 0 priority 1 priority 2 pattern", 6, "duplicate attribute priority"},
		{"flow create 0 priority -1 pattern", 5, "bad priority: not an unsigned integer"},
		{"flow create 0 group 4294967296 pattern", 5, "bad group: does not fit in 32 bits"},
		{"flow create 0 transfer pattern", 4, "transfer is not supported"},
		{"flow create 0 ingress", 5, "missing pattern"},
		// Items.
		{pfx4 + "eth / ipv5 / end actions end", 8, `"ipv5": unknown item (did you mean "ipv4"?); allowed: eth, vlan, ipv4, ipv6, tcp, udp, icmp, end`},
		{pfx4 + "eth / eth / end actions end", 8, "duplicate item eth"},
		{pfx4 + "vlan / vlan / end actions end", 8, "duplicate item vlan"},
		{pfx4 + "ipv4 / eth / end actions end", 8, "item eth cannot follow ipv4"},
		{pfx4 + "ipv4 / ipv6 / end actions end", 8, "item ipv6 cannot follow ipv4"},
		{pfx4 + "tcp / udp / end actions end", 8, "item udp cannot follow tcp"},
		{pfx4 + "ipv6 / icmp / end actions end", 8, "icmp matches ICMP for IPv4 and cannot follow ipv6"},
		{pfx4 + "ipv4 proto is 17 / tcp / end actions end", 11, "item tcp (protocol 6) contradicts ipv4 proto 17"},
		// Fields and modifiers.
		{pfx4 + "ipv4 srcc is 1.2.3.4 / end actions end", 7, `unknown field of ipv4 (did you mean "src"?); allowed: tos, ttl, proto, src, dst, /`},
		{pfx4 + "ipv4 packet_id is 3 / end actions end", 7, "field packet_id of ipv4 is not supported"},
		{pfx4 + "eth / ipv4 src", 10, "missing modifier after field src; allowed: is, spec, last, mask, prefix"},
		{pfx4 + "ipv4 src iss 1.2.3.4 / end actions end", 8, `unknown modifier (did you mean "is"?)`},
		{pfx4 + "ipv4 src is", 9, "missing value of field src; allowed: <IPv4 address>"},
		// Values.
		{pfx4 + "ipv4 src is 1.2.3 / end actions end", 9, "bad value of field src: not an IPv4 address"},
		{pfx4 + "ipv6 src is 1.2.3.4 / end actions end", 9, "bad value of field src: not an IPv6 address"},
		{pfx4 + "ipv6 dst is fe80::1%eth0 / end actions end", 9, "not an IPv6 address"},
		{pfx4 + "eth dst is 00:11 / end actions end", 9, "bad value of field dst: not a MAC address"},
		{pfx4 + "tcp dst is 70000 / end actions end", 9, "bad value of field dst: 70000 does not fit in 16 bits"},
		{pfx4 + "vlan vid is 4096 / end actions end", 9, "4096 does not fit in 12 bits"},
		{pfx4 + "udp src is x / end actions end", 9, "bad value of field src: not an unsigned integer; allowed: <unsigned integer>"},
		// Masks and prefixes.
		{pfx4 + "ipv4 src spec 1.2.3.4 src mask 255.0.0 / end actions end", 12, "bad mask of field src: not an IPv4 address"},
		{pfx4 + "tcp dst spec 1 dst mask 0x10000 / end actions end", 12, "bad mask of field dst: 0x10000 does not fit in 16 bits"},
		{pfx4 + "ipv4 src spec 1.2.3.4 src prefix 33 / end actions end", 12, "bad prefix length 33: field src has 32 bits; allowed: <prefix length 0-32>"},
		{pfx4 + "ipv6 src spec :: src prefix 129 / end actions end", 12, "bad prefix length 129: field src has 128 bits"},
		{pfx4 + "ipv4 src spec 1.2.3.4 src prefix x / end actions end", 12, "bad prefix length: not an unsigned integer"},
		{pfx4 + "ipv4 src spec 1.2.3.4 src prefix 8 src mask 255.0.0.0 / end actions end", 14, "mask conflicts with prefix of field src at token 11"},
		{pfx4 + "ipv4 src mask 255.0.0.0 / end actions end", 8, "mask of field src without spec"},
		// Ranges.
		{pfx4 + "tcp dst spec 100 dst last 50 / end actions end", 12, "range of field dst: last 50 is below spec 100"},
		{pfx4 + "tcp dst spec 0x1ff dst last 0x200 dst mask 0xff / end actions end", 12, "last is below spec under mask 0xff"},
		{pfx4 + "tcp dst last 50 / end actions end", 8, "last of field dst without spec"},
		{pfx4 + "ipv6 src spec :: src last ::1 / end actions end", 11, "ranges (last) of IPv6 addresses are not supported"},
		// Duplicates and conflicts within a field.
		{pfx4 + "tcp dst spec 1 dst spec 2 / end actions end", 11, "duplicate spec for field dst (first at token 8)"},
		{pfx4 + "tcp dst spec 1 dst is 2 / end actions end", 11, "is conflicts with spec of field dst at token 8"},
		{pfx4 + "tcp dst is 1 dst last 3 dst last 4 / end actions end", 14, "duplicate last for field dst"},
		{pfx4 + "vlan tci is 5 vid is 5 / end actions end", 10, "field vid overlaps another field of vlan given before"},
		// The end of the pattern.
		{pfx4 + "eth", 7, `missing "/" after item eth (the pattern ends with "/ end"); allowed: dst, src, type, /`},
		{pfx4 + "eth /", 8, `missing pattern items and "end"; allowed: eth, vlan`},
		{pfx4 + "eth / end", 9, "missing actions; allowed: actions"},
		{pfx4 + "eth / end drop / end", 9, "unknown token after the pattern; allowed: actions"},
		{pfx4 + "eth end actions end", 7, "unknown field of eth; allowed: dst, src, type, /"},
		// Actions.
		{pfx4 + "eth / end actions dorp / end", 10, `unknown action (did you mean "drop"?)`},
		{pfx4 + "eth / end actions queue index x / end", 12, "bad queue index: not an unsigned integer; allowed: <queue>"},
		{pfx4 + "eth / end actions queue index 65536 / end", 12, "bad queue index: does not fit in 16 bits"},
		{pfx4 + "eth / end actions mark idx 3 / end", 11, `unknown argument of mark (did you mean "id"?); allowed: id, /`},
		{pfx4 + "eth / end actions tso segsz 0 / end", 12, "bad segment size: below 1"},
		{pfx4 + "eth / end actions tso / end", 11, "unknown argument of tso; allowed: segsz"},
		{pfx4 + "eth / end actions esp sa -1 / end", 12, "bad security association"},
		{pfx4 + "eth / end actions esp", 11, "missing sa of esp; allowed: sa"},
		{pfx4 + "eth / end actions digest alg md5 / end", 12, "unknown digest algorithm; allowed: hmac-sha256, sha256, crc32c"},
		{pfx4 + "eth / end actions rss func foo / end", 12, "unknown RSS function"},
		{pfx4 + "eth / end actions rss types ipv4 ipv44 end / end", 13, `unknown RSS type (did you mean "ipv4"?)`},
		{pfx4 + "eth / end actions rss queues 0 x end / end", 13, "bad RSS queue: not an unsigned integer; allowed: end, <queue>"},
		{pfx4 + "eth / end actions rss queues 0 1", 14, `missing RSS queues and "end"`},
		{pfx4 + "eth / end actions rss queues 0 end queues 1 end / end", 14, "duplicate queues of rss (first at token 11)"},
		{pfx4 + "eth / end actions mark id 1 / mark id 2 / end", 14, "duplicate action mark (first at token 10)"},
		{pfx4 + "eth / end actions drop / queue index 1 / end", 12, "queue conflicts with drop at token 10: a rule has one fate"},
		{pfx4 + "eth / end actions drop / csum / end", 12, "csum conflicts with drop at token 10: a dropped packet takes no tasks"},
		{pfx4 + "eth / end actions esp sa 1 / drop / end", 14, "drop conflicts with esp at token 10: a dropped packet takes no tasks"},
		{pfx4 + "eth / end actions drop", 11, `missing "/" after action drop (the actions end with "/ end"); allowed: /`},
		{pfx4 + "eth / end actions drop /", 12, `missing actions and "end"`},
		{pfx4 + "eth / end actions drop / end extra", 13, "unexpected token after the end of the command"},
		// Destroy, list, query, flush.
		{"flow destroy 0", 4, "missing rule; allowed: rule"},
		{"flow destroy 0 rule x", 5, "bad rule id: not an unsigned integer; allowed: <rule id>"},
		{"flow destroy 0 rule 1 rul 2", 6, `unknown argument (did you mean "rule"?); allowed: rule`},
		{"flow list 0 group x", 5, "bad group"},
		{"flow list 0 grp 1", 4, `unknown argument (did you mean "group"?)`},
		{"flow query 0", 4, "missing rule id"},
		{"flow query 0 1 drop", 5, "unknown action to query; allowed: count"},
		{"flow flush 0 extra", 4, "unexpected token after the end of the command"},
	}
	for _, tt := range tests {
		_, err := ParseCommand(tt.line)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: error %v, want a SyntaxError", tt.line, err)
			continue
		}
		if se.Pos != tt.pos || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%q:\n got %v\nwant token %d, %q", tt.line, err, tt.pos, tt.msg)
			continue
		}
		// The position names the token (or the end of the line).
		toks := strings.Fields(tt.line)
		if se.Pos <= len(toks) {
			if se.Token != toks[se.Pos-1] || !strings.HasPrefix(tt.line[se.Col:], se.Token) {
				t.Errorf("%q: token %d is %q at %d", tt.line, se.Pos, se.Token, se.Col)
			}
		} else if se.Token != "" || se.Col != len(tt.line) {
			t.Errorf("%q: at the end, token %q at %d", tt.line, se.Token, se.Col)
		}
	}
}

func TestParseErrorText(t *testing.T) {
	_, err := ParseCommand("flow create 0 ingress pattern eth / ipv5 / end actions drop / end")
	want := `flow: token 8 "ipv5": unknown item (did you mean "ipv4"?); allowed: eth, vlan, ipv4, ipv6, tcp, udp, icmp, end`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	_, err = ParseCommand("flow create 0 ingress pattern eth / ipv4")
	want = `flow: token 9 (end of line): missing "/" after item ipv4 (the pattern ends with "/ end"); allowed: tos, ttl, proto, src, dst, /`
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestRuleText(t *testing.T) {
	c, err := ParseCommand("flow create 0 priority 2 ingress egress pattern eth / vlan vid is 5 / ipv4 src spec 10.0.0.0 src prefix 8 dst spec 1.2.3.4 dst mask 255.0.255.0 / tcp flags spec 0x02 flags mask 0x12 / end actions queue index 1 / count identifier 4 / end")
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rule
	r.ID = 12
	want := "priority 2 ingress egress pattern eth / vlan tci spec 0x5 tci mask 0xfff / ipv4 src spec 10.0.0.0 src prefix 8 dst spec 1.0.3.0 dst mask 255.0.255.0 / tcp flags spec 0x2 flags mask 0x12 / end actions queue index 1 / count identifier 4 / end"
	if got := r.String(); got != want {
		t.Errorf("String:\n got %s\nwant %s", got, want)
	}
	if got, want := r.ListLine(), "12\t0\t2\tie-\tETH VLAN IPV4 TCP => QUEUE COUNT"; got != want {
		t.Errorf("ListLine %q, want %q", got, want)
	}
	roundTrip(t, r)
}

func TestComplete(t *testing.T) {
	tests := []struct {
		line  string
		words []string
		value string
	}{
		{"", []string{"flow"}, ""},
		{"flow", commandWords, ""},
		{"flow create", nil, "<port>"},
		{"flow create 0", attrWords, ""},
		{"flow create 0 ingress pattern", []string{"eth", "vlan", "ipv4", "ipv6", "tcp", "udp", "icmp", "end"}, ""},
		{"flow create 0 ingress pattern eth /", []string{"eth", "vlan", "ipv4", "ipv6", "tcp", "udp", "icmp", "end"}, ""},
		{"flow create 0 ingress pattern eth / ipv4", []string{"tos", "ttl", "proto", "src", "dst", "/"}, ""},
		{"flow create 0 ingress pattern eth / ipv4 src", modifierWords, ""},
		{"flow create 0 ingress pattern eth / ipv4 src is", nil, "<IPv4 address>"},
		{"flow create 0 ingress pattern eth / ipv6 dst prefix", nil, "<prefix length 0-128>"},
		{"flow create 0 ingress pattern eth / ipv4 src is 1.2.3.4", []string{"tos", "ttl", "proto", "src", "dst", "/"}, ""},
		{"flow create 0 ingress pattern eth / end", []string{"actions"}, ""},
		{"flow create 0 ingress pattern eth / end actions", append(slices.Clone(actionWords), "end"), ""},
		{"flow create 0 ingress pattern eth / end actions rss", []string{"func", "level", "types", "queues", "/"}, ""},
		{"flow create 0 ingress pattern eth / end actions rss queues 1", []string{"end"}, "<queue>"},
		{"flow create 0 ingress pattern eth / end actions esp", []string{"sa"}, ""},
		{"flow create 0 ingress pattern eth / end actions drop / end", nil, ""},
		{"flow destroy 0 rule 3", []string{"rule"}, ""},
		{"flow list 0", []string{"group"}, ""},
		{"flow query 0 1", []string{"count"}, ""},
		// Already wrong: nothing to offer.
		{"flow create 0 ingress pattern eth / ipv5", nil, ""},
		{"flwo", nil, ""},
	}
	for _, tt := range tests {
		got := Complete(strings.Fields(tt.line))
		if !slices.Equal(got.Words, tt.words) || got.Value != tt.value {
			t.Errorf("%q: got %+v, want %v %q", tt.line, got, tt.words, tt.value)
		}
	}
}
