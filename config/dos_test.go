package config

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload/dos"
)

const dosFile = `
ports:
  - devargs: net_null0
    offloads: {rx: [dos_filter]}
  - devargs: net_null1
dos:
  ipv4_prefix_len: 24
  ipv6_prefix_len: 48
  syn: {rate: 500, burst: 1000}
  icmp: {rate: 0}
  udp: {rate: 100000, burst: 200000}
  total: {rate: 1000000, burst: 2000000}
  syn_budget: {rate: 5000, burst: 10000}
  max_connections: 100
  max_half_open: 20
  handshake_timeout: 5s
  flow_timeout: 10m
  established_ttl: 2h
  fragment_timeout: 500ms
  require_return_path: true
  drop_land: false
  drop_bad_tcp_flags: true
  drop_tiny_fragments: false
  drop_overlapping_fragments: true
  allow: [192.0.2.0/24, "2001:db8::/32"]
  block: [198.51.100.7]
  sources: 4096
  flows: 8192
  fragments: 256
`

func TestDoSSection(t *testing.T) {
	c, err := Parse([]string{"--", "--config", writeFile(t, dosFile)})
	if err != nil {
		t.Fatal(err)
	}
	want := dos.DefaultConfig()
	want.IPv4PrefixLen, want.IPv6PrefixLen = 24, 48
	want.SYN = dos.Rate{Rate: 500, Burst: 1000}
	want.ICMP = dos.Rate{Rate: 0, Burst: 2000} // the default burst stays, unused
	want.UDP = dos.Rate{Rate: 100000, Burst: 200000}
	want.Total = dos.Rate{Rate: 1000000, Burst: 2000000}
	want.SYNBudget = dos.Rate{Rate: 5000, Burst: 10000}
	want.MaxConnections, want.MaxHalfOpen = 100, 20
	want.HandshakeTimeout, want.FlowTimeout, want.EstablishedTTL = 5*time.Second, 10*time.Minute, 2*time.Hour
	want.FragmentTimeout = 500 * time.Millisecond
	want.RequireReturnPath, want.DropLand, want.DropTinyFragments = true, false, false
	want.Allow, want.Block = []string{"192.0.2.0/24", "2001:db8::/32"}, []string{"198.51.100.7"}
	want.Sources, want.Flows, want.Fragments = 4096, 8192, 256
	if c.DoS == nil || !reflect.DeepEqual(*c.DoS, want) {
		t.Fatalf("dos section read as\n%+v\nwant\n%+v", c.DoS, want)
	}
	if w := c.PortOffloads[0]; len(w.Rx) != 1 || w.Rx[0] != "dos_filter" {
		t.Errorf("port 0 offloads %+v, want rx dos_filter", w)
	}
	// Printed, it reloads to the same.
	var out bytes.Buffer
	if err := c.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	re, err := Parse([]string{"--", "--config", writeFile(t, out.String())})
	if err != nil {
		t.Fatalf("the printed config does not load: %v\n%s", err, out.String())
	}
	if !reflect.DeepEqual(re.DoS, c.DoS) {
		t.Errorf("reloaded %+v, printed from %+v\n%s", re.DoS, c.DoS, out.String())
	}
	for _, s := range []string{"handshake_timeout: 5s", "established_ttl: 2h", "fragment_timeout: 500ms", "syn: {rate: 500, burst: 1000}"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("printed config lacks %q:\n%s", s, out.String())
		}
	}
	// Without a section: none, and none printed.
	d, err := Parse([]string{"--", "--config", writeFile(t, "burst: 32\n")})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := d.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	if d.DoS != nil || strings.Contains(out.String(), "dos:") {
		t.Errorf("no dos section, yet %+v:\n%s", d.DoS, out.String())
	}
	// An empty section is the defaults.
	e, err := Parse([]string{"--", "--config", writeFile(t, "dos: {}\n")})
	if err != nil {
		t.Fatal(err)
	}
	if e.DoS == nil || !reflect.DeepEqual(*e.DoS, dos.DefaultConfig()) {
		t.Errorf("empty dos section: %+v", e.DoS)
	}
}

func TestDoSSectionErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"unknown key", "dos:\n  syn_rate: 10\n",
			`offload.yaml:2:3: dos.syn_rate: unknown key; allowed in dos: ipv4_prefix_len, ipv6_prefix_len, max_connections`},
		{"prefix length", "dos:\n  ipv4_prefix_len: 33\n",
			`offload.yaml:2:20: dos.ipv4_prefix_len: 33; want 0 to 32`},
		{"negative", "dos: {max_connections: -1}\n",
			`offload.yaml:1:24: dos.max_connections: -1 is out of range; want an integer 0..2147483648`},
		{"rate not a mapping", "dos:\n  syn: 100\n",
			`offload.yaml:2:8: dos.syn: dos.syn is 100; want a mapping with keys rate, burst`},
		{"rate key", "dos:\n  syn: {rate: 10, brust: 3}\n",
			`offload.yaml:2:19: dos.syn.brust: unknown key; allowed in dos.syn: rate, burst; did you mean "burst"?`},
		{"burst zero", "dos:\n  udp: {rate: 10, burst: 0}\n",
			`offload.yaml:2:26: dos.udp.burst: 0; want 1 to 1000000000 packets when rate is set`},
		{"burst missing", "dos:\n  udp: {rate: 10}\n",
			`offload.yaml:2:8: dos.udp.burst: 0; want 1 to 1000000000 packets when rate is set`},
		{"rate too high", "dos:\n  total: {rate: 2000000000, burst: 1}\n",
			`offload.yaml:2:17: dos.total.rate: 2000000000; want 0 (no limit) to 1000000000 packets/s`},
		{"duration number", "dos: {handshake_timeout: 10}\n",
			`offload.yaml:1:26: dos.handshake_timeout: 10 is not a duration; want e.g. 10s, 500ms, 5m, 1h`},
		{"duration word", "dos: {flow_timeout: soon}\n",
			`offload.yaml:1:21: dos.flow_timeout: "soon" is not a duration`},
		{"duration range", "dos: {handshake_timeout: 10ms}\n",
			`offload.yaml:1:26: dos.handshake_timeout: 10ms; want 100ms to 5m0s`},
		{"bool", "dos: {drop_land: maybe}\n",
			`offload.yaml:1:18: dos.drop_land: the string "maybe" is not a boolean; want true or false`},
		{"table size", "dos: {sources: 4}\n",
			`offload.yaml:1:16: dos.sources: 4; want 8 to 16777216`},
		{"prefix", "dos:\n  block: [10.0.0.0/8, 10.1.2.3/16]\n",
			`offload.yaml:2:23: dos.block[1]: "10.1.2.3/16" has host bits set; did you mean 10.1.0.0/16?`},
		{"not a prefix", "dos:\n  allow: [somewhere]\n",
			`offload.yaml:2:11: dos.allow[0]: "somewhere" is not a prefix`},
		{"both lists", "dos:\n  allow: [192.0.2.0/24]\n  block: [192.0.2.0/24]\n",
			`offload.yaml:3:11: dos.block[0]: 192.0.2.0/24 is also allow[0]`},
		{"list not a list", "dos: {allow: 192.0.2.0/24}\n",
			`offload.yaml:1:14: dos.allow: the string "192.0.2.0/24" is not a list; want source prefixes`},
		{"section not a mapping", "dos: [1]\n",
			`offload.yaml:1:6: dos: dos is a list; want a mapping with keys ipv4_prefix_len`},
		{"port capability", "ports:\n  - {devargs: net_null0, offloads: {rx: [dos_filtre]}}\n",
			`"dos_filtre" is not an RX capability; allowed: `},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]string{"--", "--config", writeFile(t, c.text)})
			if err == nil {
				t.Fatalf("accepted:\n%s", c.text)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, c.want)
			}
		})
	}
}

func TestSetDoSKey(t *testing.T) {
	c := dos.DefaultConfig()
	for _, s := range []struct{ key, val, want string }{
		{"syn.rate", "250", "250"},
		{"syn_budget.burst", "0x100", "256"},
		{"handshake_timeout", "3s", "3s"},
		{"established_ttl", "90m", "90m"},
		{"require_return_path", "on", "true"},
		{"drop_land", "off", "false"},
		{"max_half_open", "7", "7"},
		{"flows", "100000", "100000"},
	} {
		if err := SetDoSKey(&c, s.key, s.val); err != nil {
			t.Fatalf("%s %s: %v", s.key, s.val, err)
		}
		if got := DoSValue(c, s.key); got != s.want {
			t.Errorf("%s: %q, want %q", s.key, got, s.want)
		}
	}
	before := c
	for _, s := range []struct{ key, val, want string }{
		{"syn.rat", "1", `unknown DoS key "syn.rat"; did you mean "syn.rate"?`},
		{"syn.burst", "0", "dos: syn.burst: 0; want 1 to 1000000000 packets when rate is set"},
		{"ipv6_prefix_len", "129", "dos: ipv6_prefix_len: 129; want 0 to 128"},
		{"flow_timeout", "forever", `flow_timeout: "forever" is not a duration`},
		{"drop_land", "perhaps", `drop_land: "perhaps" is not on or off`},
		{"sources", "-3", `sources: "-3" is not a number`},
	} {
		err := SetDoSKey(&c, s.key, s.val)
		if err == nil || !strings.Contains(err.Error(), s.want) {
			t.Errorf("%s %s: error %v, want %q", s.key, s.val, err, s.want)
		}
	}
	if !reflect.DeepEqual(c, before) {
		t.Error("a refused value changed the configuration")
	}
	for _, k := range DoSKeys() {
		if DoSValue(dos.DefaultConfig(), k) == "" {
			t.Errorf("key %s has no value", k)
		}
	}
}
