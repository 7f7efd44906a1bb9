package classify

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Op is a flow command.
type Op uint8

// Flow commands (testpmd's `flow create|validate|destroy|flush|list|query`).
const (
	OpCreate Op = iota + 1
	OpValidate
	OpDestroy
	OpFlush
	OpList
	OpQuery
)

var opNames = []string{OpCreate: "create", OpValidate: "validate", OpDestroy: "destroy", OpFlush: "flush", OpList: "list", OpQuery: "query"}

func (o Op) String() string {
	if o > 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "unknown"
}

// Command is one parsed `flow ...` line.
type Command struct {
	Op   Op
	Port uint16
	// Rule is the rule of create and validate.
	Rule *Rule
	// IDs are the rules of destroy, and the one rule of query.
	IDs []RuleID
	// Groups are list's group filters (none: every group).
	Groups []uint32
	// Query is the action query reads (count).
	Query ActionType
}

// ErrSyntax is what every parse error wraps (errors.Is).
var ErrSyntax = errors.New("flow syntax error")

// SyntaxError says which token of a flow line is wrong and what may stand
// there instead. Tokens are counted from 1 ("flow" is token 1); a line
// that ends too early is wrong at the token after its last.
type SyntaxError struct {
	Pos   int    // the token's number
	Col   int    // its byte offset in the line
	Token string // the token; "" at the end of the line
	Msg   string
	// Allowed are the words that may stand there, Value the kind of value
	// ("<port>", "<ipv4 address>"); either may be empty.
	Allowed []string
	Value   string
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	if e.Token == "" {
		fmt.Fprintf(&b, "flow: token %d (end of line): %s", e.Pos, e.Msg)
	} else {
		fmt.Fprintf(&b, "flow: token %d %q: %s", e.Pos, e.Token, e.Msg)
	}
	var alt []string
	alt = append(alt, e.Allowed...)
	if e.Value != "" {
		alt = append(alt, e.Value)
	}
	if len(alt) > 0 {
		b.WriteString("; allowed: ")
		b.WriteString(strings.Join(alt, ", "))
	}
	return b.String()
}

// Is makes errors.Is(err, ErrSyntax) true.
func (e *SyntaxError) Is(target error) bool { return target == ErrSyntax }

// ParseCommand parses a whole `flow ...` line.
func ParseCommand(line string) (Command, error) {
	p := newParser(line)
	c, err := p.command()
	if err != nil {
		return Command{}, err
	}
	return *c, nil
}

// ParseRule parses a rule as it follows `flow create <port>`: attributes,
// pattern and actions ("ingress pattern eth / ipv4 / end actions drop /
// end"). Token numbers in its errors count from the rule's first word.
func ParseRule(s string) (*Rule, error) {
	p := newParser(s)
	r, err := p.rule()
	if err != nil {
		return nil, err
	}
	return r, p.end()
}

// Completion is what may follow the tokens given to Complete.
type Completion struct {
	// Words are the keywords that may come next.
	Words []string
	// Value, if not empty, is the kind of value that may come next
	// ("<port>", "<ipv4 address>", ...).
	Value string
}

// Complete lists what may follow tokens, the words of a `flow` line typed
// so far (tokens[0] is "flow"; the word being typed is not included). It
// is empty if the tokens are already wrong.
func Complete(tokens []string) Completion {
	p := &parser{}
	for _, t := range tokens {
		p.toks = append(p.toks, token{s: t})
	}
	p.complete = true
	_, err := p.command()
	var se *SyntaxError
	if errors.As(err, &se) {
		if se.Pos == len(tokens)+1 {
			return Completion{Words: se.Allowed, Value: se.Value}
		}
		return Completion{}
	}
	return Completion{Words: p.more}
}

type token struct {
	s   string
	col int
}

type parser struct {
	line string
	toks []token
	i    int
	// more lists what could have followed when the line ended where it
	// was allowed to (for Complete).
	more     []string
	complete bool
}

func newParser(line string) *parser {
	p := &parser{line: line}
	start := -1
	for i := 0; i <= len(line); i++ {
		sp := i == len(line) || line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r'
		switch {
		case sp && start >= 0:
			p.toks = append(p.toks, token{line[start:i], start})
			start = -1
		case !sp && start < 0:
			start = i
		}
	}
	return p
}

