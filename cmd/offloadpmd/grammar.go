package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pipeline"
)

// A command's arguments are written as a small grammar, from which the
// prompt checks arity and values, completes words and prints help:
//
//	on|off          one of these words
//	<port>          a placeholder (see placeholders)
//	all|<port>      a word or a placeholder
//	[retry]         an optional slot; optional slots come last
//	{esn}           a keyword option, after the slots: in any order, each
//	{ttl <ttl>}     at most once, alone or with one value
//
// Commands sharing their words (`show port <port> offload`, `show port
// <port> rx_offload ...`) are variants: the first whose grammar accepts the
// arguments runs.

// slot is one argument position, or a keyword option.
type slot struct {
	alts     []string // words and <placeholders>; an option's keyword
	optional bool
	option   bool     // a {keyword [value]} option
	value    []string // an option's value: words and <placeholders>; nil: a flag
}

// grammar is a command's parsed argument list.
type grammar []slot

func parseGrammar(s string) grammar {
	var g grammar
	toks := strings.Fields(s)
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		if strings.HasPrefix(tok, "{") {
			group := []string{strings.TrimPrefix(tok, "{")}
			for !strings.HasSuffix(group[len(group)-1], "}") && i+1 < len(toks) {
				i++
				group = append(group, toks[i])
			}
			group[len(group)-1] = strings.TrimSuffix(group[len(group)-1], "}")
			sl := slot{alts: group[:1], optional: true, option: true}
			if len(group) > 1 {
				sl.value = strings.Split(group[1], "|")
			}
			g = append(g, sl)
			continue
		}
		sl := slot{}
		if strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]") {
			sl.optional = true
			tok = tok[1 : len(tok)-1]
		}
		sl.alts = strings.Split(tok, "|")
		g = append(g, sl)
	}
	return g
}

func (g grammar) arity() (lo, hi int) {
	for _, s := range g {
		if !s.optional {
			lo++
		}
		hi++
		if s.value != nil {
			hi++
		}
	}
	return lo, hi
}

// split separates the slots from the keyword options that follow them.
func (g grammar) split() (slots, opts grammar) {
	for i, s := range g {
		if s.option {
			return g[:i], g[i:]
		}
	}
	return g, nil
}

// option finds the option whose keyword is w.
func (g grammar) option(w string) int {
	return slices.IndexFunc(g, func(s slot) bool { return s.alts[0] == w })
}

func (g grammar) keywords() []string {
	k := make([]string, len(g))
	for i, s := range g {
		k[i] = s.alts[0]
	}
	return k
}

// placeholder checks a value and lists candidates for completion.
type placeholder struct {
	check    func(a *app, v string) error
	complete func(a *app) []string
}

var placeholders map[string]placeholder

func init() {
	number := func(lo, hi uint64) placeholder {
		return placeholder{check: func(_ *app, v string) error {
			n, err := strconv.ParseUint(v, 0, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", v)
			}
			if n < lo || n > hi {
				return fmt.Errorf("%d is out of range %d..%d", n, lo, hi)
			}
			return nil
		}}
	}
	words := func(what string, list func() []string) placeholder {
		return placeholder{
			check: func(_ *app, v string) error {
				if slices.Contains(list(), v) {
					return nil
				}
				return fmt.Errorf("unknown %s %q%s; allowed: %s", what, v, config.Suggest(v, list()), strings.Join(list(), ", "))
			},
			complete: func(*app) []string { return list() },
		}
	}
	placeholders = map[string]placeholder{
		"<port>": {
			check: func(a *app, v string) error {
				n, err := strconv.ParseUint(v, 10, 16)
				if err != nil || !slices.Contains(a.knownPorts(), uint16(n)) {
					return fmt.Errorf("invalid port %q; the valid ports are %s", v, portList(a.knownPorts()))
				}
				return nil
			},
			complete: func(a *app) []string {
				var s []string
				for _, id := range a.knownPorts() {
					s = append(s, strconv.Itoa(int(id)))
				}
				return s
			},
		},
		"<n>":       number(0, 1<<32-1),
		"<burst>":   number(1, 512),
		"<level>":   number(0, 255),
		"<segsz>":   number(0, 65535),
		"<seconds>": number(1, 3600),
		"<count>":   number(1, 1<<20),
		"<packets>": number(0, 1<<20),
		"<engine>": words("forwarding mode", func() []string {
			var n []string
			for _, e := range pipeline.Engines {
				n = append(n, e.Name)
			}
			return n
		}),
		"<rx_cap>": words("RX capability", func() []string { return offload.AllRxCaps().Names() }),
		"<tx_cap>": words("TX capability", func() []string { return offload.AllTxCaps().Names() }),
	}
	maps.Copy(placeholders, saPlaceholders(number))
	maps.Copy(placeholders, digestPlaceholders(number))
	maps.Copy(placeholders, dosPlaceholders())
}

func portList(ids []uint16) string {
	if len(ids) == 0 {
		return "(none)"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, " ")
}

// matchSlot checks one argument against a slot; it returns an error saying
// what the slot allows.
func (a *app) matchSlot(s slot, v string) error {
	var holders []string
	for _, alt := range s.alts {
		if !strings.HasPrefix(alt, "<") {
			if alt == v {
				return nil
			}
			continue
		}
		holders = append(holders, alt)
	}
	var last error
	for _, h := range holders {
		if last = placeholders[h].check(a, v); last == nil {
			return nil
		}
	}
	if len(holders) == 1 && len(s.alts) == 1 {
		return last
	}
	if last != nil {
		return fmt.Errorf("%q is not %s (%v)", v, strings.Join(s.alts, " or "), last)
	}
	return fmt.Errorf("%q is not one of %s%s", v, strings.Join(s.alts, ", "), config.Suggest(v, s.alts))
}

