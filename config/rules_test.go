package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const rulesFile = `
ports:
  - devargs: net_null0
    offloads: {rx: [classify]}
  - devargs: net_null1
rules:
  0:
    - ingress pattern eth / ipv4 / udp dst is 53 / end actions count / drop / end
    - "ingress priority 1 pattern eth / ipv4 src spec 10.0.0.0 src prefix 8 / end actions mark id 7 / end"
  1:
    - egress pattern eth / ipv6 / tcp / end actions csum / end
`

// TestRulesSection: the rules section's rules by port, in order, parsed;
// printed, they reload to the same.
func TestRulesSection(t *testing.T) {
	c, err := Parse([]string{"--", "--config", writeFile(t, rulesFile)})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules) != 3 {
		t.Fatalf("%d rules: %+v", len(c.Rules), c.Rules)
	}
	for i, want := range []struct {
		port uint16
		line int
		sum  string
	}{{0, 8, "ETH IPV4 UDP => COUNT DROP"}, {0, 9, "ETH IPV4 => MARK"}, {1, 11, "ETH IPV6 TCP => CSUM"}} {
		r := c.Rules[i]
		if r.Port != want.port || r.Line != want.line || r.Rule == nil || r.Rule.Summary() != want.sum {
			t.Errorf("rule %d: port %d line %d %v, want port %d line %d %s", i, r.Port, r.Line, r.Rule, want.port, want.line, want.sum)
		}
	}
	if c.Rules[1].Rule.Priority != 1 || !c.Rules[2].Rule.Egress {
		t.Errorf("attributes lost: %+v %+v", c.Rules[1].Rule, c.Rules[2].Rule)
	}
	var out bytes.Buffer
	if err := c.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	re, err := Parse([]string{"--", "--config", writeFile(t, out.String())})
	if err != nil {
		t.Fatalf("the printed config does not load: %v\n%s", err, out.String())
	}
	if len(re.Rules) != len(c.Rules) {
		t.Fatalf("reloaded %d rules:\n%s", len(re.Rules), out.String())
	}
	for i := range re.Rules {
		if a, b := re.Rules[i], c.Rules[i]; a.Port != b.Port || a.Text != b.Text || a.Rule.String() != b.Rule.String() {
			t.Errorf("rule %d reloaded as %d %q, printed from %d %q", i, a.Port, a.Text, b.Port, b.Text)
		}
	}
	// No section: none printed.
	d, err := Parse([]string{"--", "--config", writeFile(t, "rules: {}\n")})
	if err != nil || len(d.Rules) != 0 {
		t.Fatalf("empty section: %v %+v", err, d.Rules)
	}
	out.Reset()
	if err := d.WriteYAML(&out); err != nil || strings.Contains(out.String(), "rules:") {
		t.Errorf("no rules printed a section: %v\n%s", err, out.String())
	}
}

// TestRulesSectionErrors: each wrong rule is reported at its line, the
// column of the token the parser names, with what may stand there.
func TestRulesSectionErrors(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"not a mapping", "rules: [a]\n",
			`offload.yaml:1:8: rules: a list is not a mapping from port ids to lists of flow rules`},
		{"port key", "rules:\n  eth0: []\n",
			`offload.yaml:2:3: rules: key "eth0" is not a port id 0..63`},
		{"port out of range", "rules:\n  64: []\n", `key "64" is not a port id 0..63`},
		{"duplicate port", "rules:\n  0: []\n  0: []\n", `offload.yaml:3:3: rules.0: duplicate port (first at line 2)`},
		{"not a list", "rules:\n  0: drop\n", `offload.yaml:2:6: rules.0: the string "drop" is not a list; want a list of flow rules`},
		{"not a string", "rules:\n  0:\n    - {pattern: eth}\n", `offload.yaml:3:7: rules.0[0]: a mapping is not a flow rule`},
		{"bad item", "rules:\n  0:\n    - ingress pattern eth / ipv5 / end actions drop / end\n",
			`offload.yaml:3:29: rules.0[0]: flow: token 5 "ipv5": unknown item (did you mean "ipv4"?); allowed: eth, vlan, ipv4`},
		{"bad item quoted", "rules:\n  0: [\"ingress pattern eth / ipv5 / end actions drop / end\"]\n",
			`offload.yaml:2:30: rules.0[0]: flow: token 5 "ipv5"`},
		{"bad value", "rules:\n  0:\n    - ingress pattern eth / ipv4 src is 10.0.0.300 / end actions drop / end\n",
			`offload.yaml:3:41: rules.0[0]: flow: token 8 "10.0.0.300"`},
		{"unfinished", "rules:\n  0:\n    - ingress pattern eth / end actions drop\n",
			`offload.yaml:3:45: rules.0[0]: flow: token 8 (end of line): missing "/" after action drop`},
		{"flow create", "rules:\n  0:\n    - flow create 0 ingress pattern eth / end actions drop / end\n",
			"the port is the key above"},
		{"no direction", "rules:\n  0:\n    - pattern eth / end actions drop / end\n",
			`offload.yaml:3:7: rules.0[0]: the rule has no direction`},
		{"group", "rules:\n  0:\n    - group 2 ingress pattern eth / end actions drop / end\n",
			`rules.0[0]: group 2: not supported: only group 0 is classified`},
	}
	for _, c := range cases {
		_, err := Parse([]string{"--", "--config", writeFile(t, c.text)})
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrConfigFile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant ...%s...", c.name, err, c.want)
		}
	}
}