// errAt is a syntax error at token i.
func (p *parser) errAt(i int, msg string, allowed []string, value string) *SyntaxError {
	e := &SyntaxError{Pos: i + 1, Msg: msg, Allowed: allowed, Value: value, Col: len(p.line)}
	if i < len(p.toks) {
		e.Token, e.Col = p.toks[i].s, p.toks[i].col
	}
	return e
}

func (p *parser) atEnd() bool { return p.i >= len(p.toks) }

// word reads a keyword from allowed. what names the position for errors
// ("item", "action", ...); missing is the message at the end of the line.
func (p *parser) word(what, missing string, allowed []string) (string, error) {
	if p.atEnd() {
		return "", p.errAt(p.i, missing, allowed, "")
	}
	t := p.toks[p.i].s
	if !slices.Contains(allowed, t) {
		return "", p.errAt(p.i, fmt.Sprintf("unknown %s%s", what, suggest(t, allowed)), allowed, "")
	}
	p.i++
	return t, nil
}

// optional peeks at the next token: it returns "" at the end of the line,
// which the caller's position allows, noting what could have followed.
func (p *parser) optional(allowed []string) string {
	if p.atEnd() {
		p.more = allowed
		return ""
	}
	return p.toks[p.i].s
}

// number reads an unsigned integer of at most bits bits (decimal, 0x hex
// or 0 octal, as strtoumax in testpmd), at least lo.
func (p *parser) number(what, value string, bits int, lo uint64) (uint64, error) {
	if p.atEnd() {
		return 0, p.errAt(p.i, "missing "+what, nil, value)
	}
	t := p.toks[p.i].s
	n, err := strconv.ParseUint(t, 0, bits)
	if err != nil || n < lo {
		msg := fmt.Sprintf("bad %s: not an unsigned integer", what)
		var ne *strconv.NumError
		switch {
		case err == nil:
			msg = fmt.Sprintf("bad %s: below %d", what, lo)
		case errors.As(err, &ne) && ne.Err == strconv.ErrRange:
			msg = fmt.Sprintf("bad %s: does not fit in %d bits", what, bits)
		}
		return 0, p.errAt(p.i, msg, nil, value)
	}
	p.i++
	return n, nil
}

// end checks that nothing follows.
func (p *parser) end() error {
	if !p.atEnd() {
		return p.errAt(p.i, "unexpected token after the end of the command", nil, "")
	}
	return nil
}

var commandWords = []string{"create", "validate", "destroy", "flush", "list", "query"}

func (p *parser) command() (*Command, error) {
	if _, err := p.word("command", "missing flow", []string{"flow"}); err != nil {
		return nil, err
	}
	w, err := p.word("command", "missing command", commandWords)
	if err != nil {
		return nil, err
	}
	c := &Command{Op: Op(slices.Index(commandWords, w) + 1)}
	port, err := p.number("port", "<port>", 16, 0)
	if err != nil {
		return nil, err
	}
	c.Port = uint16(port)
	switch c.Op {
	case OpCreate, OpValidate:
		if c.Rule, err = p.rule(); err != nil {
			return nil, err
		}
	case OpDestroy:
		if _, err := p.word("argument", "missing rule", []string{"rule"}); err != nil {
			return nil, err
		}
		for {
			id, err := p.number("rule id", "<rule id>", 32, 0)
			if err != nil {
				return nil, err
			}
			c.IDs = append(c.IDs, RuleID(id))
			if p.optional([]string{"rule"}) == "" {
				break
			}
			if _, err := p.word("argument", "", []string{"rule"}); err != nil {
				return nil, err
			}
		}
	case OpList:
		for p.optional([]string{"group"}) != "" {
			if _, err := p.word("argument", "", []string{"group"}); err != nil {
				return nil, err
			}
			g, err := p.number("group", "<group>", 32, 0)
			if err != nil {
				return nil, err
			}
			c.Groups = append(c.Groups, uint32(g))
		}
	case OpQuery:
		id, err := p.number("rule id", "<rule id>", 32, 0)
		if err != nil {
			return nil, err
		}
		c.IDs = []RuleID{RuleID(id)}
		if _, err := p.word("action to query", "missing action to query", []string{"count"}); err != nil {
			return nil, err
		}
		c.Query = ActionCount
	}
	return c, p.end()
}

