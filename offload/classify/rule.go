package classify

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// RuleID names a rule within its Set, as testpmd numbers flow rules: the
// newest rule's ID plus one, from 0.
type RuleID uint32

// NoMatch is the RuleID Classify reports for a key no rule matches.
const NoMatch = ^RuleID(0)

// Rule is one flow rule: attributes, a pattern and actions.
type Rule struct {
	// ID is assigned by Set.Add.
	ID RuleID
	// Group is the rte_flow group; only group 0 is classified (offloadpmd
	// has no jump action).
	Group uint32
	// Priority orders overlapping rules: the lowest number wins, and among
	// equal priorities the rule created first.
	Priority uint32
	// Ingress and Egress are the directions the rule applies to.
	Ingress, Egress bool
	Pattern         Pattern
	// Actions are in the order written.
	Actions []Action
}

// ActionType is a rule's action.
type ActionType uint8

// Actions: rte_flow's, then offloadpmd's own, which attach tasks to the
// packets a rule matches.
const (
	ActionDrop ActionType = iota + 1
	ActionCount
	ActionMark
	ActionQueue
	ActionRSS
	ActionPassthru
	// ActionESP: ESP processing with security association Value.
	ActionESP
	// ActionDigest: a message digest of the L4 payload with Alg.
	ActionDigest
	// ActionTSO: TCP segmentation to Value payload bytes per segment.
	ActionTSO
	// ActionCsum: IP and L4 checksums.
	ActionCsum
	numActions
)

var actionNames = [numActions]string{
	ActionDrop: "drop", ActionCount: "count", ActionMark: "mark", ActionQueue: "queue",
	ActionRSS: "rss", ActionPassthru: "passthru", ActionESP: "esp", ActionDigest: "digest",
	ActionTSO: "tso", ActionCsum: "csum",
}

func (a ActionType) String() string {
	if a > 0 && a < numActions {
		return actionNames[a]
	}
	return "unknown"
}

// isFate reports whether a decides what becomes of the packet (at most
// one per rule).
func (a ActionType) isFate() bool {
	return a == ActionDrop || a == ActionQueue || a == ActionRSS || a == ActionPassthru
}

// isTask reports whether a attaches an offload task.
func (a ActionType) isTask() bool {
	return a == ActionESP || a == ActionDigest || a == ActionTSO || a == ActionCsum
}

// Digest algorithms of the digest action.
var DigestAlgs = []string{"hmac-sha256", "sha256", "crc32c"}

// RSS types testpmd's rss action knows (its rss_type_table).
var RSSTypes = []string{"all", "none", "ip", "udp", "tcp", "sctp", "tunnel", "vlan", "ipv4", "ipv4-frag",
	"ipv4-tcp", "ipv4-udp", "ipv4-sctp", "ipv4-other", "ipv6", "ipv6-frag", "ipv6-tcp", "ipv6-udp",
	"ipv6-sctp", "ipv6-other", "l2-payload", "ipv6-ex", "ipv6-tcp-ex", "ipv6-udp-ex", "port", "vxlan",
	"geneve", "nvgre", "gtpu", "eth", "s-vlan", "c-vlan", "esp", "ah", "l2tpv3", "pfcp", "pppoe",
	"ecpri", "mpls", "ipv4-chksum", "l4-chksum", "l2tpv2", "l3-pre96", "l3-pre64", "l3-pre56",
	"l3-pre48", "l3-pre40", "l3-pre32", "l2-dst-only", "l2-src-only", "l4-dst-only", "l4-src-only",
	"l3-dst-only", "l3-src-only"}

// RSSFuncs are the rss action's hash functions.
var RSSFuncs = []string{"default", "toeplitz", "simple_xor", "symmetric_toeplitz"}

// Action is one action of a rule.
type Action struct {
	Type ActionType
	// Value is the mark id, count identifier, queue index, ESP SA or TSO
	// segment size.
	Value uint32
	// Alg is the digest algorithm (one of DigestAlgs).
	Alg string
	// RSS is the rss action's configuration.
	RSS *RSS
}

