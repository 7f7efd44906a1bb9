package dos

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Config is the filter's configuration. Start from DefaultConfig; Validate
// (NewControl and Control.Update call it) checks every field.
//
// The names in brackets are the keys a config file's dos: section should
// use (and the CLI's parameter names): Validate's errors name fields by
// them, dotted for the nested ones ("syn.burst", "block[3]").
type Config struct {
	// IPv4PrefixLen and IPv6PrefixLen [ipv4_prefix_len, ipv6_prefix_len]
	// are the source prefixes rates and connections are counted per: 32
	// and 64 count per host (an IPv6 host usually has a /64 to itself);
	// 24 and 48 count per site, which also catches a flood spread over a
	// subnet. 0 counts all sources together. Ranges 0–32 and 0–128.
	IPv4PrefixLen int
	IPv6PrefixLen int

	// SYN, ICMP, UDP and Total [syn, icmp, udp, total] are the token
	// buckets per source prefix: SYN counts TCP segments with SYN and
	// without ACK, ICMP counts ICMP and ICMPv6, UDP counts UDP (fragments
	// included), Total counts every IP packet. A packet must fit both its
	// class's bucket and Total's.
	SYN, ICMP, UDP, Total Rate

	// SYNBudget [syn_budget] bounds SYNs from sources without an
	// established history, all sources together. It is per Filter: with
	// RSS spreading sources over n streams, the system's budget is n times
	// it. Rate 0 turns the SYN defence off (and, without connection
	// limits, flow tracking).
	SYNBudget Rate

	// MaxConnections [max_connections] bounds the connections (half-open
	// and established) a source prefix has open at once; MaxHalfOpen
	// [max_half_open] bounds the half-open ones. 0: no limit. 0–65535.
	MaxConnections int
	MaxHalfOpen    int

	// HandshakeTimeout [handshake_timeout] is how long a SYN's flow waits
	// for the ACK that completes its handshake (100ms–5m).
	HandshakeTimeout time.Duration
	// FlowTimeout [flow_timeout] is how long an established connection
	// may be idle before it stops counting against MaxConnections
	// (1s–24h). Unused without connection limits.
	FlowTimeout time.Duration
	// EstablishedTTL [established_ttl] is how long a source stays
	// established after its last completed handshake (1s–168h).
	EstablishedTTL time.Duration
	// RequireReturnPath [require_return_path]: a source becomes
	// established only when the filter saw the server's SYN-ACK (judged,
	// or given to Observe) and the client's ACK acknowledges it. Proof
	// against blind spoofing; needs the return path. See Filter.
	RequireReturnPath bool

	// Header rules [drop_land, drop_bad_tcp_flags, drop_tiny_fragments,
	// drop_overlapping_fragments]: each turns a family of drop reasons on
	// (see Reason).
	DropLand                 bool
	DropBadTCPFlags          bool
	DropTinyFragments        bool
	DropOverlappingFragments bool
	// FragmentTimeout [fragment_timeout] is how long the fragment tracker
	// remembers a datagram's fragments (100ms–2m).
	FragmentTimeout time.Duration

	// Allow and Block [allow, block] are source prefixes ("192.0.2.0/24",
	// "2001:db8::/32"; an address alone is a host prefix). The longest
	// prefix matching a source decides: Block drops, Allow skips the rate
	// limits, the SYN budget and the connection limits (not the header
	// rules). A prefix may not be in both, nor have host bits set. At most
	// MaxPrefixes in all.
	Allow, Block []string

	// Sources, Flows and Fragments [sources, flows, fragments] size the
	// tables (entries; rounded up to a power of two). They are allocated
	// when a Filter is made: a new size applies to Filters made after the
	// Update (the next start), not to running ones. Ranges 8–16777216,
	// 8–16777216, 4–1048576.
	Sources, Flows, Fragments int

	// Seed keys the table hashes, so that a remote sender cannot aim its
	// sources at one table set. 0 picks a random one per Filter; tests
	// set it. Not a config file key.
	Seed uint64
}