var attrWords = []string{"group", "priority", "ingress", "egress", "transfer", "pattern"}

// rule parses attributes, pattern and actions.
func (p *parser) rule() (*Rule, error) {
	r := &Rule{}
	seen := map[string]bool{}
	for {
		start := p.i
		w, err := p.word("attribute", "missing pattern", attrWords)
		if err != nil {
			return nil, err
		}
		if w == "pattern" {
			break
		}
		if seen[w] {
			return nil, p.errAt(start, "duplicate attribute "+w, nil, "")
		}
		seen[w] = true
		switch w {
		case "group":
			g, err := p.number("group", "<group>", 32, 0)
			if err != nil {
				return nil, err
			}
			r.Group = uint32(g)
		case "priority":
			n, err := p.number("priority", "<priority>", 32, 0)
			if err != nil {
				return nil, err
			}
			r.Priority = uint32(n)
		case "ingress":
			r.Ingress = true
		case "egress":
			r.Egress = true
		case "transfer":
			return nil, p.errAt(start, "transfer is not supported (offloadpmd has no switch domain)", nil, "")
		}
	}
	if err := p.pattern(&r.Pattern); err != nil {
		return nil, err
	}
	if _, err := p.word("token after the pattern", "missing actions", []string{"actions"}); err != nil {
		return nil, err
	}
	if err := p.actions(r); err != nil {
		return nil, err
	}
	return r, nil
}

// valueKind is how a field's values are written.
type valueKind uint8

const (
	kindUint valueKind = iota
	kindMAC
	kindIPv4
	kindIPv6
)

var kindHints = []string{kindUint: "<unsigned integer>", kindMAC: "<MAC address>", kindIPv4: "<IPv4 address>", kindIPv6: "<IPv6 address>"}

// view is a field as the syntax names it: a field, or some bits of one
// (vlan pcp, dei and vid are bits of the TCI), or for IPv6 addresses two
// fields (field and field+1) of 128 bits.
type view struct {
	name  string
	field Field
	shift uint8
	bits  uint8
	kind  valueKind
	// defMask is the mask of a value given with spec alone: rte_flow's
	// default mask for the item where it covers the field, otherwise the
	// whole field (rte_flow would ignore the value; offloadpmd matches
	// it).
	defMask uint64
}

var itemViews = [numItems][]view{
	ItemEth: {
		{name: "dst", field: EthDst, bits: 48, kind: kindMAC},
		{name: "src", field: EthSrc, bits: 48, kind: kindMAC},
		{name: "type", field: EthType, bits: 16},
	},
	ItemVLAN: {
		{name: "tci", field: VLANTCI, bits: 16, defMask: 0x0fff},
		{name: "pcp", field: VLANTCI, shift: 13, bits: 3},
		{name: "dei", field: VLANTCI, shift: 12, bits: 1},
		{name: "vid", field: VLANTCI, bits: 12},
		{name: "inner_type", field: VLANInnerType, bits: 16},
	},
	ItemIPv4: {
		{name: "tos", field: IPv4TOS, bits: 8},
		{name: "ttl", field: IPv4TTL, bits: 8},
		{name: "proto", field: IPv4Proto, bits: 8},
		{name: "src", field: IPv4Src, bits: 32, kind: kindIPv4},
		{name: "dst", field: IPv4Dst, bits: 32, kind: kindIPv4},
	},
	ItemIPv6: {
		{name: "proto", field: IPv6Proto, bits: 8},
		{name: "src", field: IPv6SrcHi, bits: 128, kind: kindIPv6},
		{name: "dst", field: IPv6DstHi, bits: 128, kind: kindIPv6},
	},
	ItemTCP: {
		{name: "src", field: TCPSrc, bits: 16},
		{name: "dst", field: TCPDst, bits: 16},
		{name: "flags", field: TCPFlags, bits: 8},
	},
	ItemUDP: {
		{name: "src", field: UDPSrc, bits: 16},
		{name: "dst", field: UDPDst, bits: 16},
	},
	ItemICMP: {
		{name: "type", field: ICMPType, bits: 8},
		{name: "code", field: ICMPCode, bits: 8},
	},
}