// RSS configures the rss action.
type RSS struct {
	Func   string // one of RSSFuncs; "" is default
	Level  uint32
	Types  []string
	Queues []uint16
}

// Fate is the rule's fate action (drop, queue, rss or passthru), or 0 if
// it has none (the packet goes on as if unmatched).
func (r *Rule) Fate() ActionType {
	for _, a := range r.Actions {
		if a.Type.isFate() {
			return a.Type
		}
	}
	return 0
}

// Action returns the rule's action of type t, if it has one.
func (r *Rule) Action(t ActionType) (Action, bool) {
	for _, a := range r.Actions {
		if a.Type == t {
			return a, true
		}
	}
	return Action{}, false
}

// String writes the rule in the flow syntax, from its attributes to the
// last "end" (what follows `flow create <port>`). ParseRule reads it back
// to an equal rule.
func (r *Rule) String() string {
	var b strings.Builder
	if r.Group != 0 {
		fmt.Fprintf(&b, "group %d ", r.Group)
	}
	if r.Priority != 0 {
		fmt.Fprintf(&b, "priority %d ", r.Priority)
	}
	if r.Ingress {
		b.WriteString("ingress ")
	}
	if r.Egress {
		b.WriteString("egress ")
	}
	b.WriteString("pattern ")
	r.Pattern.format(&b)
	b.WriteString("end actions ")
	for _, a := range r.Actions {
		a.format(&b)
		b.WriteString(" / ")
	}
	b.WriteString("end")
	return b.String()
}

// Summary is the rule as `flow list` shows it: the item names, "=>" and
// the action names, upper case ("ETH IPV4 UDP => QUEUE COUNT").
func (r *Rule) Summary() string {
	var b strings.Builder
	for _, it := range r.Pattern.Items {
		b.WriteString(strings.ToUpper(it.String()))
		b.WriteByte(' ')
	}
	b.WriteString("=>")
	for _, a := range r.Actions {
		b.WriteByte(' ')
		b.WriteString(strings.ToUpper(a.Type.String()))
	}
	return b.String()
}

// ListLine is the rule's line in testpmd's `flow list` table (after the
// header "ID\tGroup\tPrio\tAttr\tRule").
func (r *Rule) ListLine() string {
	attr := []byte("---")
	if r.Ingress {
		attr[0] = 'i'
	}
	if r.Egress {
		attr[1] = 'e'
	}
	return fmt.Sprintf("%d\t%d\t%d\t%s\t%s", r.ID, r.Group, r.Priority, attr, r.Summary())
}

// ListHeader is the header of testpmd's `flow list` table.
const ListHeader = "ID\tGroup\tPrio\tAttr\tRule"

func (a *Action) format(b *strings.Builder) {
	b.WriteString(a.Type.String())
	switch a.Type {
	case ActionCount:
		if a.Value != 0 {
			fmt.Fprintf(b, " identifier %d", a.Value)
		}
	case ActionMark:
		fmt.Fprintf(b, " id %d", a.Value)
	case ActionQueue:
		fmt.Fprintf(b, " index %d", a.Value)
	case ActionESP:
		fmt.Fprintf(b, " sa %d", a.Value)
	case ActionTSO:
		fmt.Fprintf(b, " segsz %d", a.Value)
	case ActionDigest:
		if a.Alg != "" {
			fmt.Fprintf(b, " alg %s", a.Alg)
		}
	case ActionRSS:
		if a.RSS == nil {
			break
		}
		if a.RSS.Func != "" {
			fmt.Fprintf(b, " func %s", a.RSS.Func)
		}
		if a.RSS.Level != 0 {
			fmt.Fprintf(b, " level %d", a.RSS.Level)
		}
		if a.RSS.Types != nil {
			b.WriteString(" types")
			for _, t := range a.RSS.Types {
				b.WriteString(" " + t)
			}
			b.WriteString(" end")
		}
		if a.RSS.Queues != nil {
			b.WriteString(" queues")
			for _, q := range a.RSS.Queues {
				fmt.Fprintf(b, " %d", q)
			}
			b.WriteString(" end")
		}
	}
}