// match checks a whole argument list against the grammar. depth is how
// many arguments were accepted before it failed, which tells the closest
// of several variants.
func (a *app) match(g grammar, args []string) (depth int, err error) {
	slots, opts := g.split()
	for i, v := range args[:min(len(args), len(slots))] {
		if err := a.matchSlot(g[i], v); err != nil {
			return i, fmt.Errorf("argument %d: %w", i+1, err)
		}
	}
	if len(opts) > 0 && len(args) > len(slots) {
		if depth, err := a.matchOptions(opts, args, len(slots)); err != nil {
			return depth, err
		}
	}
	lo, hi := g.arity()
	if len(args) < lo || len(opts) == 0 && len(args) > hi {
		want := fmt.Sprintf("%d", lo)
		if hi != lo {
			want = fmt.Sprintf("%d to %d", lo, hi)
		}
		return len(args), fmt.Errorf("%d argument%s given, %s expected", len(args), plural(len(args)), want)
	}
	return len(args), nil
}

// matchOptions checks args[from:] as keyword options.
func (a *app) matchOptions(opts grammar, args []string, from int) (depth int, err error) {
	used := make([]bool, len(opts))
	for i := from; i < len(args); i++ {
		k := opts.option(args[i])
		if k < 0 {
			names := opts.keywords()
			if isHexWord(args[i]) {
				// Perhaps a piece of a key typed with spaces: never echo it.
				return i, fmt.Errorf("argument %d: a word of hex digits is not one of %s (a key is one word, without spaces)", i+1, strings.Join(names, ", "))
			}
			return i, fmt.Errorf("argument %d: %q is not one of %s%s", i+1, args[i], strings.Join(names, ", "), config.Suggest(args[i], names))
		}
		if used[k] {
			return i, fmt.Errorf("argument %d: %s given twice", i+1, args[i])
		}
		used[k] = true
		if opts[k].value == nil {
			continue
		}
		if i+1 == len(args) {
			return i + 1, fmt.Errorf("argument %d: %s needs a value: %s", i+1, args[i], strings.Join(opts[k].value, "|"))
		}
		i++
		if err := a.matchSlot(slot{alts: opts[k].value}, args[i]); err != nil {
			return i, fmt.Errorf("argument %d (%s): %w", i+1, args[i-1], err)
		}
	}
	return len(args), nil
}

// isHexWord reports whether w is all hex digits (after a 0x), as a key or
// a piece of one is.
func isHexWord(w string) bool {
	w = strings.TrimPrefix(strings.TrimPrefix(w, "0x"), "0X")
	return w != "" && strings.Trim(w, "0123456789abcdefABCDEF:") == ""
}

// nextAlts is what may follow args in grammar g: the next slot's words
// and placeholders, the value of an option just named, or the options not
// yet given; nil when nothing may, or args do not match.
func (a *app) nextAlts(g grammar, args []string) []string {
	slots, opts := g.split()
	for j, v := range args[:min(len(args), len(slots))] {
		if a.matchSlot(slots[j], v) != nil {
			return nil
		}
	}
	if len(args) < len(slots) {
		return slots[len(args)].alts
	}
	used := make([]bool, len(opts))
	for i := len(slots); i < len(args); i++ {
		k := opts.option(args[i])
		if k < 0 {
			return nil
		}
		used[k] = true
		if opts[k].value != nil {
			if i+1 == len(args) {
				return opts[k].value
			}
			i++
		}
	}
	var out []string
	for k, o := range opts {
		if !used[k] {
			out = append(out, o.alts[0])
		}
	}
	return out
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// candidates lists what may follow typed (the words of the line before
// the one being completed) over every command of the table.
func (a *app) candidates(typed []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(w string) {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	for i := range commands {
		c := &commands[i]
		words := strings.Fields(c.words)
		n := min(len(words), len(typed))
		if !slices.Equal(words[:n], typed[:n]) {
			continue
		}
		if len(typed) < len(words) {
			add(words[len(typed)])
			continue
		}
		if c.complete != nil { // flow lines: the flow parser's completion
			for _, w := range c.complete(a, typed) {
				add(w)
			}
			continue
		}
		for _, alt := range a.nextAlts(c.grammar(), typed[len(words):]) {
			if p, isHolder := placeholders[alt]; isHolder {
				if p.complete != nil {
					for _, w := range p.complete(a) {
						add(w)
					}
				}
				continue
			}
			add(alt)
		}
	}
	slices.Sort(out)
	return out
}

// complete is the prompt's word completer: the line up to the cursor is
// split into words, the last one (possibly empty) is completed.
func (a *app) complete(line string, pos int) (head string, words []string, tail string) {
	before := line[:pos]
	cut := strings.LastIndexAny(before, " \t") + 1
	head, cur := before[:cut], before[cut:]
	for _, w := range a.candidates(strings.Fields(head)) {
		if strings.HasPrefix(w, cur) {
			words = append(words, w+" ")
		}
	}
	return head, words, line[pos:]
}