// unsupportedFields are testpmd's fields of these items that offloadpmd
// does not match on.
var unsupportedFields = map[ItemType][]string{
	ItemEth:  {"has_vlan"},
	ItemVLAN: {"has_more_vlan"},
	ItemIPv4: {"version_ihl", "packet_id", "fragment_offset"},
	ItemIPv6: {"tc", "flow", "hop", "has_frag_ext"},
	ItemICMP: {"ident", "seq"},
}

func itemWords() []string {
	w := make([]string, 0, numItems)
	for t := ItemEth; t < numItems; t++ {
		w = append(w, t.String())
	}
	return w
}

func viewWords(t ItemType) []string {
	var w []string
	for _, v := range itemViews[t] {
		w = append(w, v.name)
	}
	return append(w, "/")
}

var modifierWords = []string{"is", "spec", "last", "mask", "prefix"}

// u128 is a value of up to 128 bits.
type u128 struct{ hi, lo uint64 }

func (a u128) and(b u128) u128 { return u128{a.hi & b.hi, a.lo & b.lo} }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// maskOf is the all-ones value of a view, or its prefix of n bits.
func maskOf(bits uint8, n int) u128 {
	if bits == 128 {
		switch {
		case n <= 64:
			return u128{^uint64(0) &^ (^uint64(0) >> n), 0}
		default:
			return u128{^uint64(0), ^uint64(0) &^ (^uint64(0) >> (n - 64))}
		}
	}
	full := fullMask(bits)
	return u128{0, full &^ (full >> n)}
}

// fieldArgs collects what one item says of one view.
type fieldArgs struct {
	v                 *view
	nameTok           int
	spec, last, mask  u128
	specTok, lastTok  int // token index + 1; 0: not given
	maskTok, isTok    int
	prefixTok, viaTok int
}

// pattern parses items up to "/ end" (or a lone "end").
func (p *parser) pattern(pat *Pattern) error {
	allowed := append(itemWords(), "end")
	prevLayer := 0
	for {
		start := p.i
		w, err := p.word("item", "missing pattern items and \"end\"", allowed)
		if err != nil {
			return err
		}
		if w == "end" {
			return nil
		}
		t := ItemType(slices.Index(itemWords(), w) + 1)
		switch {
		case pat.Has(t):
			return p.errAt(start, "duplicate item "+w, nil, "")
		case t.layer() <= prevLayer:
			return p.errAt(start, fmt.Sprintf("item %s cannot follow %s", w, pat.Items[len(pat.Items)-1]), nil, "")
		case t == ItemICMP && pat.L3 == L3IPv6:
			return p.errAt(start, "icmp matches ICMP for IPv4 and cannot follow ipv6", nil, "")
		}
		prevLayer = t.layer()
		pat.Items = append(pat.Items, t)
		switch t {
		case ItemVLAN:
			pat.VLAN = true
		case ItemIPv4:
			pat.L3 = L3IPv4
		case ItemIPv6:
			pat.L3 = L3IPv6
		case ItemTCP, ItemUDP, ItemICMP:
			pat.L4 = l4Proto(t)
			for _, pf := range []Field{IPv4Proto, IPv6Proto} {
				if c := pat.Conds[pf]; !c.IsAny() && !c.Match(uint64(pat.L4)) {
					return p.errAt(start, fmt.Sprintf("item %s (protocol %d) contradicts %s %d", w, pat.L4, pf, c.Lo), nil, "")
				}
			}
		}
		if err := p.itemFields(t, pat); err != nil {
			return err
		}
	}
}