// format writes the pattern's items, each followed by " / ". Every
// constrained field is written with an explicit mask (or as "is"), so that
// no default mask applies when it is read back.
func (p *Pattern) format(b *strings.Builder) {
	for _, it := range p.Items {
		b.WriteString(it.String())
		for f := range NumFields {
			if fields[f].item != it || fields[f].name == "" {
				continue
			}
			if f == IPv6SrcHi || f == IPv6DstHi {
				p.formatIPv6(b, f)
				continue
			}
			c := p.Conds[f]
			if c.IsAny() {
				continue
			}
			name, w := fields[f].name, fields[f].bits
			val := func(v uint64) string { return formatValue(f, v) }
			if c.Lo == c.Hi && c.Mask == fullMask(w) {
				fmt.Fprintf(b, " %s is %s", name, val(c.Lo))
				continue
			}
			fmt.Fprintf(b, " %s spec %s", name, val(c.Lo))
			if c.Hi != c.Lo {
				fmt.Fprintf(b, " %s last %s", name, val(c.Hi))
			}
			if n, ok := prefixLen(c.Mask, w); ok && (f == IPv4Src || f == IPv4Dst) {
				fmt.Fprintf(b, " %s prefix %d", name, n)
			} else {
				fmt.Fprintf(b, " %s mask %s", name, formatMask(f, c.Mask))
			}
		}
		b.WriteString(" / ")
	}
}

func (p *Pattern) formatIPv6(b *strings.Builder, hi Field) {
	h, l := p.Conds[hi], p.Conds[hi+1]
	if h.IsAny() && l.IsAny() {
		return
	}
	name := fields[hi].name
	addr := ipv6Addr(h.Lo, l.Lo)
	if h.Mask == ^uint64(0) && l.Mask == ^uint64(0) {
		fmt.Fprintf(b, " %s is %s", name, addr)
		return
	}
	fmt.Fprintf(b, " %s spec %s", name, addr)
	if n, ok := prefix128(h.Mask, l.Mask); ok {
		fmt.Fprintf(b, " %s prefix %d", name, n)
	} else {
		fmt.Fprintf(b, " %s mask %s", name, ipv6Addr(h.Mask, l.Mask))
	}
}

// prefix128 is prefixLen for a 128-bit mask in two halves.
func prefix128(hi, lo uint64) (int, bool) {
	n, ok := prefixLen(hi, 64)
	if n < 64 {
		return n, ok && lo == 0
	}
	m, ok := prefixLen(lo, 64)
	return 64 + m, ok
}

func ipv6Addr(hi, lo uint64) string {
	var a [16]byte
	be.PutUint64(a[:], hi)
	be.PutUint64(a[8:], lo)
	return netip.AddrFrom16(a).String()
}

func formatMAC(v uint64) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func formatIPv4(v uint64) string {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

// formatValue writes a field value as the parser reads it.
func formatValue(f Field, v uint64) string {
	switch f {
	case EthDst, EthSrc:
		return formatMAC(v)
	case IPv4Src, IPv4Dst:
		return formatIPv4(v)
	case EthType, VLANInnerType, VLANTCI, TCPFlags:
		return "0x" + strconv.FormatUint(v, 16)
	}
	return strconv.FormatUint(v, 10)
}

func formatMask(f Field, v uint64) string {
	switch f {
	case EthDst, EthSrc:
		return formatMAC(v)
	case IPv4Src, IPv4Dst:
		return formatIPv4(v)
	}
	return "0x" + strconv.FormatUint(v, 16)
}