// Rate is a token bucket: Rate packets per second on average, Burst at
// once.
type Rate struct {
	// Rate [rate] is packets per second, 0 to 1e9; 0 is no limit.
	Rate uint64
	// Burst [burst] is the bucket's depth in packets, 1 to 1e9 when Rate
	// is set (ignored otherwise).
	Burst uint64
}

// Limits.
const (
	MaxRate        = 1_000_000_000
	MaxBurst       = 1_000_000_000
	MaxConnLimit   = 65535
	MaxTableSize   = 1 << 24
	MaxFragEntries = 1 << 20
	// MaxPrefixes bounds the Allow and Block lists together.
	MaxPrefixes = 1 << 20
)

// Defaults.
const (
	DefaultIPv4PrefixLen    = 32
	DefaultIPv6PrefixLen    = 64
	DefaultSources          = 65536
	DefaultFlows            = 65536
	DefaultFragments        = 4096
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultFlowTimeout      = 5 * time.Minute
	DefaultEstablishedTTL   = time.Hour
	DefaultFragmentTimeout  = 30 * time.Second
)

// DefaultConfig is the defaults: every header rule on; per source host
// 1000 SYN/s (burst 2000) and 1000 ICMP/s (burst 2000); UDP and total
// unlimited (a host may legitimately send at line rate); a SYN budget of
// 10000/s (burst 20000) per Filter; no connection limits; no lists.
func DefaultConfig() Config {
	return Config{
		IPv4PrefixLen:            DefaultIPv4PrefixLen,
		IPv6PrefixLen:            DefaultIPv6PrefixLen,
		SYN:                      Rate{Rate: 1000, Burst: 2000},
		ICMP:                     Rate{Rate: 1000, Burst: 2000},
		SYNBudget:                Rate{Rate: 10000, Burst: 20000},
		HandshakeTimeout:         DefaultHandshakeTimeout,
		FlowTimeout:              DefaultFlowTimeout,
		EstablishedTTL:           DefaultEstablishedTTL,
		DropLand:                 true,
		DropBadTCPFlags:          true,
		DropTinyFragments:        true,
		DropOverlappingFragments: true,
		FragmentTimeout:          DefaultFragmentTimeout,
		Sources:                  DefaultSources,
		Flows:                    DefaultFlows,
		Fragments:                DefaultFragments,
	}
}

// ConfigError is a Config field out of range. It wraps ErrConfig.
type ConfigError struct {
	// Field is the field's config key, dotted ("syn.burst", "block[3]").
	Field string
	// Msg says what is wrong and what is allowed.
	Msg string
}

func (e *ConfigError) Error() string { return "dos: " + e.Field + ": " + e.Msg }

// Unwrap makes every ConfigError match ErrConfig.
func (e *ConfigError) Unwrap() error { return ErrConfig }

func fieldErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func checkInt(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fieldErr(field, "%d; want %d to %d", v, lo, hi)
	}
	return nil
}

func checkDuration(field string, v, lo, hi time.Duration) error {
	if v < lo || v > hi {
		return fieldErr(field, "%v; want %v to %v", v, lo, hi)
	}
	return nil
}

func (r Rate) check(field string) error {
	if r.Rate > MaxRate {
		return fieldErr(field+".rate", "%d; want 0 (no limit) to %d packets/s", r.Rate, uint64(MaxRate))
	}
	if r.Rate > 0 && (r.Burst < 1 || r.Burst > MaxBurst) {
		return fieldErr(field+".burst", "%d; want 1 to %d packets when rate is set", r.Burst, uint64(MaxBurst))
	}
	return nil
}

// Validate checks every field and returns the first error, a *ConfigError
// naming the field and its allowed range.
func (c Config) Validate() error {
	_, err := compile(&c)
	return err
}