// itemFields parses an item's fields up to the "/" after it.
func (p *parser) itemFields(t ItemType, pat *Pattern) error {
	var args []*fieldArgs
	words := viewWords(t)
	for {
		if p.atEnd() {
			return p.errAt(p.i, fmt.Sprintf("missing \"/\" after item %s (the pattern ends with \"/ end\")", t), words, "")
		}
		name := p.toks[p.i].s
		if name == "/" {
			p.i++
			break
		}
		vi := slices.IndexFunc(itemViews[t], func(v view) bool { return v.name == name })
		if vi < 0 {
			msg := fmt.Sprintf("unknown field of %s%s", t, suggest(name, words))
			if slices.Contains(unsupportedFields[t], name) {
				msg = fmt.Sprintf("field %s of %s is not supported", name, t)
			}
			return p.errAt(p.i, msg, words, "")
		}
		v := &itemViews[t][vi]
		ai := slices.IndexFunc(args, func(a *fieldArgs) bool { return a.v == v })
		if ai < 0 {
			args = append(args, &fieldArgs{v: v, nameTok: p.i})
			ai = len(args) - 1
		}
		p.i++
		if err := p.modifier(args[ai]); err != nil {
			return err
		}
	}
	for _, a := range args {
		if err := p.applyField(a, pat); err != nil {
			return err
		}
	}
	return nil
}

// modifier parses "is|spec|last|mask|prefix <value>" after a field name.
func (p *parser) modifier(a *fieldArgs) error {
	v := a.v
	mtok := p.i
	m, err := p.word("modifier", fmt.Sprintf("missing modifier after field %s", v.name), modifierWords)
	if err != nil {
		return err
	}
	toks := map[string]int{"is": a.isTok, "spec": a.specTok, "last": a.lastTok, "mask": a.maskTok, "prefix": a.prefixTok}
	excludes := map[string][]string{
		"is":     {"is", "spec", "mask", "prefix"},
		"spec":   {"spec", "is"},
		"last":   {"last"},
		"mask":   {"mask", "prefix", "is"},
		"prefix": {"prefix", "mask", "is"},
	}
	for _, other := range excludes[m] {
		if prev := toks[other]; prev != 0 {
			if other == m {
				return p.errAt(mtok, fmt.Sprintf("duplicate %s for field %s (first at token %d)", m, v.name, prev), nil, "")
			}
			return p.errAt(mtok, fmt.Sprintf("%s conflicts with %s of field %s at token %d", m, other, v.name, prev), nil, "")
		}
	}
	if m == "last" && v.kind == kindIPv6 {
		return p.errAt(mtok, "ranges (last) of IPv6 addresses are not supported; use prefix or mask", nil, "")
	}
	if m == "prefix" {
		hint := fmt.Sprintf("<prefix length 0-%d>", v.bits)
		n, err := p.number("prefix length", hint, 8, 0)
		if err != nil {
			return err
		}
		if n > uint64(v.bits) {
			return p.errAt(p.i-1, fmt.Sprintf("bad prefix length %d: field %s has %d bits", n, v.name, v.bits), nil, hint)
		}
		a.mask, a.prefixTok = maskOf(v.bits, int(n)), mtok+1
		return nil
	}
	val, err := p.value(v, m)
	if err != nil {
		return err
	}
	switch m {
	case "is":
		a.spec, a.mask, a.isTok = val, maskOf(v.bits, int(v.bits)), mtok+1
	case "spec":
		a.spec, a.specTok = val, mtok+1
	case "last":
		a.last, a.lastTok = val, mtok+1
	case "mask":
		a.mask, a.maskTok = val, mtok+1
	}
	return nil
}

