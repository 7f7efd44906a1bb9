package classify

import (
	"errors"
	"slices"
	"testing"
)

// FuzzParseFlow: any line parses or fails with a SyntaxError naming one of
// its tokens (or the end); a parsed rule writes back to the same rule,
// compiles, and classifies as its pattern says; completion of every prefix
// of a valid line offers its next token.
func FuzzParseFlow(f *testing.F) {
	for _, s := range []string{
		"flow create 0 ingress pattern eth / ipv4 src is 10.0.0.1 / tcp dst spec 1000 dst last 2000 / end actions queue index 3 / count / end",
		"flow create 0 priority 1 ingress pattern eth / vlan vid is 5 / ipv6 dst spec 2001:db8:: dst prefix 32 / udp / end actions rss queues 0 1 end / end",
		"flow create 0 ingress pattern ipv4 proto spec 6 proto mask 0xfe / end actions mark id 1 / end",
		"flow validate 0 ingress pattern icmp type is 8 / end actions esp sa 3 / digest alg sha256 / end",
		"flow destroy 0 rule 1 rule 2",
		"flow list 0 group 0",
		"flow query 0 1 count",
		"flow flush 0",
		"flow create 0 ingress pattern eth / ipv5 / end actions drop / end",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		toks := newParser(line).toks
		c, err := ParseCommand(line)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("%q: %v is not a SyntaxError", line, err)
			}
			switch {
			case se.Pos < 1 || se.Pos > len(toks)+1:
				t.Fatalf("%q: token %d of %d", line, se.Pos, len(toks))
			case se.Pos <= len(toks) && (se.Token != toks[se.Pos-1].s || se.Col != toks[se.Pos-1].col):
				t.Fatalf("%q: token %d is %q at %d, error says %q at %d", line, se.Pos, toks[se.Pos-1].s, toks[se.Pos-1].col, se.Token, se.Col)
			case se.Pos == len(toks)+1 && (se.Token != "" || se.Col != len(line)):
				t.Fatalf("%q: at the end, error says %q at %d", line, se.Token, se.Col)
			}
			return
		}
		words := make([]string, len(toks))
		for i, tk := range toks {
			words[i] = tk.s
		}
		for i := range words {
			comp := Complete(words[:i])
			if !slices.Contains(comp.Words, words[i]) && comp.Value == "" {
				t.Fatalf("%q: completion after %q offers %+v, not %q", line, words[:i], comp, words[i])
			}
		}
		if c.Rule == nil {
			return
		}
		roundTrip(t, c.Rule)
		cl := Compile([]*Rule{c.Rule}, nil)
		keys := make([]Key, 8)
		rng := newFuzzRand(line)
		for i := range keys {
			keys[i] = keyIn(rng, c.Rule)
		}
		out := make([]RuleID, len(keys))
		cl.Classify(keys, out)
		for i := range keys {
			if want := c.Rule.Pattern.Matches(&keys[i]) && c.Rule.Group == 0; (out[i] == 0) != want {
				t.Fatalf("%q: key %+v: classified %d, pattern says %v", line, keys[i], out[i], want)
			}
		}
	})
}
