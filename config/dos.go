package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/offloadpmd/offloadpmd/offload/dos"
)

// A config file's dos section configures the DoS filter (offload/dos):
// its keys are dos.Config's, in snake case, every one optional over
// dos.DefaultConfig(). Which ports filter is each port's choice: the rx
// capability dos_filter (ports[i].offloads.rx, or offloads.rx for all).
// The loader checks the section as dos.Config.Validate does and reports
// the first field out of range at its line and column. The CLI's
// `dos set <key> <value>` takes the same scalar keys (SetDoSKey), nested
// ones dotted: syn.rate, syn_budget.burst.

// dosKind is how a scalar key's value is written.
type dosKind uint8

const (
	dosInt dosKind = iota
	dosDuration
	dosBool
)

// dosKey is one scalar key of the dos section.
type dosKey struct {
	name string
	kind dosKind
	hi   uint64 // largest value a number may have before Validate's range check
	ref  func(c *dos.Config) any
}

var dosKeys = []dosKey{
	{"ipv4_prefix_len", dosInt, 1 << 31, func(c *dos.Config) any { return &c.IPv4PrefixLen }},
	{"ipv6_prefix_len", dosInt, 1 << 31, func(c *dos.Config) any { return &c.IPv6PrefixLen }},
	{"syn.rate", dosInt, 1 << 62, func(c *dos.Config) any { return &c.SYN.Rate }},
	{"syn.burst", dosInt, 1 << 62, func(c *dos.Config) any { return &c.SYN.Burst }},
	{"icmp.rate", dosInt, 1 << 62, func(c *dos.Config) any { return &c.ICMP.Rate }},
	{"icmp.burst", dosInt, 1 << 62, func(c *dos.Config) any { return &c.ICMP.Burst }},
	{"udp.rate", dosInt, 1 << 62, func(c *dos.Config) any { return &c.UDP.Rate }},
	{"udp.burst", dosInt, 1 << 62, func(c *dos.Config) any { return &c.UDP.Burst }},
	{"total.rate", dosInt, 1 << 62, func(c *dos.Config) any { return &c.Total.Rate }},
	{"total.burst", dosInt, 1 << 62, func(c *dos.Config) any { return &c.Total.Burst }},
	{"syn_budget.rate", dosInt, 1 << 62, func(c *dos.Config) any { return &c.SYNBudget.Rate }},
	{"syn_budget.burst", dosInt, 1 << 62, func(c *dos.Config) any { return &c.SYNBudget.Burst }},
	{"max_connections", dosInt, 1 << 31, func(c *dos.Config) any { return &c.MaxConnections }},
	{"max_half_open", dosInt, 1 << 31, func(c *dos.Config) any { return &c.MaxHalfOpen }},
	{"handshake_timeout", dosDuration, 0, func(c *dos.Config) any { return &c.HandshakeTimeout }},
	{"flow_timeout", dosDuration, 0, func(c *dos.Config) any { return &c.FlowTimeout }},
	{"established_ttl", dosDuration, 0, func(c *dos.Config) any { return &c.EstablishedTTL }},
	{"fragment_timeout", dosDuration, 0, func(c *dos.Config) any { return &c.FragmentTimeout }},
	{"require_return_path", dosBool, 0, func(c *dos.Config) any { return &c.RequireReturnPath }},
	{"drop_land", dosBool, 0, func(c *dos.Config) any { return &c.DropLand }},
	{"drop_bad_tcp_flags", dosBool, 0, func(c *dos.Config) any { return &c.DropBadTCPFlags }},
	{"drop_tiny_fragments", dosBool, 0, func(c *dos.Config) any { return &c.DropTinyFragments }},
	{"drop_overlapping_fragments", dosBool, 0, func(c *dos.Config) any { return &c.DropOverlappingFragments }},
	{"sources", dosInt, 1 << 31, func(c *dos.Config) any { return &c.Sources }},
	{"flows", dosInt, 1 << 31, func(c *dos.Config) any { return &c.Flows }},
	{"fragments", dosInt, 1 << 31, func(c *dos.Config) any { return &c.Fragments }},
}

// dosRates are the token buckets, each a {rate, burst} mapping.
var dosRates = []string{"syn", "icmp", "udp", "total", "syn_budget"}

// DoSKeys lists the scalar keys `dos set` takes.
func DoSKeys() []string {
	k := make([]string, len(dosKeys))
	for i, d := range dosKeys {
		k[i] = d.name
	}
	return k
}

// DoSTableKeys are the keys that size the filter's tables: a change
// applies to the tables made at the next start.
var DoSTableKeys = []string{"sources", "flows", "fragments"}