// value reads a value of view v.
func (p *parser) value(v *view, m string) (u128, error) {
	hint := kindHints[v.kind]
	what := "value"
	if m == "mask" {
		what = "mask"
	}
	if p.atEnd() {
		return u128{}, p.errAt(p.i, fmt.Sprintf("missing %s of field %s", what, v.name), nil, hint)
	}
	t := p.toks[p.i].s
	bad := func(why string) (u128, error) {
		return u128{}, p.errAt(p.i, fmt.Sprintf("bad %s of field %s: %s", what, v.name, why), nil, hint)
	}
	var out u128
	switch v.kind {
	case kindUint:
		n, err := strconv.ParseUint(t, 0, 64)
		if err != nil {
			return bad("not an unsigned integer")
		}
		if n > fullMask(v.bits) {
			return bad(fmt.Sprintf("%s does not fit in %d bits", t, v.bits))
		}
		out.lo = n
	case kindMAC:
		hw, err := net.ParseMAC(t)
		if err != nil || len(hw) != 6 {
			return bad("not a MAC address (xx:xx:xx:xx:xx:xx)")
		}
		out.lo = mac48(hw)
	case kindIPv4:
		a, err := netip.ParseAddr(t)
		if err != nil || !a.Is4() {
			return bad("not an IPv4 address")
		}
		out.lo = uint64(be.Uint32(a.AsSlice()))
	case kindIPv6:
		a, err := netip.ParseAddr(t)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return bad("not an IPv6 address")
		}
		b := a.As16()
		out = u128{be.Uint64(b[:8]), be.Uint64(b[8:])}
	}
	p.i++
	return out, nil
}

// applyField checks what was said of one view and writes its constraint
// into the pattern.
func (p *parser) applyField(a *fieldArgs, pat *Pattern) error {
	v := a.v
	specTok := max(a.specTok, a.isTok)
	if specTok == 0 {
		switch {
		case a.lastTok != 0:
			return p.errAt(a.lastTok-1, fmt.Sprintf("last of field %s without spec", v.name), nil, "")
		default:
			return p.errAt(max(a.maskTok, a.prefixTok)-1, fmt.Sprintf("mask of field %s without spec", v.name), nil, "")
		}
	}
	mask := a.mask
	if a.maskTok == 0 && a.prefixTok == 0 && a.isTok == 0 {
		mask = maskOf(v.bits, int(v.bits))
		if v.defMask != 0 {
			mask.lo = v.defMask
		}
	}
	lo := a.spec.and(mask)
	hi := lo
	if a.lastTok != 0 {
		if a.last.less(a.spec) {
			return p.errAt(a.lastTok, fmt.Sprintf("range of field %s: last %d is below spec %d", v.name, a.last.lo, a.spec.lo), nil, "")
		}
		hi = a.last.and(mask)
		if hi.less(lo) {
			return p.errAt(a.lastTok, fmt.Sprintf("range of field %s: last is below spec under mask %#x", v.name, mask.lo), nil, "")
		}
	}
	if v.kind == kindIPv6 {
		pat.Conds[v.field] = Cond{Lo: lo.hi, Hi: lo.hi, Mask: mask.hi}
		pat.Conds[v.field+1] = Cond{Lo: lo.lo, Hi: lo.lo, Mask: mask.lo}
		return nil
	}
	c := &pat.Conds[v.field]
	if c.Mask&(mask.lo<<v.shift) != 0 {
		return p.errAt(a.nameTok, fmt.Sprintf("field %s overlaps another field of %s given before", v.name, v.field.Item()), nil, "")
	}
	c.Lo |= lo.lo << v.shift
	c.Hi |= hi.lo << v.shift
	c.Mask |= mask.lo << v.shift
	return nil
}

var (
	actionWords = []string{"drop", "count", "mark", "queue", "rss", "passthru", "esp", "digest", "tso", "csum"}
	actionArgs  = [numActions][]string{
		ActionCount:  {"identifier"},
		ActionMark:   {"id"},
		ActionQueue:  {"index"},
		ActionRSS:    {"func", "level", "types", "queues"},
		ActionDigest: {"alg"},
	}
)

// actions parses actions up to "/ end" (or a lone "end").
func (p *parser) actions(r *Rule) error {
	allowed := append(slices.Clone(actionWords), "end")
	at := map[ActionType]int{}
	for {
		start := p.i
		w, err := p.word("action", "missing actions and \"end\"", allowed)
		if err != nil {
			return err
		}
		if w == "end" {
			return nil
		}
		a := Action{Type: ActionType(slices.Index(actionWords, w) + 1)}
		if prev, ok := at[a.Type]; ok {
			return p.errAt(start, fmt.Sprintf("duplicate action %s (first at token %d)", w, prev+1), nil, "")
		}
		for t, prev := range at {
			switch {
			case a.Type.isFate() && t.isFate():
				return p.errAt(start, fmt.Sprintf("%s conflicts with %s at token %d: a rule has one fate (drop, queue, rss or passthru)", w, t, prev+1), nil, "")
			case a.Type == ActionDrop && t.isTask() || a.Type.isTask() && t == ActionDrop:
				return p.errAt(start, fmt.Sprintf("%s conflicts with %s at token %d: a dropped packet takes no tasks", w, t, prev+1), nil, "")
			}
		}
		at[a.Type] = start
		if err := p.actionArgs(&a); err != nil {
			return err
		}
		r.Actions = append(r.Actions, a)
	}
}

