package config

import (
	"errors"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/classify"
)

// A config file's rules section holds flow rules by port id, each written
// as what follows testpmd's `flow create <port>`:
//
//	rules:
//	  0:
//	    - ingress pattern eth / ipv4 / udp dst is 53 / end actions count / drop / end
//	    - ingress pattern eth / ipv4 src spec 10.0.0.0 src prefix 8 / end actions mark id 7 / end
//
// Each rule is parsed at load time; a wrong one is reported at its line,
// with the column of the token the parser names.

// RuleSpec is one flow rule of the config file.
type RuleSpec struct {
	Port uint16
	// Text is the rule as written; Rule, parsed from it.
	Text string
	Rule *classify.Rule
	// Line is its line in the file.
	Line int
}

// rulesSec reads the rules section: a mapping from port ids to lists of
// rules.
func (l *loader) rulesSec(v *yaml.Node, p string) {
	l.c.Rules = nil
	n := resolve(v)
	if isNull(n) {
		return
	}
	const want = "a mapping from port ids to lists of flow rules, e.g. 0: [\"ingress pattern eth / ipv4 / end actions count / end\"]"
	if n.Kind != yaml.MappingNode {
		l.errorf(n, p, "%s is not %s", describe(n), want)
		return
	}
	seen := map[uint16]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		id, err := strconv.ParseUint(k.Value, 10, 16)
		if k.Kind != yaml.ScalarNode || err != nil || id >= offload.MaxPorts {
			l.errorf(k, p, "key %q is not a port id 0..%d; want %s", k.Value, offload.MaxPorts-1, want)
			continue
		}
		port := uint16(id)
		pp := keyPath(p, k.Value)
		if line, dup := seen[port]; dup {
			l.errorf(k, pp, "duplicate port (first at line %d)", line)
			continue
		}
		seen[port] = k.Line
		l.list(n.Content[i+1], pp, "a list of flow rules", func(_ int, v *yaml.Node, p string) {
			if s, ok := l.ruleVal(v, p); ok {
				l.c.Rules = append(l.c.Rules, RuleSpec{Port: port, Text: s.Text, Rule: s.Rule, Line: s.Line})
			}
		})
	}
}

// ruleVal parses one rule; an error is placed at the token it names.
func (l *loader) ruleVal(v *yaml.Node, p string) (RuleSpec, bool) {
	n := resolve(v)
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errorf(n, p, "%s is not a flow rule; want a string such as \"ingress pattern eth / ipv4 / end actions drop / end\"", describe(n))
		return RuleSpec{}, false
	}
	text := strings.Join(strings.Fields(n.Value), " ")
	r, err := classify.ParseRule(n.Value)
	if err != nil {
		at := *n
		var se *classify.SyntaxError
		if errors.As(err, &se) && !strings.Contains(n.Value, "\n") {
			at.Column += se.Col
			if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				at.Column++
			}
		}
		msg := err.Error()
		if strings.HasPrefix(text, "flow ") {
			msg += " (write what follows `flow create <port>`: the port is the key above)"
		}
		l.errorf(&at, p, "%s", msg)
		return RuleSpec{}, false
	}
	if err := classify.Validate(r); err != nil {
		l.errorf(n, p, "%v", err)
		return RuleSpec{}, false
	}
	if !r.Ingress && !r.Egress {
		l.errorf(n, p, "the rule has no direction: give ingress (received packets), egress (sent packets) or both")
		return RuleSpec{}, false
	}
	return RuleSpec{Text: text, Rule: r, Line: n.Line}, true
}

// rulesOf is the rules section of c, for --print-config.
func rulesOf(rs []RuleSpec) yamlRules {
	if len(rs) == 0 {
		return nil
	}
	m := yamlRules{}
	for _, r := range rs {
		m[r.Port] = append(m[r.Port], r.Text)
	}
	return m
}