func findDoSKey(key string) (dosKey, bool) {
	i := slices.IndexFunc(dosKeys, func(d dosKey) bool { return d.name == key })
	if i < 0 {
		return dosKey{}, false
	}
	return dosKeys[i], true
}

// set stores v (an int, a time.Duration or a bool, by kind) in c.
func (d dosKey) set(c *dos.Config, v any) {
	switch p := d.ref(c).(type) {
	case *int:
		*p = int(v.(uint64))
	case *uint64:
		*p = v.(uint64)
	case *time.Duration:
		*p = v.(time.Duration)
	case *bool:
		*p = v.(bool)
	}
}

// get is key's value in c, as the config file and `dos set` write it.
func (d dosKey) get(c *dos.Config) string {
	switch p := d.ref(c).(type) {
	case *int:
		return strconv.Itoa(*p)
	case *uint64:
		return strconv.FormatUint(*p, 10)
	case *time.Duration:
		return FormatDuration(*p)
	case *bool:
		return strconv.FormatBool(*p)
	}
	return ""
}

// FormatDuration writes d in its largest whole unit (1h, 5m, 10s,
// 250ms), as time.ParseDuration reads it.
func FormatDuration(d time.Duration) string {
	for _, u := range []struct {
		d time.Duration
		s string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if d != 0 && d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.s
		}
	}
	return d.String()
}

// parseDoSValue reads s as key d's value.
func parseDoSValue(d dosKey, s string) (any, error) {
	switch d.kind {
	case dosDuration:
		v, err := time.ParseDuration(s)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q is not a duration; want e.g. 10s, 500ms, 5m, 1h", s)
		}
		return v, nil
	case dosBool:
		switch strings.ToLower(s) {
		case "on", "true", "yes":
			return true, nil
		case "off", "false", "no":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not on or off", s)
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil || n > d.hi {
		return nil, fmt.Errorf("%q is not a number (0..%d)", s, d.hi)
	}
	return n, nil
}

// SetDoSKey sets the scalar key (DoSKeys) of c to the value s, then
// checks the whole configuration; on error c is unchanged.
func SetDoSKey(c *dos.Config, key, s string) error {
	d, ok := findDoSKey(key)
	if !ok {
		return fmt.Errorf("unknown DoS key %q%s; allowed: %s", key, Suggest(key, DoSKeys()), strings.Join(DoSKeys(), ", "))
	}
	v, err := parseDoSValue(d, s)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	n := *c
	d.set(&n, v)
	if err := n.Validate(); err != nil {
		return err
	}
	*c = n
	return nil
}

// DoSValue is the scalar key's value in c ("" for an unknown key).
func DoSValue(c dos.Config, key string) string {
	d, ok := findDoSKey(key)
	if !ok {
		return ""
	}
	return d.get(&c)
}

// dosSec reads the dos section over dos.DefaultConfig().
func (l *loader) dosSec(v *yaml.Node, p string) {
	c := dos.DefaultConfig()
	n0 := len(l.errs)
	nodes := map[string]*yaml.Node{"": resolve(v)} // Validate's field names -> where they were given
	scalar := func(key string) func(*yaml.Node, string) {
		d, _ := findDoSKey(key)
		return func(v *yaml.Node, p string) {
			n := resolve(v)
			nodes[key] = n
			var val any
			switch d.kind {
			case dosInt:
				x, ok := l.uintVal(n, p, 0, d.hi)
				if !ok {
					return
				}
				val = x
			case dosBool:
				b, ok := l.boolVal(n, p)
				if !ok {
					return
				}
				val = b
			case dosDuration:
				var err error
				if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
					l.errorf(n, p, "%s is not a duration; want e.g. 10s, 500ms, 5m, 1h", describe(n))
					return
				}
				if val, err = parseDoSValue(d, n.Value); err != nil {
					l.errorf(n, p, "%v", err)
					return
				}
			}
			d.set(&c, val)
		}
	}
	list := func(dst *[]string, key string) func(*yaml.Node, string) {
		return func(v *yaml.Node, p string) {
			nodes[key] = resolve(v)
			*dst = nil
			l.list(v, p, "source prefixes, e.g. [192.0.2.0/24, \"2001:db8::/32\"]", func(i int, v *yaml.Node, p string) {
				s, ok := l.strVal(v, p)
				if !ok {
					return
				}
				nodes[fmt.Sprintf("%s[%d]", key, len(*dst))] = resolve(v)
				*dst = append(*dst, s)
			})
		}
	}
	var fields []field
	for _, d := range dosKeys {
		if !strings.Contains(d.name, ".") {
			fields = append(fields, field{d.name, scalar(d.name)})
		}
	}
	for _, r := range dosRates {
		fields = append(fields, field{r, func(v *yaml.Node, p string) {
			nodes[r] = resolve(v)
			l.mapping(v, p, []field{{"rate", scalar(r + ".rate")}, {"burst", scalar(r + ".burst")}})
		}})
	}
	fields = append(fields, field{"allow", list(&c.Allow, "allow")}, field{"block", list(&c.Block, "block")})
	l.mapping(v, p, fields)
	if len(l.errs) > n0 {
		return
	}
	if err := c.Validate(); err != nil {
		var ce *dos.ConfigError
		if !errors.As(err, &ce) {
			l.errorf(resolve(v), p, "%v", err)
			return
		}
		// The field's own node, else its rate's mapping, else the section.
		n := nodes[ce.Field]
		if n == nil {
			r, _, _ := strings.Cut(ce.Field, ".")
			if n = nodes[r]; n == nil {
				n = nodes[""]
			}
		}
		l.errorf(n, keyPath(p, ce.Field), "%s", ce.Msg)
		return
	}
	l.c.DoS = &c
}