// actionArgs parses an action's arguments up to the "/" after it.
func (p *parser) actionArgs(a *Action) error {
	// Required arguments come first.
	switch a.Type {
	case ActionESP:
		if _, err := p.word("argument of esp", "missing sa of esp", []string{"sa"}); err != nil {
			return err
		}
		n, err := p.number("security association", "<sa>", 32, 0)
		if err != nil {
			return err
		}
		a.Value = uint32(n)
	case ActionTSO:
		if _, err := p.word("argument of tso", "missing segsz of tso", []string{"segsz"}); err != nil {
			return err
		}
		n, err := p.number("segment size", "<segsz 1-65535>", 16, 1)
		if err != nil {
			return err
		}
		a.Value = uint32(n)
	case ActionRSS:
		a.RSS = &RSS{}
	}
	words := append(slices.Clone(actionArgs[a.Type]), "/")
	seen := map[string]int{}
	for {
		if p.atEnd() {
			return p.errAt(p.i, fmt.Sprintf("missing \"/\" after action %s (the actions end with \"/ end\")", a.Type), words, "")
		}
		start := p.i
		w, err := p.word("argument of "+a.Type.String(), "", words)
		if err != nil {
			return err
		}
		if w == "/" {
			return nil
		}
		if prev, ok := seen[w]; ok {
			return p.errAt(start, fmt.Sprintf("duplicate %s of %s (first at token %d)", w, a.Type, prev+1), nil, "")
		}
		seen[w] = start
		switch w {
		case "identifier", "id":
			n, err := p.number(w, "<"+w+">", 32, 0)
			if err != nil {
				return err
			}
			a.Value = uint32(n)
		case "index":
			n, err := p.number("queue index", "<queue>", 16, 0)
			if err != nil {
				return err
			}
			a.Value = uint32(n)
		case "alg":
			alg, err := p.word("digest algorithm", "missing digest algorithm", DigestAlgs)
			if err != nil {
				return err
			}
			a.Alg = alg
		case "func":
			f, err := p.word("RSS function", "missing RSS function", RSSFuncs)
			if err != nil {
				return err
			}
			a.RSS.Func = f
		case "level":
			n, err := p.number("RSS level", "<level>", 32, 0)
			if err != nil {
				return err
			}
			a.RSS.Level = uint32(n)
		case "types":
			a.RSS.Types = []string{}
			for {
				t, err := p.word("RSS type", "missing RSS types and \"end\"", append(slices.Clone(RSSTypes), "end"))
				if err != nil {
					return err
				}
				if t == "end" {
					break
				}
				a.RSS.Types = append(a.RSS.Types, t)
			}
		case "queues":
			a.RSS.Queues = []uint16{}
			for {
				if !p.atEnd() && p.toks[p.i].s == "end" {
					p.i++
					break
				}
				if p.atEnd() {
					return p.errAt(p.i, "missing RSS queues and \"end\"", []string{"end"}, "<queue>")
				}
				q, err := p.number("RSS queue", "<queue>", 16, 0)
				if err != nil {
					e := err.(*SyntaxError)
					e.Allowed = []string{"end"}
					return e
				}
				a.RSS.Queues = append(a.RSS.Queues, uint16(q))
			}
		}
	}
}

// suggest names the allowed word closest to s, if one is close.
func suggest(s string, allowed []string) string {
	best, bestD := "", len(s)/3+2
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(s), a); d < bestD {
			best, bestD = a, d
		}
	}
	if best == "" || best == s {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is Levenshtein's distance with a swap of two neighbouring
// letters counted as one edit.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