func (c *Config) check() error {
	checks := []error{
		checkInt("ipv4_prefix_len", c.IPv4PrefixLen, 0, 32),
		checkInt("ipv6_prefix_len", c.IPv6PrefixLen, 0, 128),
		c.SYN.check("syn"),
		c.ICMP.check("icmp"),
		c.UDP.check("udp"),
		c.Total.check("total"),
		c.SYNBudget.check("syn_budget"),
		checkInt("max_connections", c.MaxConnections, 0, MaxConnLimit),
		checkInt("max_half_open", c.MaxHalfOpen, 0, MaxConnLimit),
		checkDuration("handshake_timeout", c.HandshakeTimeout, 100*time.Millisecond, 5*time.Minute),
		checkDuration("flow_timeout", c.FlowTimeout, time.Second, 24*time.Hour),
		checkDuration("established_ttl", c.EstablishedTTL, time.Second, 168*time.Hour),
		checkDuration("fragment_timeout", c.FragmentTimeout, 100*time.Millisecond, 2*time.Minute),
		checkInt("sources", c.Sources, 8, MaxTableSize),
		checkInt("flows", c.Flows, 8, MaxTableSize),
		checkInt("fragments", c.Fragments, 4, MaxFragEntries),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	if n := len(c.Allow) + len(c.Block); n > MaxPrefixes {
		return fieldErr("allow", "%d prefixes in allow and block; want at most %d", n, MaxPrefixes)
	}
	return nil
}

// Action is what a list does with a source.
type Action uint8

// Actions.
const (
	NoAction Action = iota
	Allow
	Block
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Block:
		return "block"
	}
	return "none"
}

// listEntry is one prefix of the lists.
type listEntry struct {
	p      netip.Prefix
	action Action
}

// parseLists reads Allow and Block into one list sorted by address family
// and prefix length, refusing bad and doubled prefixes.
func parseLists(c *Config) ([]listEntry, error) {
	es := make([]listEntry, 0, len(c.Allow)+len(c.Block))
	seen := make(map[netip.Prefix]string, cap(es))
	add := func(key string, list []string, a Action) error {
		for i, s := range list {
			field := fmt.Sprintf("%s[%d]", key, i)
			p, err := parsePrefix(s)
			if err != nil {
				return fieldErr(field, "%v", err)
			}
			if other, dup := seen[p]; dup {
				return fieldErr(field, "%s is also %s", p, other)
			}
			seen[p] = field
			es = append(es, listEntry{p: p, action: a})
		}
		return nil
	}
	if err := add("allow", c.Allow, Allow); err != nil {
		return nil, err
	}
	if err := add("block", c.Block, Block); err != nil {
		return nil, err
	}
	slices.SortStableFunc(es, func(a, b listEntry) int {
		if a.p.Addr().Is4() != b.p.Addr().Is4() {
			if a.p.Addr().Is4() {
				return -1
			}
			return 1
		}
		return a.p.Bits() - b.p.Bits()
	})
	return es, nil
}

// parsePrefix reads "addr/len" or a bare address (a host prefix). Host
// bits must be zero; IPv4-mapped IPv6 addresses are refused (write the
// IPv4 prefix); zones are refused.
func parsePrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if a, err := netip.ParseAddr(s); err == nil {
		p = netip.PrefixFrom(a, a.BitLen())
	} else if p, err = netip.ParsePrefix(s); err != nil {
		return p, fmt.Errorf("%q is not a prefix (want ADDRESS or ADDRESS/LENGTH)", s)
	}
	a := p.Addr()
	switch {
	case a.Zone() != "":
		return p, fmt.Errorf("%q: a zone has no place in a prefix", s)
	case a.Is4In6():
		return p, fmt.Errorf("%q: an IPv4-mapped prefix; write the IPv4 prefix", s)
	case p.Masked() != p:
		return p, fmt.Errorf("%q has host bits set; did you mean %s?", s, p.Masked())
	}
	return p, nil
}