// yamlDoS is the dos section in the config file's schema.
type yamlDoS struct {
	IPv4PrefixLen            int      `yaml:"ipv4_prefix_len"`
	IPv6PrefixLen            int      `yaml:"ipv6_prefix_len"`
	SYN                      yamlRate `yaml:"syn,flow"`
	ICMP                     yamlRate `yaml:"icmp,flow"`
	UDP                      yamlRate `yaml:"udp,flow"`
	Total                    yamlRate `yaml:"total,flow"`
	SYNBudget                yamlRate `yaml:"syn_budget,flow"`
	MaxConnections           int      `yaml:"max_connections"`
	MaxHalfOpen              int      `yaml:"max_half_open"`
	HandshakeTimeout         string   `yaml:"handshake_timeout"`
	FlowTimeout              string   `yaml:"flow_timeout"`
	EstablishedTTL           string   `yaml:"established_ttl"`
	RequireReturnPath        bool     `yaml:"require_return_path"`
	DropLand                 bool     `yaml:"drop_land"`
	DropBadTCPFlags          bool     `yaml:"drop_bad_tcp_flags"`
	DropTinyFragments        bool     `yaml:"drop_tiny_fragments"`
	DropOverlappingFragments bool     `yaml:"drop_overlapping_fragments"`
	FragmentTimeout          string   `yaml:"fragment_timeout"`
	Allow                    []string `yaml:"allow,omitempty,flow"`
	Block                    []string `yaml:"block,omitempty,flow"`
	Sources                  int      `yaml:"sources"`
	Flows                    int      `yaml:"flows"`
	Fragments                int      `yaml:"fragments"`
}

type yamlRate struct {
	Rate  uint64 `yaml:"rate"`
	Burst uint64 `yaml:"burst"`
}

func dosOf(c *dos.Config) *yamlDoS {
	if c == nil {
		return nil
	}
	rate := func(r dos.Rate) yamlRate { return yamlRate{r.Rate, r.Burst} }
	return &yamlDoS{
		IPv4PrefixLen: c.IPv4PrefixLen, IPv6PrefixLen: c.IPv6PrefixLen,
		SYN: rate(c.SYN), ICMP: rate(c.ICMP), UDP: rate(c.UDP), Total: rate(c.Total), SYNBudget: rate(c.SYNBudget),
		MaxConnections: c.MaxConnections, MaxHalfOpen: c.MaxHalfOpen,
		HandshakeTimeout: FormatDuration(c.HandshakeTimeout), FlowTimeout: FormatDuration(c.FlowTimeout),
		EstablishedTTL: FormatDuration(c.EstablishedTTL), RequireReturnPath: c.RequireReturnPath,
		DropLand: c.DropLand, DropBadTCPFlags: c.DropBadTCPFlags, DropTinyFragments: c.DropTinyFragments,
		DropOverlappingFragments: c.DropOverlappingFragments, FragmentTimeout: FormatDuration(c.FragmentTimeout),
		Allow: c.Allow, Block: c.Block, Sources: c.Sources, Flows: c.Flows, Fragments: c.Fragments,
	}
}

// FormatDoS writes c as the config file's dos section (without the "dos:"
// line), each line indented by indent.
func FormatDoS(c dos.Config, indent string) (string, error) {
	b, err := yaml.Marshal(dosOf(&c))
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, line := range strings.SplitAfter(strings.TrimRight(string(b), "\n"), "\n") {
		out.WriteString(indent + line)
	}
	out.WriteString("\n")
	return out.String(), nil
}
